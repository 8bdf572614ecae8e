package makedotprops

// Neighbours returns, for every point of pts (finite, at least k of them),
// the indices of its k nearest neighbours in the order MakeDotprops takes
// them (cKDTree.query's), and their squared distances (µm²).
func Neighbours(pts [][3]float64, k int) ([][]int32, [][]float64) {
	s := searcher{t: newKDTree(pts)}
	idx, d2 := make([][]int32, len(pts)), make([][]float64, len(pts))
	nb := make([]neighbour, k)
	for j := range pts {
		s.knn(&pts[j], nb)
		idx[j], d2[j] = make([]int32, k), make([]float64, k)
		for m, e := range nb {
			idx[j][m], d2[j][m] = e.i, e.d2
		}
	}
	return idx, d2
}

// Tangent is MakeDotprops' tangent and alpha of the neighbourhood pts[idx]
// (summed in idx order).
func Tangent(pts [][3]float64, idx []int32) ([3]float64, float64) {
	nb := make([]neighbour, len(idx))
	for m, i := range idx {
		nb[m].i = i
	}
	return tangent(pts, nb)
}
