package makedotprops

import (
	"math"
	"math/bits"
)

// This file is a k-nearest-neighbour search that returns, for every query,
// exactly the neighbours scipy 1.10's cKDTree(points).query(x, k) returns,
// in the same order, as navis.make_dotprops uses it: Euclidean (p = 2),
// eps = 0, no distance bound, no periodic box, and the constructor's
// defaults leafsize = 16, balanced_tree = True, compact_nodes = True.
// Which of several equidistant points is kept depends on the tree's point
// order, the order nodes are visited and the neighbour heap's layout, so
// each is reproduced step by step:
//
//   - build (scipy/spatial/ckdtree/src/build.cxx): a node of more than
//     leafSize points is split on the axis of largest extent of its points'
//     bounding box (the first such axis), at the median: std::nth_element
//     puts the n/2-th smallest coordinate at the middle, std::partition
//     moves the left half's points below it in front of the others, and if
//     none is below, the split slides to just above the minimum. The
//     std:: algorithms' results among equal coordinates are
//     implementation-defined: they are libstdc++'s, ported below and
//     checked against GCC 12's (the compiler of Debian 12's scipy 1.10.1;
//     Linux builds of scipy use libstdc++). A scipy built with another C++
//     library (libc++ on macOS, MSVC's) may order tied points differently,
//     and so break k-th neighbour ties differently.
//   - query (scipy/spatial/ckdtree/src/query.cxx, query_single_point):
//     depth-first to the nearer child (the child on the query's side of the
//     split; the other child is queued with its distance lower bound
//     updated incrementally, as scipy does, unless it already exceeds the
//     k-th distance), leaves scanned in tree order, the queue and the
//     neighbour list both scipy's binary heaps (ties sift as in scipy), a
//     point kept only when strictly nearer than the current k-th, and the
//     result sorted by scipy's final heap sort.
//
// Distances are squared Euclidean distances in µm², summed as scipy sums
// them: ((dx² + dy²) + dz²), each product rounded (no fused multiply-add),
// so that near-ties resolve as in scipy too.

// leafSize is cKDTree's default leafsize, which navis uses: a node of at
// most leafSize points is a leaf.
const leafSize = 16

// kdNode is one node of the tree, stored in pre-order (scipy's
// tree_buffer order). A leaf has dim == -1 and holds the tree positions
// [start, end); an internal node splits on axis dim at split: its less
// child holds the points with coordinate < split, its greater child the
// others.
type kdNode struct {
	split         float64
	dim           int32
	start, end    int32
	less, greater int32
}

// kdTree is scipy's cKDTree over a point cloud (µm). It is read-only once
// built.
type kdTree struct {
	pts   [][3]float64 // the points, in input order (cKDTree.data)
	idx   []int32      // tree order: tree position i holds point idx[i] (cKDTree.indices)
	tpts  [][3]float64 // tpts[i] = pts[idx[i]], for leaf scans
	nodes []kdNode
	// scratch is build's buffer, one item per point.
	scratch []item
	// lo, hi is the points' bounding box (cKDTree.mins, maxes).
	lo, hi [3]float64
}

// newKDTree builds the tree over pts (n >= 1 finite points), which it
// keeps and does not modify.
func newKDTree(pts [][3]float64) *kdTree {
	n := len(pts)
	t := &kdTree{pts: pts, idx: make([]int32, n), nodes: make([]kdNode, 0, 2*(n/leafSize)+1)}
	for i := range t.idx {
		t.idx[i] = int32(i)
	}
	t.lo, t.hi = pts[0], pts[0]
	for _, p := range pts[1:] {
		for c := range 3 {
			t.lo[c], t.hi[c] = min(t.lo[c], p[c]), max(t.hi[c], p[c])
		}
	}
	t.scratch = make([]item, n)
	t.build(0, n)
	t.scratch = nil
	t.tpts = make([][3]float64, n)
	for i, j := range t.idx {
		t.tpts[i] = pts[j]
	}
	return t
}

