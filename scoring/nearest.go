package scoring

import (
	"math"
	"math/bits"
)

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

// seed returns the tree position of a point of t near q, cheaply: the
// nearest point of the bottom node reached by stepping, from the root, to
// the child whose box is nearest to q. It is a hint for a search, not the
// nearest point. t must have points and the SIMD kernels must run.
func (t *kdTree) seed(q *[3]float64) int32 {
	inf := math.Inf(1)
	var gaps [wideFan]float64
	w := int32(0)
	for !t.wide[w].bottom {
		n := &t.wide[w]
		childGaps(q, n, inf, &gaps)
		c := 0 // child 0 always exists; missing children are +Inf away
		for k := 1; k < wideFan; k++ {
			if gaps[k] < gaps[c] {
				c = k
			}
		}
		w = n.child[c]
	}
	_, slot := searchBottom(q, &t.wide[w], t.blocks, inf)
	return t.slotPos[slot]
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
