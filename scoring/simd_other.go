//go:build !amd64

package scoring

const useAVX2 = false

func searchBottom(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	return searchBottomGo(q, w, blocks, bound2)
}

func childGaps(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	return childGapsGo(q, w, bound2, gaps)
}

func childGapsBox(g *box, w *wideNode, r2 float64) uint8 { return childGapsBoxGo(g, w, r2) }

func searchGroup(qs [][3]float64, t *kdTree, s *groupScratch, r2 float64) {
	searchGroupGo(qs, t, s, r2)
}

func (t *kdTree) gatherInto(g *box, r2 float64, s *groupScratch) { t.gatherBlocks(0, g, r2, s) }
