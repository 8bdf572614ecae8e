package scoring_test

import (
	"math"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

// On a synthetic brain (a few near pairs among many far ones), every
// forward score the kernels give, raw, by the search alone and through
// ScoreBlock, equals the brute-force score bit for bit, under the kernels
// NBLAST_SIMD selects.
func TestForwardMatchesBruteForceSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ns := synthNeurons(t, 50, 3)
	for _, opt := range []scoring.Options{{}, {UseAlpha: true}, {MaxDist: 42}, {MaxDist: 8}} {
		s, err := scoring.NewScorer(opt)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, len(ns)*len(ns))
		if _, err := scoring.ScoreBlock(s, scoring.Forward, ns, ns, out, nil); err != nil {
			t.Fatal(err)
		}
		for i, q := range ns {
			for j, tn := range ns {
				want := scoring.BruteForward(s, q, tn)
				if got := scoring.ForwardSearch(s, q, tn); got != want {
					t.Fatalf("%+v: %s→%s = %v by the search, brute force %v", opt, q.ID, tn.ID, got, want)
				}
				if got := out[i*len(ns)+j]; got != want {
					t.Fatalf("%+v: %s→%s = %v in the block, brute force %v", opt, q.ID, tn.ID, got, want)
				}
			}
		}
	}
}

// leafBounds' bound on the points from each leaf on is never below their
// brute-force sum, and is below the groups' bound for some pairs (else it
// would be no use), on a synthetic brain, raw, with alpha and bounded.
func TestLeafBoundsHoldAndTighten(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ns := synthNeurons(t, 30, 5)
	for _, opt := range []scoring.Options{{}, {UseAlpha: true}, {MaxDist: 42}} {
		s, err := scoring.NewScorer(opt)
		if err != nil {
			t.Fatal(err)
		}
		tighter := 0
		for _, q := range ns {
			for _, tn := range ns {
				bounds, sums, whole := scoring.LeafBoundsCheck(s, q, tn)
				for li := range bounds {
					if bounds[li]+1e-9*math.Abs(sums[li])+1e-9 < sums[li] {
						t.Fatalf("%+v: %s→%s leaf %d on: bound %v below the points' sum %v", opt, q.ID, tn.ID, li, bounds[li], sums[li])
					}
				}
				if whole < bounds[0] {
					t.Fatalf("%+v: %s→%s: whole bound %v below the first leaf's %v", opt, q.ID, tn.ID, whole, bounds[0])
				}
				if whole < s.GroupBoundRaw(q, tn)-1e-6 {
					tighter++
				}
			}
		}
		if tighter == 0 {
			t.Errorf("%+v: the leaves' bounds were never below the groups'", opt)
		}
	}
}
