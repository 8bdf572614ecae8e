package cluster_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nblast-go/nblast/cluster"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/scipytest"
)

var methods = []string{"ward", "average", "single", "complete"}

// checkAgainstScipy clusters condensed distances d (n points) with every
// method and both cut criteria and compares with scipy's result r: Z
// (merges exactly, distances to 1e-12) and the partitions (up to renaming
// labels; scipy's labels themselves are reproduced too).
func checkAgainstScipy(t *testing.T, name string, d []float64, n int, ks []int, r scipytest.Result) {
	t.Helper()
	for _, m := range methods {
		dd := append([]float64(nil), d...)
		z, err := cluster.Linkage(dd, n, cluster.Method(m))
		if err != nil {
			t.Fatal(err)
		}
		want := r.Methods[m]
		scipytest.CompareZ(t, name+" "+m, z, want.Z, 1e-12)
		if want.Error != "" {
			t.Logf("%s %s: Z equal; scipy's fcluster refuses it (%s): partitions not compared", name, m, want.Error)
			continue
		}
		for _, k := range ks {
			if n == 2 {
				// scipy's maxclust bisection reads past the end of its
				// array for n = 2 (undefined); we cut at +Inf there.
				continue
			}
			got := cluster.FclusterMaxclust(z, n, k)
			if !scipytest.SamePartition(t, fmt.Sprintf("%s %s maxclust %d", name, m, k), got, want.Maxclust[strconv.Itoa(k)]) {
				t.Errorf("%s %s maxclust %d: same partition as scipy, other labels", name, m, k)
			}
		}
		for i, h := range want.Heights {
			got := cluster.FclusterDistance(z, n, h)
			if !scipytest.SamePartition(t, fmt.Sprintf("%s %s distance %g", name, m, h), got, want.Distance[i]) {
				t.Errorf("%s %s distance %g: same partition as scipy, other labels", name, m, h)
			}
		}
	}
}

// TestLinkageRandomMatchesScipy: random points in the plane (Euclidean
// distances) and random symmetric scores, several sizes.
func TestLinkageRandomMatchesScipy(t *testing.T) {
	scipytest.Require(t, "scipy.cluster.hierarchy")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 7, 40, 300} {
		for kind := 0; kind < 2; kind++ {
			d := make([]float64, cluster.CondensedLen(n))
			if kind == 0 {
				pts := make([][2]float64, n)
				for i := range pts {
					c := float64(rng.IntN(5)) * 10
					pts[i] = [2]float64{c + rng.NormFloat64(), c + rng.NormFloat64()}
				}
				for i := 0; i < n; i++ {
					for j := i + 1; j < n; j++ {
						d[cluster.CondensedIndex(n, i, j)] = math.Hypot(pts[i][0]-pts[j][0], pts[i][1]-pts[j][1])
					}
				}
			} else {
				for i := range d {
					d[i] = 1 - (rng.Float64()*2 - 1)
				}
			}
			ks := []int{1, 2, max(1, n/3), n - 1, n}
			r := scipytest.Condensed(t, d, n, methods, ks)
			checkAgainstScipy(t, fmt.Sprintf("n=%d kind=%d", n, kind), d, n, ks, r)
		}
	}
}

// TestLinkageReferenceMatchesScipy: navis' score matrices of the shared
// reference sets, made into distances as navis.nbl.make_linkage does
// (symmetrised to the mean when not symmetric, 1 − score).
func TestLinkageReferenceMatchesScipy(t *testing.T) {
	dir := reference.Dir(t)
	scipytest.Require(t, "scipy.cluster.hierarchy")
	for _, rel := range []string{
		"golden/scores/fwd_norm.csv", "golden/scores/mean_norm.csv", "golden/scores/aba_norm.csv",
		"neurons/scores/examples_k5_res1um__navis__fwd_norm.csv", "neurons/scores/examples_k5_res1um__navis__mean_norm.csv",
	} {
		p := reference.File(t, rel)
		s, err := reference.LoadScores(p)
		if err != nil {
			t.Fatal(err)
		}
		n := len(s.Queries)
		d, err := cluster.Condensed(n, func(i int) ([]float64, error) { return s.Values[i], nil })
		if err != nil {
			t.Fatal(err)
		}
		ks := []int{1, 2, 3, n / 2, n}
		r := scipytest.Scores(t, p, methods, ks)
		checkAgainstScipy(t, rel, d, n, ks, r)
	}
	_ = dir
}

// TestAdjustedRandHand: the ARI of a tiny example worked by hand.
// a = {0,1,2}{3,4,5}, b = {0,1}{2,3}{4,5}: contingency [[2,1,0],[0,1,2]],
// Σ C(nij,2) = 2, Σ C(ai,2) = 6, Σ C(bj,2) = 3, C(6,2) = 15, expected =
// 6·3/15 = 1.2, max = 4.5: ARI = (2 − 1.2)/(4.5 − 1.2) = 0.8/3.3.
func TestAdjustedRandHand(t *testing.T) {
	a := []int{1, 1, 1, 2, 2, 2}
	b := []int{7, 7, 8, 8, 9, 9}
	if got, want := cluster.AdjustedRand(a, b), 0.8/3.3; math.Abs(got-want) > 1e-15 {
		t.Fatalf("ARI = %v, want %v", got, want)
	}
	if got := cluster.AdjustedRand(a, []int{5, 5, 5, 3, 3, 3}); got != 1 {
		t.Fatalf("ARI of a relabelled partition = %v, want 1", got)
	}
	if got := cluster.AdjustedRand(b, a); math.Abs(got-0.8/3.3) > 1e-15 {
		t.Fatalf("ARI not symmetric: %v", got)
	}
}
