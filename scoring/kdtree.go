package scoring

import "math"

// leafSize is the most points a kd-tree leaf holds. Measured with the
// bottom-up search (ns per query point, one core, examples/golden): 8:
// 300/148, 12: 266/141, 16: 265/135, 24: 247/135, 32: 247/138, 48: 258/151.
// The top-down search from the root it replaced measured 285/152 at 16.
const leafSize = 24

// kdNode is one node of a kd-tree stored in pre-order: an internal node's
// left child is the next node, its right child is at index right. box is the
// tight bounding box of the node's points; a leaf has right == 0 and holds
// the points [start, end) of the tree-ordered point array. 64 bytes: one
// cache line.
type kdNode struct {
	box
	right      int32
	start, end int32
	_          int32
}

// kdTree is an exact Euclidean nearest-neighbour index over a 3-D point
// cloud. It is built once per neuron and is read-only afterwards, so any
// number of goroutines may search it at once.
type kdTree struct {
	pts   [][3]float64 // points in tree order
	nodes []kdNode
	// For searches that start at a hint's leaf and climb: each node's
	// parent (-1 for the root) and cell (the region of space the splits
	// assign to it; the cells of a level tile space, so every point outside
	// a node's subtree lies outside the interior of its cell), and the
	// leaf of each tree position.
	parent []int32
	cells  []box
	leafOf []int32
}

// buildKDTree reorders pts in place into tree order and returns the tree and
// the permutation: perm[k] is the original index of tree position k.
func buildKDTree(pts [][3]float64) (kdTree, []int32) {
	perm := make([]int32, len(pts))
	for i := range perm {
		perm[i] = int32(i)
	}
	nn := 2*len(pts)/leafSize + 1
	t := kdTree{pts: pts, nodes: make([]kdNode, 0, nn), parent: make([]int32, 0, nn), cells: make([]box, 0, nn), leafOf: make([]int32, len(pts))}
	if len(pts) > 0 {
		inf := math.Inf(1)
		t.build(perm, 0, len(pts), -1, box{lo: [3]float64{-inf, -inf, -inf}, hi: [3]float64{inf, inf, inf}})
	}
	return t, perm
}

func (t *kdTree) build(perm []int32, start, end int, parent int32, cell box) int32 {
	ni := int32(len(t.nodes))
	b := boundingBox(t.pts[start:end])
	t.nodes = append(t.nodes, kdNode{box: b, start: int32(start), end: int32(end)})
	t.parent = append(t.parent, parent)
	t.cells = append(t.cells, cell)
	// Split the widest dimension at the median, unless the node is small
	// enough or all its points coincide.
	dim := 0
	for k := 1; k < 3; k++ {
		if b.hi[k]-b.lo[k] > b.hi[dim]-b.lo[dim] {
			dim = k
		}
	}
	if end-start <= leafSize || b.hi[dim] == b.lo[dim] {
		for k := start; k < end; k++ {
			t.leafOf[k] = ni
		}
		return ni
	}
	mid := (start + end) / 2
	t.selectNth(perm, start, end, mid, dim)
	// Left points are <= split, right points >= split.
	split := t.pts[mid][dim]
	left, right := cell, cell
	left.hi[dim], right.lo[dim] = split, split
	t.build(perm, start, mid, ni, left)
	t.nodes[ni].right = t.build(perm, mid, end, ni, right)
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

// boxDist2 is the squared distance from q to the nearest point of b (0
// inside). Every step rounds monotonically, so it never exceeds sqDist(q, p)
// for a point p in b: pruning with it is exact.
func boxDist2(q *[3]float64, b *box) float64 {
	dx := max(b.lo[0]-q[0], q[0]-b.hi[0], 0)
	dy := max(b.lo[1]-q[1], q[1]-b.hi[1], 0)
	dz := max(b.lo[2]-q[2], q[2]-b.hi[2], 0)
	return float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz)
}

// nearest returns the tree position of the point nearest to q and its squared
// distance, among points with squared distance < bound2 (use +Inf for an
// unbounded search); it returns -1 when there is none. Ties between
// equidistant points keep the first found.
//
// hint is a tree position likely to be near q, or -1. Consecutive query
// points lie close together along a neurite, so the previous query point's
// neighbour is a good hint: its distance seeds the search radius, and the
// search starts in its leaf and climbs only as far as the radius needs
// (without a hint, it goes top-down from the root).
func (t *kdTree) nearest(q *[3]float64, hint int32, bound2 float64) (int32, float64) {
	best, best2 := int32(-1), bound2
	if hint < 0 {
		t.descend(q, 0, &best, &best2)
		return best, best2
	}
	if h2 := sqDist(q, &t.pts[hint]); h2 < best2 {
		best, best2 = hint, h2
	}
	// Start in the hint's leaf and climb: at each level search the
	// sibling subtree if its box is nearer than the best so far, and stop
	// once the ball around q of the best distance lies inside the node's
	// cell (nothing outside the subtree can then be nearer).
	ni := t.leafOf[hint]
	t.scan(q, &t.nodes[ni], &best, &best2)
	for ni != 0 && !t.ballInCell(q, best2, ni) {
		p := t.parent[ni]
		sib := p + 1
		if sib == ni {
			sib = t.nodes[p].right
		}
		if boxDist2(q, &t.nodes[sib].box) < best2 {
			t.descend(q, sib, &best, &best2)
		}
		ni = p
	}
	return best, best2
}

// ballInCell reports whether every point p with sqDist(q, p) <= r2 lies in
// the interior of node ni's cell. A point beyond a face at gap g along one
// axis has sqDist >= g*g (each rounding step is monotonic), so the test is
// exact in floating point.
func (t *kdTree) ballInCell(q *[3]float64, r2 float64, ni int32) bool {
	c := &t.cells[ni]
	for k := range 3 {
		lo, hi := q[k]-c.lo[k], c.hi[k]-q[k]
		if !(lo > 0 && lo*lo > r2 && hi > 0 && hi*hi > r2) {
			return false
		}
	}
	return true
}

// scan checks every point of leaf n.
func (t *kdTree) scan(q *[3]float64, n *kdNode, best *int32, best2 *float64) {
	pts := t.pts[n.start:n.end]
	for i := range pts {
		if d2 := sqDist(q, &pts[i]); d2 < *best2 {
			*best2 = d2
			*best = n.start + int32(i)
		}
	}
}

// descend searches the subtree at ni, nearer child first, skipping any child
// whose box is no nearer than the best point so far.
func (t *kdTree) descend(q *[3]float64, ni int32, best *int32, best2 *float64) {
	n := &t.nodes[ni]
	if n.right == 0 {
		t.scan(q, n, best, best2)
		return
	}
	l, r := ni+1, n.right
	dl, dr := boxDist2(q, &t.nodes[l].box), boxDist2(q, &t.nodes[r].box)
	if dr < dl {
		l, r, dl, dr = r, l, dr, dl
	}
	if dl < *best2 {
		t.descend(q, l, best, best2)
		if dr < *best2 {
			t.descend(q, r, best, best2)
		}
	}
}
