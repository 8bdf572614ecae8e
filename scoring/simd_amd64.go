package scoring

import "golang.org/x/sys/cpu"

// useAVX2 and useAVX512 select the assembly kernels; they compute the same
// bits as the Go ones.
var (
	useAVX2   = cpu.X86.HasAVX2
	useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
)

//go:noescape
func searchGroupAVX512(qs *[3]float64, m int, cands *candChunk, n int, blocks *float64, r2 float64, hits *groupHit)

//go:noescape
func searchBottomAVX2(q *[3]float64, w *wideNode, blocks *float64, bound2 float64) (float64, int)

//go:noescape
func childGapsAVX2(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8

// searchBottom is searchBottomGo, vectorised where the CPU allows.
func searchBottom(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	if useAVX2 {
		return searchBottomAVX2(q, w, &blocks[0], bound2)
	}
	return searchBottomGo(q, w, blocks, bound2)
}

// childGaps is childGapsGo, vectorised where the CPU allows.
func childGaps(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	if useAVX2 {
		return childGapsAVX2(q, w, bound2, gaps)
	}
	return childGapsGo(q, w, bound2, gaps)
}

//go:noescape
func childGapsBoxAVX2(gb *box, w *wideNode, r2 float64) uint8

//go:noescape
func searchGroupAVX2(qs *[3]float64, m int, cands *candChunk, nc int, blocks *float64, r2 float64, hits *groupHit)

// childGapsBox is childGapsBoxGo, vectorised where the CPU allows.
func childGapsBox(g *box, w *wideNode, r2 float64) uint8 {
	if useAVX2 {
		return childGapsBoxAVX2(g, w, r2)
	}
	return childGapsBoxGo(g, w, r2)
}

// searchGroup is searchGroupGo, vectorised where the CPU allows.
func searchGroup(qs [][3]float64, t *kdTree, s *groupScratch, r2 float64) {
	if !useAVX2 || s.n == 0 {
		searchGroupGo(qs, t, s, r2)
		return
	}
	if useAVX512 {
		searchGroupAVX512(&qs[0], len(qs), &s.cands[0], s.n, &t.blocks[0], r2, &s.hits[0])
		return
	}
	searchGroupAVX2(&qs[0], len(qs), &s.cands[0], len(s.cands), &t.blocks[0], r2, &s.hits[0])
}

//go:noescape
func gatherAVX2(wide *wideNode, gb *box, r2 float64, out *candChunk, stack *int32) int

// gatherInto is gatherBlocks from the root, vectorised where the CPU
// allows; s.cands has room for every block.
func (t *kdTree) gatherInto(g *box, r2 float64, s *groupScratch) {
	if !useAVX2 {
		t.gatherBlocks(0, g, r2, s)
		return
	}
	s.n = gatherAVX2(&t.wide[0], g, r2, &s.cands[0], &s.stack[0])
}