// build appends the node of tree positions [start, end) and its subtree
// and returns its index (build.cxx's build with _median = _compact = 1).
func (t *kdTree) build(start, end int) int32 {
	ni := int32(len(t.nodes))
	t.nodes = append(t.nodes, kdNode{dim: -1, start: int32(start), end: int32(end)})
	if end-start <= leafSize {
		return ni
	}
	// The bounding box of the node's points (compact_nodes).
	lo, hi := t.pts[t.idx[start]], t.pts[t.idx[start]]
	for _, j := range t.idx[start+1 : end] {
		p := &t.pts[j]
		for c := range 3 {
			if !(hi[c] > p[c]) {
				hi[c] = p[c]
			}
			if !(lo[c] < p[c]) {
				lo[c] = p[c]
			}
		}
	}
	d, size := 0, 0.0
	for c := range 3 {
		if hi[c]-lo[c] > size {
			d, size = c, hi[c]-lo[c]
		}
	}
	if hi[d] == lo[d] {
		return ni // all points identical: a leaf, however many
	}
	// Sort the node's indices with their coordinates along d beside them.
	s := sorter{x: t.scratch[:end-start]}
	for m, j := range t.idx[start:end] {
		s.x[m] = item{key: t.pts[j][d], i: j}
	}
	n := len(s.x)
	mid := n / 2
	s.nthElement(mid)
	split := s.x[mid].key
	p := s.partition(0, mid, split)
	switch p {
	case 0: // nothing below the median: slide the split above the minimum
		split = math.Nextafter(s.x[s.minElement()].key, math.Inf(1))
		p = s.partition(0, n, split)
	case n: // unreachable with median splits; as scipy
		split = s.x[s.maxElement()].key
		p = s.partition(0, n, split)
	}
	for m, it := range s.x {
		t.idx[start+m] = it.i
	}
	if p == 0 || p == n {
		// Cannot happen: the points' extent along d is not 0, so the
		// split leaves the minimum on the left and the maximum on the
		// right. (scipy would retry; a leaf is still exact.)
		return ni
	}
	less := t.build(start, start+p)
	greater := t.build(start+p, end)
	t.nodes[ni] = kdNode{split: split, dim: int32(d), start: int32(start), end: int32(end), less: less, greater: greater}
	return ni
}

// item is what scipy's std:: calls move and compare: a point index with
// its coordinate along the node's split axis (µm) as the key.
type item struct {
	key float64
	i   int32
}

// sorter reorders items by key with libstdc++'s algorithms, step for step
// (their results among equal keys are what matters).
type sorter struct {
	x []item
}

func (s *sorter) swap(i, j int) { s.x[i], s.x[j] = s.x[j], s.x[i] }

// nthElement is std::nth_element(x, x+nth, x+len(x)) (libstdc++'s
// __introselect).
func (s *sorter) nthElement(nth int) {
	first, last := 0, len(s.x)
	if first == last || nth == last {
		return
	}
	depth := 2 * (bits.Len(uint(last)) - 1) // 2·⌊log2 n⌋
	for last-first > 3 {
		if depth == 0 {
			s.heapSelect(first, nth+1, last)
			s.swap(first, nth)
			return
		}
		depth--
		cut := s.partitionPivot(first, last)
		if cut <= nth {
			first = cut
		} else {
			last = cut
		}
	}
	s.insertionSort(first, last)
}

// partitionPivot is __unguarded_partition_pivot: the median of x[first+1],
// x[mid], x[last-1] moved to first, then a Hoare partition of
// [first+1, last) around it.
func (s *sorter) partitionPivot(first, last int) int {
	mid := first + (last-first)/2
	s.moveMedianToFirst(first, first+1, mid, last-1)
	// __unguarded_partition(first+1, last, pivot = first)
	x, pv := s.x, s.x[first].key
	lo, hi := first+1, last
	for {
		for x[lo].key < pv {
			lo++
		}
		hi--
		for pv < x[hi].key {
			hi--
		}
		if !(lo < hi) {
			return lo
		}
		x[lo], x[hi] = x[hi], x[lo]
		lo++
	}
}

// moveMedianToFirst is __move_median_to_first.
func (s *sorter) moveMedianToFirst(result, a, b, c int) {
	x := s.x
	switch {
	case x[a].key < x[b].key:
		switch {
		case x[b].key < x[c].key:
			s.swap(result, b)
		case x[a].key < x[c].key:
			s.swap(result, c)
		default:
			s.swap(result, a)
		}
	case x[a].key < x[c].key:
		s.swap(result, a)
	case x[b].key < x[c].key:
		s.swap(result, c)
	default:
		s.swap(result, b)
	}
}

