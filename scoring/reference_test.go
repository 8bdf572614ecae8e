package scoring_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
)

// loadSet reads a reference set's dotprops and prepares its neurons.
func loadSet(tb testing.TB, set reference.Set) []*scoring.Neuron {
	tb.Helper()
	dps, err := reference.LoadDotpropsCSV(filepath.Join(reference.Dir(tb), set.Dotprops), set.IntIDs)
	if err != nil {
		tb.Fatal(err)
	}
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			tb.Fatal(err)
		}
	}
	return ns
}

// synthNeurons prepares the n neurons of the synthetic brain for seed
// (synth.Generate).
func synthNeurons(tb testing.TB, n int, seed uint64) []*scoring.Neuron {
	tb.Helper()
	brain := synth.Generate(n, seed)
	ns := make([]*scoring.Neuron, len(brain))
	for i, d := range brain {
		var err error
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			tb.Fatal(err)
		}
	}
	return ns
}

// TestMatchesNavis scores every reference set in every exact mode and
// compares each cell with navis 1.12 (README tolerances: 1e-6 normalised,
// 1e-6·selfhit raw, 1 float32 ulp for the float32 mode).
func TestMatchesNavis(t *testing.T) {
	dir := reference.Dir(t)
	for _, set := range reference.Sets {
		ns := loadSet(t, set)
		for _, mode := range reference.Modes {
			if mode.Golden && set.Name != "golden" {
				continue
			}
			t.Run(set.Name+"/"+mode.Name, func(t *testing.T) {
				want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, mode.Name)))
				if err != nil {
					t.Fatal(err)
				}
				s, err := scoring.NewScorer(mode.Options())
				if err != nil {
					t.Fatal(err)
				}
				n := len(ns)
				if len(want.Queries) != n || len(want.Targets) != n {
					t.Fatalf("expected %d×%d, have %d neurons", len(want.Queries), len(want.Targets), n)
				}
				for i, nr := range ns {
					if want.Queries[i] != nr.ID.String() || want.Targets[i] != nr.ID.String() {
						t.Fatalf("neuron order differs at %d: %s vs %s", i, nr.ID, want.Queries[i])
					}
				}
				got := make([]float64, n*n)
				if _, err := scoring.ScoreBlock(s, mode.Scores, ns, ns, got, nil); err != nil {
					t.Fatal(err)
				}
				var worst float64
				for i := range n {
					tol := mode.Tolerance(s.SelfHit(ns[i]))
					for j := range n {
						g, w := got[i*n+j], want.Values[i][j]
						diff := math.Abs(g - w)
						if mode.Float32 {
							g32, w32 := float32(g), float32(w)
							diff = math.Abs(float64(g32 - w32))
							tol = float64(math.Nextafter32(w32, float32(math.Inf(1))) - w32)
						}
						if mode.AllByAll && i == j && g != w {
							t.Errorf("diagonal %s = %v, want exactly %v", ns[i].ID, g, w)
						}
						if diff > tol {
							t.Errorf("%s → %s: got %.17g, navis %.17g (|Δ| = %.3g > %.3g)", ns[i].ID, ns[j].ID, g, w, diff, tol)
						}
						worst = math.Max(worst, diff/math.Max(1, tolScale(mode, s, ns[i])))
					}
				}
				t.Logf("worst |Δ| (raw: relative to self-hit) = %.3g", worst)
			})
		}
	}
}

func tolScale(mode reference.Mode, s *scoring.Scorer, q *scoring.Neuron) float64 {
	if mode.Normalized {
		return 1
	}
	return s.SelfHit(q)
}

// TestUpperBoundOnReferencePairs checks the pruning bound against the true
// score of every reference pair in every mode, and that the box bound is
// never tighter than the group bound.
func TestUpperBoundOnReferencePairs(t *testing.T) {
	for _, set := range reference.Sets {
		ns := loadSet(t, set)
		for _, mode := range reference.Modes {
			for _, maxDist := range []float64{0, 42, 5} {
				opt := mode.Options()
				if maxDist > 0 {
					opt.MaxDist = maxDist
				}
				checkBounds(t, set.Name+"/"+mode.Name, opt, mode.Scores, ns)
			}
		}
	}
}

