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
	f := s.forwardBound(q, t)
	if mode == Forward {
		return f
	}
	r := s.forwardBound(t, q)
	switch mode {
	case Mean:
		return (f + r) / 2
	case Min:
		return math.Min(f, r)
	default: // Max, Both: a pair is kept when either direction may be.
		return math.Max(f, r)
	}
}

// BoxBound is the cheapest bound: UpperBound with each neuron reduced to its
// bounding box. Up to rounding it is never below UpperBound.
func (s *Scorer) BoxBound(mode Mode, q, t *Neuron) float64 {
	lb := q.box.dist(&t.box)
	f := s.scaleBound(q, float64(len(q.pts))*s.beyondAt(lb), float64(len(q.pts))*math.Abs(s.beyondAt(lb)), t)
	if mode == Forward {
		return f
	}
	r := s.scaleBound(t, float64(len(t.pts))*s.beyondAt(lb), float64(len(t.pts))*math.Abs(s.beyondAt(lb)), q)
	switch mode {
	case Mean:
		return (f + r) / 2
	case Min:
		return math.Min(f, r)
	default:
		return math.Max(f, r)
	}
}

// beyondAt is the best cell any point at distance >= lb (µm) can score.
func (s *Scorer) beyondAt(lb float64) float64 {
	if s.bound2 != math.Inf(1) {
		lb = math.Min(lb, s.opt.MaxDist)
	}
	// Shrink lb so that rounding in the box distance can never put it in a
	// higher distance bin than a true point distance.
	return s.beyond[s.m.DistBin(lb*(1-1e-9))]
}

func (s *Scorer) forwardBound(q, t *Neuron) float64 {
	if s.opt.AllByAll && q.ID == t.ID {
		if s.opt.Normalized {
			return 1
		}
		return s.SelfHit(q)
	}
	var sum, abs float64
	for gi := range q.groups {
		g := &q.groups[gi]
		lb := math.Inf(1)
		for hi := range t.groups {
			if d := g.dist(&t.groups[hi].box); d < lb {
				lb = d
				if lb == 0 {
					break
				}
			}
		}
		b := s.beyondAt(lb)
		sum += float64(g.n) * b
		abs += float64(g.n) * math.Abs(b)
	}
	return s.scaleBound(q, sum, abs, t)
}

// scaleBound adds the rounding slack to a raw bound and normalises it.
func (s *Scorer) scaleBound(q *Neuron, raw, abs float64, t *Neuron) float64 {
	if s.opt.AllByAll && q.ID == t.ID {
		if s.opt.Normalized {
			return 1
		}
		return s.SelfHit(q)
	}
	raw += abs*1e-9 + 1e-300
	if !s.opt.Normalized {
		return raw
	}
	self := s.SelfHit(q)
	if !(self > 0) {
		return math.Inf(1)
	}
	return raw / self
}
