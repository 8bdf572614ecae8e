package scoring

import (
	"math"
	"math/bits"
)

// A query block (the up to 8 tree-ordered points of one leaf of the query
// neuron) is searched as a group: the target's blocks whose box lies within
// a radius r of the query block's box are gathered once, then every query
// point is matched against all their points. A point whose nearest
// candidate lies within r has found its true nearest neighbour: a nearer
// point would lie within r of the query block's box, so in a gathered
// block. The points of a group are matched independently of one another,
// so the SIMD kernels run them back to back without waiting. The AVX-512
// kernel matches in float32 and takes a point only when no rival comes
// within a proven rounding margin (f32Margin) of its nearest candidate.

// groupHit is one query point's nearest candidate: its squared distance and
// slot (+Inf and -1 without candidates).
type groupHit struct {
	d2   float64
	slot int64
}

// groupScratch is one worker's reusable state for group searches.
type groupScratch struct {
	cands  []int32 // the gathered blocks, in increasing order
	stack  []int32 // the kernels' walk
	hits   [blockSize]groupHit
	rest   []groupRest // restBounds' groups' cells and the bounds after them
	leaves []leafRest  // forwardRaw's bounds on the points not yet scored (leafBounds)
	cells  []float64   // restBounds' groupCells when the caller has none
}

// gather sets s.cands to every block of t whose box is within squared
// distance r2 of g.
func (s *groupScratch) gather(t *kdTree, g *box, r2 float64) {
	r2 = min(r2, math.MaxFloat64) // missing children are +Inf away
	if need := len(t.blocks)/blockWords + blockSize; cap(s.cands) < need {
		s.cands = make([]int32, need)
	}
	if need := wideFan * (t.wideDepth + 3); len(s.stack) < need {
		s.stack = make([]int32, need)
	}
	s.cands = s.cands[:t.gather(g, r2, s.cands[:cap(s.cands)], s.stack)]
}

// gatherGo appends to out every block under wide node wi whose box is
// within squared distance r2 of g, in increasing order.
func (t *kdTree) gatherGo(wi int32, g *box, r2 float64, out []int32) []int32 {
	w := &t.wide[wi]
	for m := childGapsBoxGo(g, w, r2); m != 0; m &= m - 1 {
		ch := w.child[bits.TrailingZeros8(m)]
		if w.bottom {
			out = append(out, ^ch)
		} else {
			out = t.gatherGo(ch, g, r2, out)
		}
	}
	return out
}

// childGapsBoxGo returns the mask of wide node w's children whose box is
// within squared distance r2 of box g. Each step rounds monotonically, so a
// child's gap never exceeds boxDist2(q, child's box) for q in g.
func childGapsBoxGo(g *box, w *wideNode, r2 float64) uint8 {
	var m uint8
	for c := range wideFan {
		var g2 float64
		for k := range 3 {
			d := w.lo[k][c] - g.hi[k]
			if h := g.lo[k] - w.hi[k][c]; h > d {
				d = h
			}
			if !(d > 0) {
				d = 0
			}
			g2 = float64(g2 + float64(d*d))
		}
		if g2 <= r2 {
			m |= 1 << c
		}
	}
	return m
}

// searchGroupGo sets hits[i] to query point qs[i]'s nearest point in the
// candidate blocks, the lowest slot among equals. Distances are sqDist's.
func searchGroupGo(qs [][3]float64, t *kdTree, cands []int32, hits *[blockSize]groupHit) {
	for i := range qs {
		q := &qs[i]
		best, slot := math.Inf(1), -1
		for _, b := range cands {
			blk := t.blocks[int(b)*blockWords : int(b+1)*blockWords]
			for l := range blockSize {
				dx, dy, dz := q[0]-blk[l], q[1]-blk[blockSize+l], q[2]-blk[2*blockSize+l]
				if d2 := float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz); d2 < best || d2 == best && int(b)*blockSize+l < slot {
					best, slot = d2, int(b)*blockSize+l
				}
			}
		}
		hits[i] = groupHit{d2: best, slot: int64(slot)}
	}
}

// f32Margin bounds, twice over, how far a squared distance computed as the
// float32 kernel computes it can be from sqDist, for coordinates of
// magnitude at most m and distances at most d (µm). With u = 2^-24: each
// coordinate rounds by at most u·m, so a difference is off by at most
// eta = 2·u·m·(1+u) + u·d; a sum of three squares of differences off by
// at most eta is off by at most eta·(2·sqrt(3)·d + 3·eta), and its three
// roundings (a product and two fused multiply-adds, each relative u) add at
// most 4·u·d²;
// sqDist itself is within 8·2^-53·d² of the exact value. So when the
// second-smallest float32 distance exceeds the smallest by more than the
// margin, the point with the smallest is strictly the nearest in sqDist
// too.
func f32Margin(m, d float64) float64 {
	const u = 0x1p-24
	eta := 2*u*m*(1+u) + u*d
	e32 := eta*(2*math.Sqrt(3)*d+3*eta)*(1+4*u) + 4*u*d*d
	e64 := 8 * 0x1p-53 * d * d
	return 2 * (e32 + e64)
}
