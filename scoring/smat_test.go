package scoring_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

func TestBinsAreRightClosedAndClipped(t *testing.T) {
	m := scoring.FCWB()
	for _, tc := range []struct {
		d    float64
		want int
	}{
		{-1, 0}, {0, 0}, {0.75, 0}, {math.Nextafter(0.75, 1), 1}, {1.5, 1}, {2, 2},
		{40, 19}, {math.Nextafter(40, 41), 20}, {42, 20}, {500, 20}, {1e300, 20}, {math.Inf(1), 20},
	} {
		if got := m.DistBin(tc.d); got != tc.want {
			t.Errorf("DistBin(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		dot  float64
		want int
	}{
		{0, 0}, {0.1, 0}, {math.Nextafter(0.1, 1), 1}, {0.3, 2}, {0.30000000000000004, 3}, {0.9, 8}, {1, 9}, {1.0000001, 9},
	} {
		if got := m.DotBin(tc.dot); got != tc.want {
			t.Errorf("DotBin(%v) = %d, want %d", tc.dot, got, tc.want)
		}
	}
}

// The O(1) binner must agree with a plain search over the edges everywhere,
// including on and next to every edge.
func TestBinnerMatchesSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []*scoring.Matrix{scoring.FCWB(), scoring.AlphaFCWB()} {
		for _, b := range []struct {
			edges []float64
			bin   func(float64) int
			span  float64
		}{{m.DistEdges, m.DistBin, 60}, {m.DotEdges, m.DotBin, 1.2}} {
			inner := b.edges[1 : len(b.edges)-1]
			want := func(v float64) int { return sort.SearchFloat64s(inner, v) }
			var vals []float64
			for _, e := range b.edges {
				vals = append(vals, e, math.Nextafter(e, -1), math.Nextafter(e, 2*e+1))
			}
			for range 100000 {
				vals = append(vals, rng.Float64()*b.span-0.1)
			}
			for _, v := range vals {
				if got := b.bin(v); got != want(v) {
					t.Fatalf("%s: bin(%v) = %d, want %d", m.Name, v, got, want(v))
				}
			}
		}
	}
}

// Scoring bins a squared distance as the bin of its square root, on and
// next to every edge.
func TestScoreOfSquaredDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	neuron := func(v [3]float64) *scoring.Neuron {
		n, err := scoring.NewNeuron(&scoring.Dotprops{ID: scoring.IntID(1), Points: [][3]float64{{0, 0, 0}}, Vectors: [][3]float64{v}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	q := neuron([3]float64{1, 0, 0})
	for _, m := range []*scoring.Matrix{scoring.FCWB(), scoring.AlphaFCWB()} {
		s, err := scoring.NewScorer(scoring.Options{Matrix: m})
		if err != nil {
			t.Fatal(err)
		}
		var vals []float64
		for _, e := range m.DistEdges {
			for _, v := range []float64{e * e, math.Nextafter(e*e, 0), math.Nextafter(e*e, math.Inf(1))} {
				vals = append(vals, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
			}
		}
		for range 20000 {
			vals = append(vals, rng.Float64()*3600, rng.Float64()*4)
		}
		for _, a := range []float64{0, 1.2, math.Pi / 2} {
			tn := neuron([3]float64{math.Cos(a), math.Sin(a), 0})
			dot := math.Abs(math.Cos(a)) // the kernel's product: (x·x' + y·0) + z·z'
			for _, v := range vals {
				if got, want := scoring.ScoreGroupOne(s, q, tn, v), m.Score(math.Sqrt(v), dot); got != want {
					t.Fatalf("%s: score of d² %v = %v, of d %v = %v", m.Name, v, got, math.Sqrt(v), want)
				}
			}
		}
	}
}
