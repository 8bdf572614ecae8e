package scoring

import "math"

// UpperBound returns a value that the pair's score under mode (raw or
// normalised per the scorer's Options) can never exceed, at a small fraction
// of the cost of scoring it. Pruning a pair whose bound is below a threshold
// therefore never drops a score at or above that threshold.
//
// Why it is safe: every point of a query group g lies inside g's box, and its
// nearest target point inside some target group's box, so its distance d is
// at least lb(g) = min over target groups h of dist(box g, box h). Distance
// bins are monotone, so its cell is at most the best cell in any distance row
// at or beyond lb(g)'s row, whatever |dot| is (with MaxDist, d is capped, and
// so is lb). Summing that per point bounds the raw score; dividing by the
// positive self-hit bounds the normalised one. A relative slack of 1e-9 covers
// rounding.
func (s *Scorer) UpperBound(mode Mode, q, t *Neuron) float64 {
	return s.upperBound(mode, q, t, true)
}

// GroupBound is a cheaper bound between ExtentBound and UpperBound: each
// query group against the target's whole bounding box. It is never below
// UpperBound (up to rounding).
func (s *Scorer) GroupBound(mode Mode, q, t *Neuron) float64 {
	return s.upperBound(mode, q, t, false)
}

func (s *Scorer) upperBound(mode Mode, q, t *Neuron, fine bool) float64 {
	f := s.forwardBound(q, t, fine)
	if mode == Forward {
		return f
	}
	return combineBounds(mode, f, s.forwardBound(t, q, fine))
}

// combineBounds bounds a pair's score under mode from bounds f and r on
// its forward and reverse scores.
func combineBounds(mode Mode, f, r float64) float64 {
	switch mode {
	case Forward:
		return f
	case Mean:
		return (f + r) / 2
	case Min:
		return math.Min(f, r)
	default: // Max, Both: a pair is kept when either direction may be.
		return math.Max(f, r)
	}
}

// QueryGroupBound bounds a pair from the prepared query q and only the
// target's extent t, so the target need not be read: q's groups against
// t's box forward, and on the way back every target point at least as
// far as the nearest of those groups. Up to rounding it lies between
// UpperBound and ExtentBound. Like ExtentBound it knows no target id: a
// caller must not prune a neuron paired with itself under AllByAll.
func (s *Scorer) QueryGroupBound(mode Mode, q *Neuron, t Extent) float64 {
	tb := box{lo: t.Min, hi: t.Max}
	var sum, abs float64
	near2 := math.Inf(1)
	for gi := range q.groups {
		g := &q.groups[gi]
		lb2 := g.dist2(&tb)
		near2 = math.Min(near2, lb2)
		b := s.beyondAt2(lb2)
		sum += float64(g.n) * b
		abs += float64(g.n) * math.Abs(b)
	}
	f := s.normaliseBound(q, sum+abs*1e-9+1e-300)
	if mode == Forward {
		return f
	}
	return combineBounds(mode, f, s.extentForward(s.beyondAt2(near2), t.Points))
}

// Extent is a neuron reduced to its number of points and bounding box (µm):
// enough for a bound without reading its points, e.g. to skip whole work
// items before loading their neurons.
type Extent struct {
	Points   int
	Min, Max [3]float64
}

// Extent returns n's extent.
func (n *Neuron) Extent() Extent {
	return Extent{Points: len(n.pts), Min: n.box.lo, Max: n.box.hi}
}

// ExtentBound is the cheapest bound: UpperBound with each neuron reduced to
// its extent. Up to rounding it is never below UpperBound. It knows no ids,
// so it ignores AllByAll's exact diagonal (a caller must not prune a pair of
// a neuron with itself), and with use_alpha, whose self-hit depends on the
// alphas, it normalises with the self-hit's extreme values.
func (s *Scorer) ExtentBound(mode Mode, q, t Extent) float64 {
	qb, tb := box{lo: q.Min, hi: q.Max}, box{lo: t.Min, hi: t.Max}
	b := s.beyondAt2(qb.dist2(&tb))
	f := s.extentForward(b, q.Points)
	if mode == Forward {
		return f
	}
	return combineBounds(mode, f, s.extentForward(b, t.Points))
}

