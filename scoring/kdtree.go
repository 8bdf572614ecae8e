package scoring

import "math"

// leafSize is the most points a kd-tree leaf holds (see BenchmarkLeafSize).
const leafSize = 8

// kdNode is one node of a kd-tree stored in pre-order: an internal node's
// left child is the next node, its right child is at index right.
//
// For an internal node, lo is the largest coordinate along dim in the left
// subtree and hi the smallest in the right subtree (the gap between them is
// empty space the search can use to prune). A leaf has right == 0 and holds
// the points [start, end) of the tree-ordered point array.
type kdNode struct {
	lo, hi     float64
	dim        int32
	right      int32
	start, end int32
}

// kdTree is an exact Euclidean nearest-neighbour index over a 3-D point
// cloud. It is built once per neuron and is read-only afterwards, so any
// number of goroutines may search it at once.
type kdTree struct {
	pts   [][3]float64 // points in tree order
	nodes []kdNode
}

// buildKDTree reorders pts in place into tree order and returns the tree and
// the permutation: perm[k] is the original index of tree position k.
func buildKDTree(pts [][3]float64) (kdTree, []int32) {
	perm := make([]int32, len(pts))
	for i := range perm {
		perm[i] = int32(i)
	}
	t := kdTree{pts: pts, nodes: make([]kdNode, 0, 2*len(pts)/leafSize+1)}
	if len(pts) > 0 {
		t.build(perm, 0, len(pts))
	}
	return t, perm
}

func (t *kdTree) build(perm []int32, start, end int) int32 {
	ni := int32(len(t.nodes))
	t.nodes = append(t.nodes, kdNode{start: int32(start), end: int32(end)})
	if end-start <= leafSize {
		return ni
	}
	// Split the widest dimension at the median.
	lo, hi := t.pts[start], t.pts[start]
	for _, p := range t.pts[start+1 : end] {
		for k := 0; k < 3; k++ {
			lo[k] = math.Min(lo[k], p[k])
			hi[k] = math.Max(hi[k], p[k])
		}
	}
	dim := 0
	for k := 1; k < 3; k++ {
		if hi[k]-lo[k] > hi[dim]-lo[dim] {
			dim = k
		}
	}
	if hi[dim] == lo[dim] { // all points identical: keep them in one leaf
		return ni
	}
	mid := (start + end) / 2
	t.selectNth(perm, start, end, mid, dim)
	left := math.Inf(-1)
	for _, p := range t.pts[start:mid] {
		left = math.Max(left, p[dim])
	}
	right := math.Inf(1)
	for _, p := range t.pts[mid:end] {
		right = math.Min(right, p[dim])
	}
	t.build(perm, start, mid)
	r := t.build(perm, mid, end)
	t.nodes[ni] = kdNode{lo: left, hi: right, dim: int32(dim), right: r, start: int32(start), end: int32(end)}
	return ni
}

// selectNth partially sorts pts[start:end] (and perm alongside) along dim so
// that position nth holds the element it would hold if sorted, smaller or
// equal elements before it and larger or equal after it (Hoare's select).
func (t *kdTree) selectNth(perm []int32, start, end, nth, dim int) {
	pts := t.pts
	swap := func(i, j int) {
		pts[i], pts[j] = pts[j], pts[i]
		perm[i], perm[j] = perm[j], perm[i]
	}
	lo, hi := start, end-1
	for lo < hi {
		// Median of three as pivot.
		m := lo + (hi-lo)/2
		if pts[m][dim] < pts[lo][dim] {
			swap(m, lo)
		}
		if pts[hi][dim] < pts[lo][dim] {
			swap(hi, lo)
		}
		if pts[hi][dim] < pts[m][dim] {
			swap(hi, m)
		}
		pivot := pts[m][dim]
		i, j := lo, hi
		for i <= j {
			for pts[i][dim] < pivot {
				i++
			}
			for pts[j][dim] > pivot {
				j--
			}
			if i <= j {
				swap(i, j)
				i++
				j--
			}
		}
		switch {
		case nth <= j:
			hi = j
		case nth >= i:
			lo = i
		default:
			return
		}
	}
}

// sqDist is the squared Euclidean distance, summed in x, y, z order with each
// product rounded (no fused multiply-add), as scipy's and pykdtree's trees
// compute it: near-ties then resolve the way navis resolves them.
func sqDist(a, b *[3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz)
}

// nearest returns the tree position of the point nearest to q and its squared
// distance, among points with squared distance < bound2 (use +Inf for an
// unbounded search); it returns -1 when there is none. hint is a tree position
// likely to be near q (the previous query point's neighbour): it seeds the
// search radius. Ties between equidistant points keep the first found.
func (t *kdTree) nearest(q *[3]float64, hint int32, bound2 float64) (int32, float64) {
	best, best2 := int32(-1), bound2
	if hint >= 0 {
		if d2 := sqDist(q, &t.pts[hint]); d2 < best2 {
			best, best2 = hint, d2
		}
	}
	var off [3]float64
	t.search(q, 0, 0, &off, &best, &best2)
	return best, best2
}

// search visits node ni whose cell is at squared distance minD2 from q (off
// holds the per-dimension squared offsets that sum to it), nearer child first,
// pruning any subtree whose cell is no nearer than the best so far.
func (t *kdTree) search(q *[3]float64, ni int32, minD2 float64, off *[3]float64, best *int32, best2 *float64) {
	n := &t.nodes[ni]
	if n.right == 0 {
		pts := t.pts[n.start:n.end]
		for i := range pts {
			if d2 := sqDist(q, &pts[i]); d2 < *best2 {
				*best2 = d2
				*best = n.start + int32(i)
			}
		}
		return
	}
	v := q[n.dim]
	dLo, dHi := v-n.lo, v-n.hi
	var near, far int32
	var cut float64
	if dLo+dHi < 0 {
		near, far, cut = ni+1, n.right, dHi*dHi
	} else {
		near, far, cut = n.right, ni+1, dLo*dLo
	}
	t.search(q, near, minD2, off, best, best2)
	old := off[n.dim]
	minD2 += cut - old
	if minD2 < *best2 {
		off[n.dim] = cut
		t.search(q, far, minD2, off, best, best2)
		off[n.dim] = old
	}
}
