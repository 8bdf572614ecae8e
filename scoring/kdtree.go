package scoring

import "math"

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
// The binary tree (nodes) is built by median splits; it serves
// nearest-neighbour searches where no SIMD kernels run. With them,
// searches use the same tree with its levels collapsed into wide
// nodes of up to 8 children, so that one kernel tests all children's boxes
// at once: a bottom node holds a subtree of at most 8 leaves, each leaf's
// points stored again as a block (float64 and float32) for SIMD scans; a
// node above it holds up to 8 subtrees. See nearest.go and group.go.
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
