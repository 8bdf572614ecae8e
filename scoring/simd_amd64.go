package scoring

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; they compute the same bits as the
// Go ones.
var useAVX2 = cpu.X86.HasAVX2

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