// insertionSort is __insertion_sort of [first, last).
func (s *sorter) insertionSort(first, last int) {
	if first == last {
		return
	}
	x := s.x
	for i := first + 1; i < last; i++ {
		v := x[i]
		if v.key < x[first].key {
			copy(x[first+1:i+1], x[first:i])
			x[first] = v
			continue
		}
		// __unguarded_linear_insert
		j := i
		for v.key < x[j-1].key {
			x[j] = x[j-1]
			j--
		}
		x[j] = v
	}
}

// heapSelect is __heap_select: a max-heap of [first, middle) keeps the
// smallest items of [first, last).
func (s *sorter) heapSelect(first, middle, last int) {
	n := middle - first
	if n >= 2 { // __make_heap
		for parent := (n - 2) / 2; ; parent-- {
			s.adjustHeap(first, parent, n, s.x[first+parent])
			if parent == 0 {
				break
			}
		}
	}
	for i := middle; i < last; i++ {
		if s.x[i].key < s.x[first].key { // __pop_heap(first, middle, i)
			v := s.x[i]
			s.x[i] = s.x[first]
			s.adjustHeap(first, 0, n, v)
		}
	}
}

// adjustHeap is __adjust_heap followed by __push_heap.
func (s *sorter) adjustHeap(first, hole, n int, v item) {
	x := s.x[first:]
	top, child := hole, hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if x[child].key < x[child-1].key {
			child--
		}
		x[hole] = x[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		x[hole] = x[child-1]
		hole = child - 1
	}
	for parent := (hole - 1) / 2; hole > top && x[parent].key < v.key; parent = (hole - 1) / 2 {
		x[hole] = x[parent]
		hole = parent
	}
	x[hole] = v
}

// partition is std::partition of [first, last) by "key < split"
// (libstdc++'s bidirectional version; scipy's predicate is
// !(key >= split), the same for finite keys). It returns the first
// position not below split.
func (s *sorter) partition(first, last int, split float64) int {
	x := s.x
	for {
		for {
			if first == last {
				return first
			}
			if !(x[first].key < split) {
				break
			}
			first++
		}
		last--
		for {
			if first == last {
				return first
			}
			if x[last].key < split {
				break
			}
			last--
		}
		x[first], x[last] = x[last], x[first]
		first++
	}
}

// minElement is std::min_element: the first position with the smallest
// key.
func (s *sorter) minElement() int {
	m := 0
	for i := 1; i < len(s.x); i++ {
		if s.x[i].key < s.x[m].key {
			m = i
		}
	}
	return m
}

// maxElement is std::max_element: the first position with the largest
// key.
func (s *sorter) maxElement() int {
	m := 0
	for i := 1; i < len(s.x); i++ {
		if s.x[m].key < s.x[i].key {
			m = i
		}
	}
	return m
}

// heapItem is an entry of scipy's heap: a priority and a payload (a point
// index, or a nodeInfo's index in the searcher's arena).
type heapItem struct {
	pri float64
	v   int32
}

// minHeap is scipy's heap (query.cxx) on h[:n]: a binary min-heap on pri
// whose push sifts up while strictly smaller than the parent and whose
// remove moves the last item to the root and sifts it down towards the
// smaller child (the left one on equal priorities) while strictly larger.
// Equal priorities are left where these rules put them, as in scipy.
type minHeap struct {
	h []heapItem
	n int
}

// reset empties the heap and makes room for at least size items.
func (q *minHeap) reset(size int) {
	if len(q.h) < size {
		q.h = make([]heapItem, size)
	}
	q.n = 0
}

