package scoring

import "math"

// Group boxes for the bounds. UpperBound's fine term (groupCell) needs, for
// each group of one neuron, the least squared gap to the boxes of another
// neuron's groups: a k-nearest-neighbour search asks it for every pair it
// bounds. The groups' boxes are kept a second time, eight to a boxes8 in
// the layout of a wideNode's children (lo[k][c], hi[k][c]), so that the
// AVX2 kernel that gathers wide nodes (GAP4 in simd_amd64.s) measures four
// of them per instruction.

// boxes8 holds up to 8 boxes by axis, in the first bytes of wideNode's
// layout; a missing box has lo = +Inf and hi = -Inf, so its gap is +Inf.
type boxes8 struct {
	lo, hi [3][wideFan]float64
}

// groupBoxes lays out the boxes of groups in boxes8, padded.
func groupBoxes(groups []group) []boxes8 {
	return packBoxes(len(groups), func(i int) *box { return &groups[i].box })
}

// leafBoxes lays out the boxes of t's leaves (its blocks, up to 8 points
// each) in boxes8, padded.
func leafBoxes(t *kdTree) []boxes8 {
	return packBoxes(len(t.blockNode), func(i int) *box { return &t.nodes[t.blockNode[i]].box })
}

// packBoxes lays out n boxes in boxes8, padded.
func packBoxes(n int, at func(i int) *box) []boxes8 {
	out := make([]boxes8, (n+wideFan-1)/wideFan)
	inf := math.Inf(1)
	for i := range out {
		for k := range 3 {
			for c := range wideFan {
				out[i].lo[k][c], out[i].hi[k][c] = inf, -inf
			}
		}
	}
	for i := range n {
		b, g := &out[i/wideFan], at(i)
		for k := range 3 {
			b.lo[k][i%wideFan], b.hi[k][i%wideFan] = g.lo[k], g.hi[k]
		}
	}
	return out
}

// minGap2 is the least dist2 from box g to the boxes in bs (+Inf for
// none). Each gap is dist2's to the bit (of a box's two one-sided gaps on
// an axis at most one is positive, and it is the one dist2 takes), and the
// least of them does not depend on the order they are compared in.
func minGap2(g *box, bs []boxes8) float64 {
	if useAVX2 && len(bs) > 0 {
		return minGap2AVX2(g, &bs[0], len(bs))
	}
	return minGap2Go(g, bs)
}

// minGap2Go is minGap2 in Go, box by box as dist2 measures.
func minGap2Go(g *box, bs []boxes8) float64 {
	m := math.Inf(1)
	for i := range bs {
		b := &bs[i]
		for c := range wideFan {
			c := box{lo: [3]float64{b.lo[0][c], b.lo[1][c], b.lo[2][c]}, hi: [3]float64{b.hi[0][c], b.hi[1][c], b.hi[2][c]}}
			m = math.Min(m, g.dist2Padded(&c))
		}
	}
	return m
}

// dist2Padded is dist2 for a c that may be a missing box (lo = +Inf, hi =
// -Inf), which dist2's branches would measure as 0 on no axis but the
// first: here its gap is +Inf.
func (a *box) dist2Padded(c *box) float64 {
	if c.lo[0] > c.hi[0] {
		return math.Inf(1)
	}
	return a.dist2(c)
}
