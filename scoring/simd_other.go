//go:build !amd64

package scoring

// There are no assembly kernels here: the Go ones run.
const useAVX2, useAVX512 = false, false

func childGaps(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	return childGapsGo(q, w, bound2, gaps)
}

func searchBottom(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	return searchBottomGo(q, w, blocks, bound2)
}

func (t *kdTree) gather(g *box, r2 float64, out, stack []int32) int {
	return len(t.gatherGo(0, g, r2, out[:0]))
}

func searchGroup(qt *kdTree, qb int, qs [][3]float64, t *kdTree, cands []int32, r2 float64, hits *[blockSize]groupHit) {
	searchGroupGo(qs, t, cands, hits)
}

func cells8(qv []([3]float64), n int, tv [][3]float64, near *[blockSize]int32, d2 *[blockSize]float64, tab *cellTable, out *[blockSize]float64) {
	cells8Go(qv, n, tv, near, d2, tab, out)
}

func hintReachLeaf(qt *kdTree, qb int, qs [][3]float64, p *[3]float64) float64 {
	return hintReach(qs, p)
}

func minGap2AVX2(gb *box, bs *boxes8, n int) float64 { panic("no AVX2") }
