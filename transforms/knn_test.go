package transforms

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
)

// nearestCentroids, which reads only the blocks whose centroids' box may
// hold a nearer target, finds the same k distances as a scan of every
// target of the blocks it may use, for queries inside and outside the
// targets' space, with some blocks excluded.
func TestNearestCentroidsMatchesAScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	targets := make([]dotprops.NeuronInfo, 1000)
	for i := range targets {
		// Clustered centroids, with repeats (ties) among them.
		c := [3]float64{float64(rng.IntN(20)) * 30, rng.Float64() * 300, float64(rng.IntN(4)) * 50}
		targets[i] = dotprops.NeuronInfo{Centroid: c, Min: c, Max: c, Points: 1}
	}
	p := Plan{Targets: targets, BlockSize: 16}
	ext := p.TargetExtents()
	tbs := make([]int32, p.TargetBlocks())
	for i := range tbs {
		tbs[i] = int32(i)
	}
	for _, tc := range []struct {
		name     string
		centroid [3]float64
		k        int
		exclude  func(x int) bool
	}{
		{"inside, k=20", [3]float64{300, 150, 50}, 20, func(int) bool { return false }},
		{"inside, k=1", [3]float64{31, 2, 0}, 1, func(int) bool { return false }},
		{"outside", [3]float64{-500, 900, 400}, 20, func(int) bool { return false }},
		{"half the blocks out", [3]float64{300, 150, 50}, 20, func(x int) bool { return x%2 == 0 }},
		{"k above the targets left", [3]float64{0, 0, 0}, 200, func(x int) bool { return x > 5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &knnQuery{info: dotprops.NeuronInfo{Centroid: tc.centroid}, in: make([]bool, len(tbs)), bb: make([]float64, len(tbs))}
			var want []float64
			for x := range tbs {
				q.in[x], q.bb[x] = true, 0
				if tc.exclude(x) {
					q.bb[x] = math.Inf(-1) // below the floor
					continue
				}
				for _, n := range p.TargetBlock(x) {
					want = append(want, centroidDist2(tc.centroid, n.Centroid))
				}
			}
			slices.Sort(want)
			want = want[:min(tc.k, len(want))]
			seeds := nearestCentroids(p, ext, tbs, q, -1, tc.k)
			var got []float64
			for _, s := range seeds {
				if tc.exclude(s.x) {
					t.Fatalf("seed in excluded block %d", s.x)
				}
				if d := centroidDist2(tc.centroid, p.TargetBlock(s.x)[s.j].Centroid); d != s.dist2 {
					t.Fatalf("seed %+v: distance %v, not %v", s, s.dist2, d)
				}
				got = append(got, s.dist2)
			}
			if !slices.Equal(got, want) {
				t.Errorf("distances %v, want %v", got, want)
			}
		})
	}
}

// settled: a restricted query's search is exact only when k of its pairs
// rank ahead of its earlier k-th best (stored value v): its reused earlier
// top-k pairs, whatever their value, and scored pairs whose float32 is
// strictly above v. A scored pair whose float32 equals v, or lies below
// it, does not count (its rank against the earlier k-th is unknown, or
// behind it); without a stored k-th (NaN) there is nothing to check.
func TestSettled(t *testing.T) {
	v := float32(0.5)
	above := float64(math.Nextafter32(v, 1))
	below := float64(math.Nextafter32(v, 0))
	for _, tc := range []struct {
		name   string
		vals   []float64
		reused []int
		check  float32
		k      int
		want   bool
	}{
		{"reused count whatever their value", []float64{0.5, 0.1}, []int{0, 1}, v, 2, true},
		{"one reused, one scored above", []float64{0.9, above}, []int{0}, v, 2, true},
		{"scored equal in float32", []float64{0.9, float64(v)}, []int{0}, v, 2, false},
		{"scored equal in float32, above in float64", []float64{0.9, float64(v) + 1e-12}, []int{0}, v, 2, false},
		{"scored below", []float64{0.9, below}, []int{0}, v, 2, false},
		{"too few", []float64{0.9, 0.8}, nil, v, 3, false},
		{"scored only", []float64{0.9, 0.8, above}, nil, v, 3, true},
		{"no check", []float64{0.1}, nil, float32(math.NaN()), 20, true},
	} {
		q := &knnQuery{vals: tc.vals, reused: tc.reused}
		if got := q.settled(tc.check, tc.k); got != tc.want {
			t.Errorf("%s: settled = %t, want %t", tc.name, got, tc.want)
		}
	}
}
