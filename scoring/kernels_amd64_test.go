package scoring

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// forEachKernel runs f once per kernel set this CPU can run: pure Go, AVX2
// and AVX-512.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	defer func(a2, a512 bool) { useAVX2, useAVX512 = a2, a512 }(useAVX2, useAVX512)
	for _, k := range []struct {
		name       string
		avx2, a512 bool
		ok         bool
	}{
		{"go", false, false, true},
		{"avx2", true, false, cpu.X86.HasAVX2},
		{"avx512", true, true, cpu.X86.HasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL},
	} {
		t.Run(k.name, func(t *testing.T) {
			if !k.ok {
				t.Skipf("this CPU has no %s", k.name)
			}
			useAVX2, useAVX512 = k.avx2, k.a512
			f(t)
		})
	}
}

// searchGroupAVX2Hits is the float64 group kernel alone.
func searchGroupAVX2Hits(qs [][3]float64, t *kdTree, cands []int32, hits *[blockSize]groupHit) {
	searchGroupAVX2(&qs[0], len(qs), &cands[0], len(cands), &t.blocks[0], &hits[0])
}
