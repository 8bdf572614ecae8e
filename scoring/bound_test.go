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