// extentForward bounds a forward score whose every point scores at most b.
func (s *Scorer) extentForward(b float64, n int) float64 {
	raw := float64(n) * b
	raw += math.Abs(raw)*1e-9 + 1e-300
	if !s.opt.Normalized {
		return raw
	}
	// The self-hit is n times a row-0 cell: exactly smat(0,1) without alpha,
	// between the row's extremes with alpha.
	lo, hi := s.selfCell, s.selfCell
	if s.opt.UseAlpha {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, c := range s.m.Cells[:s.m.DotBins()] {
			lo, hi = math.Min(lo, c), math.Max(hi, c)
		}
	}
	if !(lo > 0) {
		return math.Inf(1)
	}
	if raw >= 0 {
		return raw / (float64(n) * lo)
	}
	return raw / (float64(n) * hi)
}

// beyondAt is the best cell any point at distance >= lb (µm) can score.
func (s *Scorer) beyondAt(lb float64) float64 {
	if s.bound2 != math.Inf(1) {
		lb = math.Min(lb, s.opt.MaxDist)
	}
	// Shrink lb so that rounding in the box distance can never put it in a
	// higher distance bin than a true point distance.
	d := lb * (1 - 1e-9)
	if s.m.fast && d >= 0 { // binFast is bin there
		return s.beyond[s.m.dist.binFast(d)]
	}
	return s.beyond[s.m.DistBin(d)]
}

// beyondAt2 is beyondAt of the square root of g2 (µm², >= 0), without
// taking it where the matrix allows: a squared gap is binned against the
// squared edges (Matrix.dist2, whose bins are exactly those of the square
// roots). g2 is shrunk by 2e-9, which covers the shrink of beyondAt and
// any rounding of the squared gap, so the cell is never below the best a
// point at that gap can score. Box gaps are compared squared (minGap2,
// box.dist2), so the bounds take no square root at all.
func (s *Scorer) beyondAt2(g2 float64) float64 {
	if !s.m.fast2 {
		return s.beyondAt(math.Sqrt(g2))
	}
	d2 := min(g2, s.bound2) * (1 - 2e-9) // bound2: MaxDist², or +Inf
	return s.beyond[s.m.dist2.binFast(d2)]
}

// forwardBound bounds q→t from q's groups against t's groups (fine) or
// against t's bounding box.
func (s *Scorer) forwardBound(q, t *Neuron, fine bool) float64 {
	if s.opt.AllByAll && q.ID == t.ID {
		if s.opt.Normalized {
			return 1
		}
		return s.SelfHit(q)
	}
	var sum, abs float64
	for gi := range q.groups {
		g := &q.groups[gi]
		var b float64
		if fine {
			b = s.groupCell(g, t)
		} else {
			b = s.beyondAt2(g.dist2(&t.box)) // no target group is nearer than t's box
		}
		sum += float64(g.n) * b
		abs += float64(g.n) * math.Abs(b)
	}
	return s.normaliseBound(q, sum+abs*1e-9+1e-300)
}

// forwardBoundCells is forwardBound(q, t, true) that also leaves q's
// groupCells against t in cells (len(q.groups) of them), for the search
// that follows (forwardAtLeastCells).
func (s *Scorer) forwardBoundCells(q, t *Neuron, cells []float64) float64 {
	s.groupCells(q, t, cells)
	if s.opt.AllByAll && q.ID == t.ID {
		return s.forwardBound(q, t, true)
	}
	var sum, abs float64
	for gi, b := range cells {
		n := float64(q.groups[gi].n)
		sum += n * b
		abs += n * math.Abs(b)
	}
	return s.normaliseBound(q, sum+abs*1e-9+1e-300)
}

// groupCells sets cells[gi] to groupCell of q's group gi against t.
func (s *Scorer) groupCells(q, t *Neuron, cells []float64) {
	for gi := range q.groups {
		cells[gi] = s.groupCell(&q.groups[gi], t)
	}
}

// groupCell is the best cell any point of group g can score against t:
// beyondAt2 of the least squared gap from g's box to t's groups' boxes
// (minGap2).
func (s *Scorer) groupCell(g *group, t *Neuron) float64 {
	return s.beyondAt2(minGap2(&g.box, t.gboxes))
}

// normaliseBound turns a bound raw on q's raw forward score into one on
// the score the options ask for.
func (s *Scorer) normaliseBound(q *Neuron, raw float64) float64 {
	if !s.opt.Normalized {
		return raw
	}
	self := s.SelfHit(q)
	if !(self > 0) {
		return math.Inf(1)
	}
	return raw / self
}
