package scoring_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
)

// TestPairAtLeast checks PairAtLeast against ScoreBlock for every pair, in
// every combined mode, raw and normalised, at thresholds drawn around the
// pair's true score: a score it returns has ScoreBlock's bits, a pair it
// drops scores below the threshold, and a pair at or above it is never
// dropped.
func TestPairAtLeast(t *testing.T) {
	ns := synthNeurons(t, 40, 3)
	checkPairAtLeast(t, ns)
}

// TestPairAtLeastReference does the same on navis' sets.
func TestPairAtLeastReference(t *testing.T) {
	reference.Dir(t)
	for _, rs := range reference.Sets {
		checkPairAtLeast(t, loadSet(t, rs))
	}
}

func checkPairAtLeast(t *testing.T, ns []*scoring.Neuron) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	n := len(ns)
	dropped, kept, searches := 0, 0, 0
	for _, norm := range []bool{true, false} {
		for _, maxDist := range []float64{0, 42} {
			s, err := scoring.NewScorer(scoring.Options{Normalized: norm, AllByAll: true, MaxDist: maxDist})
			if err != nil {
				t.Fatal(err)
			}
			self := make([]float64, n)
			for i, nr := range ns {
				self[i] = s.SelfHit(nr)
			}
			for _, mode := range []scoring.Mode{scoring.Forward, scoring.Mean, scoring.Min, scoring.Max} {
				want := make([]float64, n*n)
				if _, err := scoring.ScoreBlock(s, mode, ns, ns, want, nil); err != nil {
					t.Fatal(err)
				}
				for k, w := range want {
					q, tg := ns[k/n], ns[k%n]
					scale := math.Max(math.Abs(w), 1e-3)
					for _, thr := range []float64{math.Inf(-1), w, math.Nextafter(w, math.Inf(1)), w - scale*rng.Float64(), w + scale*rng.Float64()} {
						v, ok, searched := s.PairAtLeast(mode, q, tg, self[k/n], self[k%n], thr)
						if searched {
							searches++
						}
						switch {
						case ok && !searched:
							t.Fatalf("%s→%s %v thr %v: kept without a search", q.ID, tg.ID, mode, thr)
						case math.IsInf(thr, -1) && !searched:
							t.Fatalf("%s→%s %v: no threshold, yet no search", q.ID, tg.ID, mode)
						case ok && math.Float64bits(v) != math.Float64bits(w):
							t.Fatalf("%s→%s %v thr %v: %v, ScoreBlock %v", q.ID, tg.ID, mode, thr, v, w)
						case !ok && !(w < thr):
							t.Fatalf("%s→%s %v: dropped at thr %v, but scores %v", q.ID, tg.ID, mode, thr, w)
						case ok:
							kept++
						default:
							dropped++
						}
					}
				}
			}
		}
	}
	t.Logf("%d kept, %d dropped, %d searched", kept, dropped, searches)
	if searches == kept || searches == kept+dropped {
		t.Errorf("every pair or only kept pairs searched (%d of %d, %d kept): the bounds settled none, or searched reports nothing", searches, kept+dropped, kept)
	}
	if dropped == 0 {
		t.Error("nothing dropped: the test tests nothing")
	}
}
