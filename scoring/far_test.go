package scoring_test

import (
	"math"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
)

// TestFarPairsEqualTheSearch checks that, under max_dist, every pair whose
// boxes Far proves apart gets from ScoreBlock and from FarScore (extents
// and self-hits only) the bits the nearest-neighbour search gives, in every
// mode, on the reference sets and a synthetic brain.
func TestFarPairsEqualTheSearch(t *testing.T) {
	ns := synthNeurons(t, 150, 11)
	if checkFarSet(t, "synthetic150", ns) == 0 {
		t.Error("no far pair: the test tests nothing")
	}
}

// TestFarPairsEqualTheSearchReference does the same on navis' sets.
func TestFarPairsEqualTheSearchReference(t *testing.T) {
	reference.Dir(t)
	far := 0
	for _, rs := range reference.Sets {
		far += checkFarSet(t, rs.Name, loadSet(t, rs))
	}
	if far == 0 {
		t.Error("no far pair in any set: the test tests nothing")
	}
}

// checkFarSet runs checkFar under two max_dist and with and without
// alpha, and returns the far pairs found.
func checkFarSet(t *testing.T, name string, ns []*scoring.Neuron) (total int) {
	for _, maxDist := range []float64{5, 42} {
		for _, alpha := range []bool{false, true} {
			if alpha && !ns[0].HasAlpha() {
				continue
			}
			s, err := scoring.NewScorer(scoring.Options{MaxDist: maxDist, Normalized: true, UseAlpha: alpha})
			if err != nil {
				t.Fatal(err)
			}
			far := checkFar(t, s, ns)
			t.Logf("%s max_dist %g alpha %v: %d of %d pairs far", name, maxDist, alpha, far, len(ns)*len(ns))
			total += far
		}
	}
	return total
}

// checkFar compares the far pairs of ns (all ordered pairs) and returns
// how many there are.
func checkFar(t *testing.T, s *scoring.Scorer, ns []*scoring.Neuron) int {
	t.Helper()
	n := len(ns)
	self := make([]float64, n)
	for i, nr := range ns {
		self[i] = s.SelfHit(nr)
	}
	got := map[scoring.Mode][]float64{}
	for _, mode := range []scoring.Mode{scoring.Forward, scoring.Mean, scoring.Min, scoring.Max} {
		got[mode] = make([]float64, n*n)
		if _, err := scoring.ScoreBlock(s, mode, ns, ns, got[mode], nil); err != nil {
			t.Fatal(err)
		}
	}
	far := 0
	for i, q := range ns {
		for j, tg := range ns {
			if !s.Far(q.Extent(), tg.Extent()) {
				continue
			}
			far++
			fwd := scoring.ForwardSearch(s, q, tg) / self[i]
			rev := scoring.ForwardSearch(s, tg, q) / self[j]
			want := map[scoring.Mode]float64{scoring.Forward: fwd, scoring.Mean: (fwd + rev) / 2, scoring.Min: math.Min(fwd, rev), scoring.Max: math.Max(fwd, rev)}
			for mode, w := range want {
				if g := got[mode][i*n+j]; math.Float64bits(g) != math.Float64bits(w) {
					t.Fatalf("%s→%s %v: ScoreBlock %v, search %v", q.ID, tg.ID, mode, g, w)
				}
				v, _, ok := s.FarScore(mode, q.Extent(), tg.Extent(), self[i], self[j], q.ID == tg.ID)
				if !ok || math.Float64bits(v) != math.Float64bits(w) {
					t.Fatalf("%s→%s %v: FarScore %v (ok %v), search %v", q.ID, tg.ID, mode, v, ok, w)
				}
			}
		}
	}
	return far
}

// TestFarLeavesEqualTheSearch checks that forwardRaw's far-leaf shortcut
// under max_dist gives every pair the bits of the plain search, on a
// synthetic brain and navis' sets (those skip without the test data).
func TestFarLeavesEqualTheSearch(t *testing.T) {
	ns := synthNeurons(t, 60, 5)
	if checkFarLeaves(t, "synthetic60", ns) == 0 {
		t.Error("no far leaf: the test tests nothing")
	}
}

// TestFarLeavesEqualTheSearchReference does the same on navis' sets.
func TestFarLeavesEqualTheSearchReference(t *testing.T) {
	reference.Dir(t)
	far := 0
	for _, rs := range reference.Sets {
		far += checkFarLeaves(t, rs.Name, loadSet(t, rs))
	}
	if far == 0 {
		t.Error("no far leaf in any set: the test tests nothing")
	}
}

// checkFarLeaves compares ForwardSearch with and without the shortcut on
// all ordered pairs of ns, under two max_dist, with and without alpha, and
// returns how many query leaves (over all pairs) the shortcut took.
func checkFarLeaves(t *testing.T, name string, ns []*scoring.Neuron) (total int) {
	t.Helper()
	defer scoring.SetFarLeaves(scoring.SetFarLeaves(true))
	for _, maxDist := range []float64{5, 42} {
		for _, alpha := range []bool{false, true} {
			if alpha && !ns[0].HasAlpha() {
				continue
			}
			s, err := scoring.NewScorer(scoring.Options{MaxDist: maxDist, UseAlpha: alpha})
			if err != nil {
				t.Fatal(err)
			}
			far := 0
			for _, q := range ns {
				for _, tg := range ns {
					scoring.SetFarLeaves(true)
					got := scoring.ForwardSearch(s, q, tg)
					scoring.SetFarLeaves(false)
					want := scoring.ForwardSearch(s, q, tg)
					if math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%s %s→%s max_dist %g alpha %v: shortcut %v, search %v", name, q.ID, tg.ID, maxDist, alpha, got, want)
					}
					scoring.SetFarLeaves(true)
					far += scoring.FarLeaves(s, q, tg)
				}
			}
			t.Logf("%s max_dist %g alpha %v: %d far leaves", name, maxDist, alpha, far)
			total += far
		}
	}
	return total
}