func (q *minHeap) push(it heapItem) {
	if q.n == len(q.h) {
		q.h = append(q.h, heapItem{})
		q.h = q.h[:cap(q.h)]
	}
	h := q.h
	i := q.n
	q.n++
	h[i] = it
	for i > 0 {
		p := (i - 1) / 2
		if !(h[i].pri < h[p].pri) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// remove drops the root (n >= 1).
func (q *minHeap) remove() {
	q.n--
	n, h := q.n, q.h
	h[0] = h[n]
	i, j, k := 0, 1, 2
	for (j < n && h[i].pri > h[j].pri) || (k < n && h[i].pri > h[k].pri) {
		l := j
		if k < n && h[j].pri > h[k].pri {
			l = k
		}
		h[i], h[l] = h[l], h[i]
		i, j, k = l, 2*l+1, 2*l+2
	}
}

// pop removes and returns the root (n >= 1).
func (q *minHeap) pop() heapItem {
	it := q.h[0]
	q.remove()
	return it
}

// nodeInfo is a node to visit and the squared distance components (µm²)
// from the query to its cell: side[c] along axis c, minDist their running
// sum (updated incrementally, as scipy does, not recomputed).
type nodeInfo struct {
	node    int32
	minDist float64
	side    [3]float64
}

// neighbour is one of a query's k nearest neighbours: its index in the
// tree's points and its squared distance (µm²).
type neighbour struct {
	d2 float64
	i  int32
}

// searcher holds one goroutine's buffers for kNN queries on a tree.
type searcher struct {
	t     *kdTree
	queue minHeap    // cells to visit, by minDist; payload: index in cells
	near  minHeap    // the nearest points so far, priority -d²; payload: point index
	cells []nodeInfo // the cells pushed on queue in this query
}

// knn sets nb to the len(nb) nearest points to x, as
// cKDTree.query(x, k=len(nb)) returns them: ascending distance, and among
// equal distances in scipy's order. len(nb) must be at least 1 and at most
// the number of points.
func (s *searcher) knn(x *[3]float64, nb []neighbour) {
	t, k := s.t, len(nb)
	s.queue.reset(16)
	s.near.reset(k)
	near := s.near.h[:k] // scipy's heap of the nearest, inlined: near[:m]
	m := 0
	s.cells = s.cells[:0]
	// The root's cell is the points' bounding box.
	cur := nodeInfo{}
	for c := range 3 {
		sd := 0.0
		if v := x[c] - t.hi[c]; v > 0 {
			sd = v
		} else if v := t.lo[c] - x[c]; v > 0 {
			sd = v
		}
		sd = float64(sd * sd) // rounded: no fused multiply-add
		cur.minDist += sd
		cur.side[c] = sd
	}
	ub := math.Inf(1) // the k-th distance once k points are held
	for {
		n := &t.nodes[cur.node]
		if n.dim < 0 {
			leaf := t.tpts[n.start:n.end]
			for i := range leaf {
				p := &leaf[i]
				dx, dy, dz := p[0]-x[0], p[1]-x[1], p[2]-x[2]
				d := float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz)
				if !(d < ub) {
					continue
				}
				if m == k { // minHeap.remove
					m--
					near[0] = near[m]
					for a, l, r := 0, 1, 2; (l < m && near[a].pri > near[l].pri) || (r < m && near[a].pri > near[r].pri); l, r = 2*a+1, 2*a+2 {
						c := l
						if r < m && near[l].pri > near[r].pri {
							c = r
						}
						near[a], near[c] = near[c], near[a]
						a = c
					}
				}
				// minHeap.push
				a := m
				m++
				near[a] = heapItem{pri: -d, v: t.idx[int(n.start)+i]}
				for a > 0 {
					up := (a - 1) / 2
					if !(near[a].pri < near[up].pri) {
						break
					}
					near[a], near[up] = near[up], near[a]
					a = up
				}
				if m == k {
					ub = -near[0].pri
				}
			}
			if s.queue.n == 0 {
				break
			}
			cur = s.cells[s.queue.pop().v]
			continue
		}
		if cur.minDist > ub {
			break // the nearest queued cell is beyond the k-th neighbour
		}
		// The near child continues in cur; the far one's cell is cur's
		// with its side distance along the split axis grown.
		far := cur
		var sd float64
		if xd := x[n.dim]; xd < n.split {
			cur.node, far.node = n.less, n.greater
			sd = n.split - xd
		} else {
			cur.node, far.node = n.greater, n.less
			sd = xd - n.split
		}
		sd = float64(sd * sd) // rounded: no fused multiply-add
		far.minDist += sd - far.side[n.dim]
		far.side[n.dim] = sd
		if cur.minDist > far.minDist {
			cur, far = far, cur
		}
		if far.minDist <= ub {
			s.queue.push(heapItem{pri: far.minDist, v: int32(len(s.cells))})
			s.cells = append(s.cells, far)
		}
	}
	// scipy's heap sort: pop the farthest into the last free place.
	s.near.n = m
	for i := m - 1; i >= 0; i-- {
		it := s.near.pop()
		nb[i] = neighbour{d2: -it.pri, i: it.v}
	}
}
