//go:build !amd64

package scoring

import "testing"

// forEachKernel runs f with the only kernels there are: pure Go.
func forEachKernel(t *testing.T, f func(t *testing.T)) { t.Run("go", f) }

// searchGroupAVX2Hits is never called here (useAVX2 is false).
func searchGroupAVX2Hits(qs [][3]float64, t *kdTree, cands []int32, hits *[blockSize]groupHit) {
	searchGroupGo(qs, t, cands, hits)
}
