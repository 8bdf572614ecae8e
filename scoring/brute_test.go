package scoring_test

import (
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
