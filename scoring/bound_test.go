package scoring

import (
	"math"
	"testing"
)

// beyondAt's table lookup (binFast) gives the cell of the exact bin search
// (DistBin) at, just below and just above every distance edge, at 0, far
// out and at +Inf, for FCWB and a bounded search.
func TestBeyondAtFastPath(t *testing.T) {
	for _, md := range []float64{0, 42} {
		s, err := NewScorer(Options{MaxDist: md})
		if err != nil {
			t.Fatal(err)
		}
		if !s.m.fast {
			t.Fatal("FCWB's tables are capped: the fast path is not tested")
		}
		var lbs []float64
		for _, e := range s.m.DistEdges {
			for _, v := range []float64{e, e / (1 - 1e-9), math.Nextafter(e, 0), math.Nextafter(e, math.Inf(1)), e * 1.5} {
				lbs = append(lbs, v, math.Nextafter(v/(1-1e-9), 0), math.Nextafter(v/(1-1e-9), math.Inf(1)))
			}
		}
		lbs = append(lbs, 0, 1e-300, 1e6, math.MaxFloat64, math.Inf(1))
		for _, lb := range lbs {
			want := lb
			if s.bound2 != math.Inf(1) {
				want = math.Min(want, s.opt.MaxDist)
			}
			if got, want := s.beyondAt(lb), s.beyond[s.m.DistBin(want*(1-1e-9))]; math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("max_dist %v: beyondAt(%v) = %v, the bin search gives %v", md, lb, got, want)
			}
		}
	}
}

// beyondAt2 of a squared gap is a bound (never below the best cell at the
// gap's square root) and no looser than beyondAt of that gap shrunk by a
// few parts in 10^9, at and around every squared distance edge, for FCWB
// and a bounded search.
func TestBeyondAt2(t *testing.T) {
	for _, md := range []float64{0, 42} {
		s, err := NewScorer(Options{MaxDist: md})
		if err != nil {
			t.Fatal(err)
		}
		if !s.m.fast2 {
			t.Fatal("FCWB has no squared-edge table: the squared path is not tested")
		}
		var g2s []float64
		for _, e := range s.m.DistEdges {
			for _, v := range []float64{e * e, e * e / (1 - 2e-9), e * e * (1 - 2e-9), e * e * (1 + 1e-8), e * e * 2.25} {
				g2s = append(g2s, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
			}
		}
		g2s = append(g2s, 0, 1e-300, 1e12, math.MaxFloat64, math.Inf(1))
		for _, g2 := range g2s {
			d := math.Sqrt(g2)
			if s.bound2 != math.Inf(1) {
				d = math.Min(d, s.opt.MaxDist)
			}
			got := s.beyondAt2(g2)
			if tight := s.beyond[s.m.DistBin(d)]; got < tight {
				t.Errorf("max_dist %v: beyondAt2(%v) = %v, below the best cell %v at distance %v", md, g2, got, tight, d)
			}
			if loose := s.beyond[s.m.DistBin(d*(1-3e-9))]; got > loose {
				t.Errorf("max_dist %v: beyondAt2(%v) = %v, looser than %v at distance %v·(1-3e-9)", md, g2, got, loose, d)
			}
		}
	}
}
