package scoring

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// The AVX-512 cell kernel gives its Go twin's bits.
func TestCells8KernelMatchesGo(t *testing.T) {
	if !(cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL) {
		t.Skip("this CPU has no AVX-512")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range []*Matrix{FCWB(), AlphaFCWB()} {
		tab, _ := newCellTable(m, -7)
		for i, c := range randomCellCases(rng, m, 5000) {
			var got, want [blockSize]float64
			cells8Go(c.qv, c.n, c.tv, &c.near, &c.d2, &tab, &want)
			cells8AVX512(&c.qv[0], c.n, &c.tv[0], &c.near, &c.d2, &tab, &got)
			if got != want {
				t.Fatalf("%s case %d (n %d, near %v): cells %v, want %v", m.Name, i, c.n, c.near, got, want)
			}
		}
	}
}
