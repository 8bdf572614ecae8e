package scoring

import (
	"math"
	"math/bits"
)

// blockSize is the most points a kd-tree leaf holds, and the number of slots
// of the block that stores a leaf for SIMD scans: two AVX2 vectors of
// float64, one AVX-512 vector.
const blockSize = 8

// wideFan is the most children of a wide node.
const wideFan = 8

// kdNode is one node of a binary kd-tree stored in pre-order: an internal
// node's left child is the next node, its right child is at index right.
// box is the tight bounding box of the node's points; a leaf has right == 0
// and holds the points [start, end) of the tree-ordered point array, at most
// blockSize of them, sorted along the leaf's widest axis.
type kdNode struct {
	box
	right      int32
	start, end int32
	_          int32
}

// kdTree is an exact Euclidean nearest-neighbour index over a 3-D point
// cloud. It is built once per neuron and is read-only afterwards, so any
// number of goroutines may search it at once.
//
// The binary tree (nodes) is built by median splits and serves k-nearest
// searches. Nearest-neighbour searches use the same tree with its levels
// collapsed into wide nodes of up to 8 children, so that one SIMD kernel
// tests all children's boxes at once: a bottom node holds a subtree of at
// most 8 leaves, each leaf's points stored again as a block for SIMD scans;
// a node above it holds up to 8 subtrees.
type kdTree struct {
	pts   [][3]float64 // points in tree order
	nodes []kdNode
	// cells[ni] is the region of space the splits assign to node ni. The
	// cells of a level tile space, so every point outside a node's
	// subtree lies outside the interior of its cell. parent[ni] is -1 at
	// the root.
	cells  []box
	parent []int32

	// blocks holds leaf b's points in blocks[b*blockWords:], structure of
	// arrays (8 x, 8 y, 8 z), padded with +Inf points that never win;
	// blockOf maps a tree position to its leaf's block.
	blocks    []float64
	blocks32  []float32 // blocks rounded to float32, and one more of +Inf
	maxAbs    float64   // the largest |coordinate|
	slotPos   []int32   // tree position of block slot b*blockSize+l (-1: padding)
	blockOf   []int32
	blockNode []int32 // the kd leaf of each block
	// wide[0] is the root; blockParent[b] is the wide node with block b
	// among its children.
	wide        []wideNode
	wideDepth   int // levels below the root
	blockParent []int32
}

// blockWords is the number of float64 in one block.
const blockWords = 3 * blockSize

// wideNode is a node of the collapsed tree. Its children's bounding boxes
// are stored by axis for SIMD loads: lo[k][c], hi[k][c] for axis k of child
// c; missing children have lo = +Inf and hi = -Inf, so nothing is ever
// near them.
type wideNode struct {
	lo, hi [3][wideFan]float64
	// In a bottom node every child c is the block ^child[c]; in any other,
	// every child is a wide node. The layout is the assembly's.
	child  [wideFan]int32
	bottom bool
	parent int32 // -1 at the root
	kd     int32 // the kd node it stands for, whose cell it has
}

// buildKDTree reorders pts in place into tree order and returns the tree and
// the permutation: perm[k] is the original index of tree position k.
func buildKDTree(pts [][3]float64) (kdTree, []int32) {
	perm := make([]int32, len(pts))
	for i := range perm {
		perm[i] = int32(i)
	}
	nn := 2*len(pts)/blockSize + 1
	t := kdTree{pts: pts, nodes: make([]kdNode, 0, nn), cells: make([]box, 0, nn), parent: make([]int32, 0, nn)}
	if len(pts) > 0 {
		inf := math.Inf(1)
		t.build(perm, 0, len(pts), -1, box{lo: [3]float64{-inf, -inf, -inf}, hi: [3]float64{inf, inf, inf}})
		t.buildBlocks()
		t.buildWide(0, -1)
		t.wide = append([]wideNode(nil), t.wide...) // no spare capacity
	}
	return t, perm
}