func checkBounds(t *testing.T, name string, opt scoring.Options, mode scoring.Mode, ns []*scoring.Neuron) (pruned int) {
	t.Helper()
	s, err := scoring.NewScorer(opt)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ns)
	got := make([]float64, n*n)
	rev := make([]float64, n*n)
	if _, err := scoring.ScoreBlock(s, mode, ns, ns, got, rev); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for j := range n {
			score := got[i*n+j]
			if mode == scoring.Both {
				score = math.Max(score, rev[i*n+j])
			}
			ub := s.UpperBound(mode, ns[i], ns[j])
			box := s.ExtentBound(mode, ns[i].Extent(), ns[j].Extent())
			if grp := s.GroupBound(mode, ns[i], ns[j]); grp < ub-1e-9*math.Abs(ub) || box < grp-1e-9*math.Abs(grp) && !(opt.AllByAll && i == j) {
				t.Errorf("%s: %s → %s: bounds not nested: extent %.17g, group %.17g, fine %.17g", name, ns[i].ID, ns[j].ID, box, grp, ub)
			}
			if qg := s.QueryGroupBound(mode, ns[i], ns[j].Extent()); !(opt.AllByAll && i == j) && (qg < ub-1e-9*math.Abs(ub) || box < qg-1e-9*math.Abs(qg)) {
				t.Errorf("%s: %s → %s: query-group bound %.17g not between fine %.17g and extent %.17g", name, ns[i].ID, ns[j].ID, qg, ub, box)
			}
			if ub < score {
				t.Errorf("%s (max_dist %v): %s → %s: bound %.17g < score %.17g", name, opt.MaxDist, ns[i].ID, ns[j].ID, ub, score)
			}
			if box < ub-1e-9*math.Abs(ub) && !(opt.AllByAll && i == j) {
				t.Errorf("%s: %s → %s: extent bound %.17g < group bound %.17g", name, ns[i].ID, ns[j].ID, box, ub)
			}
			if ub < 0 {
				pruned++
			}
		}
	}
	return pruned
}

// TestUpperBoundRandomized is a property test: random neuron-like clouds at
// random offsets (overlapping, touching, far apart), random options; the
// bound must never be below the score.
func TestUpperBoundRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var ns []*scoring.Neuron
	for i := range 40 {
		n := 3 + rng.IntN(400)
		origin := [3]float64{rng.Float64() * 150, rng.Float64() * 80, rng.Float64() * 60}
		if i%5 == 0 && i > 0 { // a near copy of an earlier neuron
			origin = [3]float64{rng.NormFloat64() * 3, rng.NormFloat64() * 3, rng.NormFloat64() * 3}
		}
		ns = append(ns, randomNeuron(rng, int64(i), n, origin))
	}
	pruned := 0
	for trial := range 12 {
		mode := scoring.Mode(trial % 5)
		opt := scoring.Options{Normalized: trial%2 == 0, UseAlpha: trial%3 == 0}
		if trial%4 == 1 {
			opt.MaxDist = 1 + rng.Float64()*50
		}
		pruned += checkBounds(t, fmt.Sprintf("random trial %d", trial), opt, mode, ns)
	}
	if pruned == 0 {
		t.Error("no pair had a negative bound: the test does not exercise pruning")
	}
}

