package scoring

import (
	"math"
	"math/bits"
)

// A query block (the up to 8 tree-ordered points of one leaf of the query
// neuron) is searched as a group: the target's blocks whose box lies within
// a radius r of the query block's box are gathered once, then every query
// point is matched against them. A point whose nearest candidate lies
// within r has found its true nearest neighbour: a nearer point would lie
// within r of the query block's box, so in a gathered block.

// groupHit is one query point's best candidate: its squared distance and
// block slot (+Inf and -1 when no candidate was near enough).
type groupHit struct {
	d2   float64
	slot int64
}

// candChunk holds up to 8 gathered blocks: their boxes by axis, as in a
// wide node (missing ones have lo = +Inf, hi = -Inf), and their numbers.
type candChunk struct {
	lo, hi [3][wideFan]float64
	block  [wideFan]int32
}

// groupScratch is one worker's reusable state for group searches.
type groupScratch struct {
	cands []candChunk // len(cands) chunks hold the n candidates
	n     int
	stack []int32 // for the walk of gatherAVX2
	hits  [blockSize]groupHit
}

// gather sets s's candidates to every block of t whose box is within
// squared distance r2 of g, in increasing block order.
func (s *groupScratch) gather(t *kdTree, g *box, r2 float64) {
	nb := len(t.blocks)/blockWords + wideFan
	if cap(s.cands) < nb/wideFan {
		s.cands = make([]candChunk, nb/wideFan)
	}
	if need := wideFan * (t.wideDepth + 2); len(s.stack) < need {
		s.stack = make([]int32, need)
	}
	s.cands, s.n = s.cands[:cap(s.cands)], 0
	t.gatherInto(g, r2, s)
	s.cands = s.cands[:(s.n+wideFan-1)/wideFan]
	if k := s.n % wideFan; k != 0 { // pad the last chunk
		c := &s.cands[len(s.cands)-1]
		inf := math.Inf(1)
		for ; k < wideFan; k++ {
			for a := range 3 {
				c.lo[a][k], c.hi[a][k] = inf, -inf
			}
			c.block[k] = 0
		}
	}
}

func (t *kdTree) gatherBlocks(wi int32, g *box, r2 float64, s *groupScratch) {
	w := &t.wide[wi]
	for m := childGapsBox(g, w, r2); m != 0; m &= m - 1 {
		c := bits.TrailingZeros8(m)
		if !w.bottom {
			t.gatherBlocks(w.child[c], g, r2, s)
			continue
		}
		k := s.n % wideFan
		d := &s.cands[s.n/wideFan]
		for a := range 3 {
			d.lo[a][k], d.hi[a][k] = w.lo[a][c], w.hi[a][c]
		}
		d.block[k] = ^w.child[c]
		s.n++
	}
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

// searchGroupGo sets hits[i] to query point qs[i]'s nearest point among the
// candidate blocks, the lowest slot among equals; a point farther than r2
// may be missed (the kernel skips blocks farther than r2, or than the
// previous query point's best). Distances are sqDist's.
func searchGroupGo(qs [][3]float64, t *kdTree, s *groupScratch, r2 float64) {
	for i := range qs {
		q := &qs[i]
		best, slot := math.Inf(1), -1
		for c := range s.n {
			b := int(s.cands[c/wideFan].block[c%wideFan])
			blk := t.blocks[b*blockWords : (b+1)*blockWords]
			for l := range blockSize {
				dx, dy, dz := q[0]-blk[l], q[1]-blk[blockSize+l], q[2]-blk[2*blockSize+l]
				if d2 := float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz); d2 < best || d2 == best && b*blockSize+l < slot {
					best, slot = d2, b*blockSize+l
				}
			}
		}
		if !(best <= r2) { // what the kernel may miss
			best, slot = math.Inf(1), -1
		}
		s.hits[i] = groupHit{d2: best, slot: int64(slot)}
	}
}
