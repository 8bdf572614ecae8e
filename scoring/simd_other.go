//go:build !amd64

package scoring

const useAVX2 = false

func searchBottom(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	return searchBottomGo(q, w, blocks, bound2)
}

func childGaps(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	return childGapsGo(q, w, bound2, gaps)
}