// randomNeuron makes a branching random walk with tangents from consecutive
// points and random alphas.
func randomNeuron(rng *rand.Rand, id int64, n int, origin [3]float64) *scoring.Neuron {
	d := &scoring.Dotprops{ID: scoring.IntID(id)}
	cur, dir := origin, [3]float64{1, 0, 0}
	for len(d.Points) < n {
		if len(d.Points) > 0 && rng.Float64() < 0.03 {
			cur = d.Points[rng.IntN(len(d.Points))]
		}
		var norm float64
		for k := range dir {
			dir[k] += rng.NormFloat64() * 0.4
			norm += dir[k] * dir[k]
		}
		norm = math.Sqrt(norm)
		for k := range dir {
			dir[k] /= norm
			cur[k] += dir[k]
		}
		d.Points = append(d.Points, cur)
		d.Vectors = append(d.Vectors, dir)
		d.Alpha = append(d.Alpha, rng.Float64())
	}
	nr, err := scoring.NewNeuron(d)
	if err != nil {
		panic(err)
	}
	return nr
}

// TestPruningKeepsEveryScoreAboveThreshold scores the reference sets and
// random neurons with and without pruning, raw and normalised, with alpha
// and with max_dist: every pair at or above the threshold has the same
// value, and only pairs below it are skipped, whether by the bounds before
// scoring or by giving up part way (forward scores).
func TestPruningKeepsEveryScoreAboveThreshold(t *testing.T) {
	type set struct {
		name string
		ns   []*scoring.Neuron
	}
	var sets []set
	for _, s := range reference.Sets {
		sets = append(sets, set{s.Name, loadSet(t, s)})
	}
	rng := rand.New(rand.NewPCG(13, 14))
	var random []*scoring.Neuron
	for i := range 30 {
		origin := [3]float64{rng.Float64() * 60, rng.Float64() * 40, rng.Float64() * 30}
		random = append(random, randomNeuron(rng, int64(i), 20+rng.IntN(600), origin))
	}
	sets = append(sets, set{"random", random})
	options := []scoring.Options{{Normalized: true}, {}, {Normalized: true, UseAlpha: true}, {Normalized: true, MaxDist: 5}}
	for _, set := range sets {
		ns := set.ns
		gaveUp := 0
		for _, mode := range []scoring.Mode{scoring.Forward, scoring.Mean, scoring.Min, scoring.Max, scoring.Both} {
			for oi, opt := range options {
				for _, thr := range []float64{-0.5, 0, 0.3} {
					opt.AllByAll = mode == scoring.Forward
					opt.Prune = false
					full, _ := scoring.NewScorer(opt)
					opt.Prune, opt.Threshold = true, thr
					pr, _ := scoring.NewScorer(opt)
					n := len(ns)
					a, ar := make([]float64, n*n), make([]float64, n*n)
					b, br := make([]float64, n*n), make([]float64, n*n)
					if _, err := scoring.ScoreBlock(full, mode, ns, ns, a, ar); err != nil {
						t.Fatal(err)
					}
					pruned, err := scoring.ScoreBlock(pr, mode, ns, ns, b, br)
					if err != nil {
						t.Fatal(err)
					}
					name := fmt.Sprintf("%s %v options %d thr %v", set.name, mode, oi, thr)
					nan := 0
					for k := range a {
						keep := a[k] >= thr || (mode == scoring.Both && ar[k] >= thr)
						if math.IsNaN(b[k]) {
							nan++
							if keep {
								t.Errorf("%s: pair %d pruned but scores %v", name, k, a[k])
							}
							if pr.UpperBound(mode, ns[k/n], ns[k%n]) >= thr {
								gaveUp++
							}
						} else if b[k] != a[k] || (mode == scoring.Both && br[k] != ar[k]) {
							t.Errorf("%s: pair %d differs with pruning: %v vs %v", name, k, b[k], a[k])
						}
					}
					if nan != pruned {
						t.Errorf("%s: %d NaN but %d reported pruned", name, nan, pruned)
					}
					if set.name == "golden" && thr == 0 && oi == 0 && pruned == 0 {
						t.Errorf("%s: nothing pruned", name)
					}
				}
			}
		}
		// The reference sets are small and tight; the random neurons
		// overlap in part, where giving up pays.
		if set.name == "random" && gaveUp == 0 {
			t.Errorf("%s: no pair was given up part way: the test does not exercise it", set.name)
		}
		t.Logf("%s: %d pairs given up part way (their bound reached the threshold)", set.name, gaveUp)
	}
}