func (t *kdTree) build(perm []int32, start, end int, parent int32, cell box) int32 {
	ni := int32(len(t.nodes))
	b := boundingBox(t.pts[start:end])
	t.nodes = append(t.nodes, kdNode{box: b, start: int32(start), end: int32(end)})
	t.cells = append(t.cells, cell)
	t.parent = append(t.parent, parent)
	dim := 0
	for k := 1; k < 3; k++ {
		if b.hi[k]-b.lo[k] > b.hi[dim]-b.lo[dim] {
			dim = k
		}
	}
	if end-start <= blockSize {
		t.sortLeaf(perm, start, end, dim)
		return ni
	}
	// Split the widest axis near the median, the left part taking whole
	// blocks so that leaves fill them.
	mid := start + (end-start+2*blockSize-1)/(2*blockSize)*blockSize
	t.selectNth(perm, start, end, mid, dim)
	// Left points are <= split, right points >= split.
	split := t.pts[mid][dim]
	left, right := cell, cell
	left.hi[dim], right.lo[dim] = split, split
	t.build(perm, start, mid, ni, left)
	t.nodes[ni].right = t.build(perm, mid, end, ni, right)
	return ni
}

// sortLeaf sorts pts[start:end] (and perm alongside) along dim, so that
// consecutive query points of a neuron lie close together along a neurite:
// insertion sort, as leaves are small.
func (t *kdTree) sortLeaf(perm []int32, start, end, dim int) {
	pts := t.pts
	for i := start + 1; i < end; i++ {
		for j := i; j > start && pts[j][dim] < pts[j-1][dim]; j-- {
			pts[j], pts[j-1] = pts[j-1], pts[j]
			perm[j], perm[j-1] = perm[j-1], perm[j]
		}
	}
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

// buildBlocks stores each leaf (in pre-order, which is tree-position order)
// as a block.
func (t *kdTree) buildBlocks() {
	nb := 0
	for ni := range t.nodes {
		if t.nodes[ni].right == 0 {
			nb++
		}
	}
	t.blockOf = make([]int32, len(t.pts))
	t.blockNode = make([]int32, 0, nb)
	t.slotPos = make([]int32, 0, nb*blockSize)
	t.blocks = make([]float64, 0, nb*blockWords)
	t.blocks32 = make([]float32, 0, (nb+1)*blockWords)
	inf := math.Inf(1)
	for ni := range t.nodes {
		n := &t.nodes[ni]
		if n.right != 0 {
			continue
		}
		b := int32(len(t.blocks) / blockWords)
		t.blockNode = append(t.blockNode, int32(ni))
		var blk [blockWords]float64
		for l := range blockSize {
			p, pos := &[3]float64{inf, inf, inf}, int32(-1)
			if i := n.start + int32(l); i < n.end {
				p, pos = &t.pts[i], i
				t.blockOf[i] = b
			}
			t.slotPos = append(t.slotPos, pos)
			blk[l], blk[blockSize+l], blk[2*blockSize+l] = p[0], p[1], p[2]
		}
		t.blocks = append(t.blocks, blk[:]...)
	}
	for _, v := range t.blocks {
		t.blocks32 = append(t.blocks32, float32(v))
		if !math.IsInf(v, 0) {
			t.maxAbs = max(t.maxAbs, math.Abs(v))
		}
	}
	for range blockWords {
		t.blocks32 = append(t.blocks32, float32(inf))
	}
	t.blockParent = make([]int32, len(t.blocks)/blockWords)
}

// leaves is the number of leaves under kd node ni: the splits give the
// left part whole blocks, so it is ceil(points/blockSize).
func (t *kdTree) leaves(ni int32) int32 {
	n := &t.nodes[ni]
	return (n.end - n.start + blockSize - 1) / blockSize
}

// buildWide appends the wide node for kd node ni and, recursively, its
// descendants, and returns its index. A subtree of at most wideFan leaves
// becomes a bottom node; a larger one is split, the largest part first,
// into up to wideFan parts, each a wide node.
func (t *kdTree) buildWide(ni, parent int32) int32 {
	wi := int32(len(t.wide))
	t.wide = append(t.wide, wideNode{parent: parent, kd: ni})
	kids := append(make([]int32, 0, wideFan), ni)
	bottom := t.leaves(ni) <= wideFan
	for len(kids) < wideFan {
		// Split the kid with the most leaves (in a bottom node: any
		// internal kid, until only leaves remain).
		at := -1
		for i, k := range kids {
			if t.nodes[k].right != 0 && (at < 0 || t.leaves(k) > t.leaves(kids[at])) {
				at = i
			}
		}
		if at < 0 || !bottom && t.leaves(kids[at]) <= wideFan {
			break
		}
		k := kids[at]
		kids = append(kids[:at], append([]int32{k + 1, t.nodes[k].right}, kids[at+1:]...)...)
	}
	inf := math.Inf(1)
	for c := range wideFan {
		ref, lo, hi := int32(0), [3]float64{inf, inf, inf}, [3]float64{-inf, -inf, -inf}
		if c < len(kids) {
			k := kids[c]
			n := &t.nodes[k]
			lo, hi = n.lo, n.hi
			if bottom {
				b := t.blockOf[n.start]
				t.blockParent[b] = wi
				ref = ^b
			} else {
				ref = t.buildWide(k, wi)
				t.wideDepth = max(t.wideDepth, t.depth(ref))
			}
		}
		w := &t.wide[wi]
		w.child[c] = ref
		w.bottom = bottom
		for k := range 3 {
			w.lo[k][c], w.hi[k][c] = lo[k], hi[k]
		}
	}
	return wi
}

// depth is the number of levels above wide node wi.
func (t *kdTree) depth(wi int32) int {
	d := 0
	for ; t.wide[wi].parent >= 0; wi = t.wide[wi].parent {
		d++
	}
	return d
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
// unbounded search); it returns -1 when there is none. Among equidistant
// points it keeps the first found.
//
// hint is a tree position likely to be near q, or -1. Consecutive query
// points lie close together along a neurite, so the previous query point's
// neighbour is a good hint: its distance seeds the search radius, and the
// search starts at its leaf's wide node and climbs only as far as the radius
// needs (without a hint, it goes top-down from the root).
//
// The search runs on the wide nodes with the SIMD kernels, or, without them,
// on the binary tree: in scalar Go, testing 8 children at once costs more
// than it saves (BenchmarkForwardExamples: about 2.2 times slower).
func (t *kdTree) nearest(q *[3]float64, hint int32, bound2 float64) (int32, float64) {
	if !useAVX2 {
		return t.nearestScalar(q, hint, bound2)
	}
	s := nnSearch{best: -1, best2: bound2}
	if len(t.wide) == 0 {
		return s.best, s.best2
	}
	if hint < 0 {
		t.descend(q, 0, -1, &s)
		return s.best, s.best2
	}
	if h2 := sqDist(q, &t.pts[hint]); h2 < s.best2 {
		s.best, s.best2 = hint, h2
	}
	// Search the hint's wide node, then climb: at each level search the
	// parent's other children, and stop once the ball around q of the best
	// distance lies inside the node's cell (nothing outside its subtree can
	// then be nearer).
	w := t.blockParent[t.blockOf[hint]]
	t.descend(q, w, -1, &s)
	for w != 0 && !t.ballInCell(q, s.best2, t.wide[w].kd) {
		p := t.wide[w].parent
		t.descend(q, p, w, &s)
		w = p
	}
	return s.best, s.best2
}

// nnSearch is the state of one nearest-neighbour search.
type nnSearch struct {
	best  int32
	best2 float64
}

// descend searches the subtree of wide node wi, except its child skip,
// skipping every child whose box is no nearer than the best point so far.
func (t *kdTree) descend(q *[3]float64, wi, skip int32, s *nnSearch) {
	w := &t.wide[wi]
	if w.bottom {
		if d2, slot := searchBottom(q, w, t.blocks, s.best2); slot >= 0 {
			s.best, s.best2 = t.slotPos[slot], d2
		}
		return
	}
	var gaps [wideFan]float64
	for m := childGaps(q, w, s.best2, &gaps); m != 0; m &= m - 1 {
		c := bits.TrailingZeros8(m)
		if ch := w.child[c]; ch != skip && gaps[c] < s.best2 { // best2 may have improved since the test
			t.descend(q, ch, -1, s)
		}
	}
}

// nearestScalar is nearest on the binary tree: from the hint's leaf it
// climbs, searching each sibling subtree nearer than the best so far, until
// the ball of the best distance lies inside the node's cell.
func (t *kdTree) nearestScalar(q *[3]float64, hint int32, bound2 float64) (int32, float64) {
	s := nnSearch{best: -1, best2: bound2}
	if len(t.nodes) == 0 {
		return s.best, s.best2
	}
	if hint < 0 {
		t.descendScalar(q, 0, &s)
		return s.best, s.best2
	}
	if h2 := sqDist(q, &t.pts[hint]); h2 < s.best2 {
		s.best, s.best2 = hint, h2
	}
	ni := t.blockNode[t.blockOf[hint]]
	t.scanLeaf(q, &t.nodes[ni], &s)
	for ni != 0 && !t.ballInCell(q, s.best2, ni) {
		p := t.parent[ni]
		sib := p + 1
		if sib == ni {
			sib = t.nodes[p].right
		}
		if boxDist2(q, &t.nodes[sib].box) < s.best2 {
			t.descendScalar(q, sib, &s)
		}
		ni = p
	}
	return s.best, s.best2
}

// descendScalar searches the binary subtree at ni, nearer child first,
// skipping any child whose box is no nearer than the best point so far.
func (t *kdTree) descendScalar(q *[3]float64, ni int32, s *nnSearch) {
	n := &t.nodes[ni]
	if n.right == 0 {
		t.scanLeaf(q, n, s)
		return
	}
	l, r := ni+1, n.right
	dl, dr := boxDist2(q, &t.nodes[l].box), boxDist2(q, &t.nodes[r].box)
	if dr < dl {
		l, r, dl, dr = r, l, dr, dl
	}
	if dl < s.best2 {
		t.descendScalar(q, l, s)
		if dr < s.best2 {
			t.descendScalar(q, r, s)
		}
	}
}

// scanLeaf checks every point of leaf n.
func (t *kdTree) scanLeaf(q *[3]float64, n *kdNode, s *nnSearch) {
	pts := t.pts[n.start:n.end]
	for i := range pts {
		if d2 := sqDist(q, &pts[i]); d2 < s.best2 {
			s.best, s.best2 = n.start+int32(i), d2
		}
	}
}

// ballInCell reports whether every point p with sqDist(q, p) <= r2 lies in
// the interior of kd node ni's cell. A point beyond a face at gap g along one
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

// searchBottomGo returns the smallest squared distance below bound2 from q
// to a point of bottom node w's blocks whose box is nearer than bound2, and
// its slot, the first found among equals (bound2 and -1 when there is
// none). Distances are sqDist's, box gaps boxDist2's.
func searchBottomGo(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	best, slot := bound2, -1
	var gaps [wideFan]float64
	for m := childGapsGo(q, w, bound2, &gaps); m != 0; m &= m - 1 {
		c := bits.TrailingZeros8(m)
		b := int(^w.child[c])
		blk := blocks[b*blockWords : (b+1)*blockWords]
		for l := range blockSize {
			dx, dy, dz := q[0]-blk[l], q[1]-blk[blockSize+l], q[2]-blk[2*blockSize+l]
			if d2 := float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz); d2 < best {
				best, slot = d2, b*blockSize+l
			}
		}
	}
	return best, slot
}

// childGapsGo sets gaps[c] to boxDist2 from q to child c's box (+Inf for a
// missing child) and returns the mask of children with gaps[c] < bound2.
func childGapsGo(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	var m uint8
	for c := range wideFan {
		var g2 float64
		for k := range 3 {
			g := w.lo[k][c] - q[k]
			if h := q[k] - w.hi[k][c]; h > g {
				g = h
			}
			if !(g > 0) {
				g = 0
			}
			g2 = float64(g2 + float64(g*g))
		}
		gaps[c] = g2
		if g2 < bound2 {
			m |= 1 << c
		}
	}
	return m
}
