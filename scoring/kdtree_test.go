package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomWalk returns n points of a branching random walk with ~step µm steps
// starting at origin: the shape of a resampled neurite.
func randomWalk(rng *rand.Rand, n int, origin [3]float64, step float64) [][3]float64 {
	pts := make([][3]float64, 0, n)
	cur := origin
	dir := [3]float64{1, 0, 0}
	for len(pts) < n {
		if len(pts) > 0 && rng.Float64() < 0.02 { // branch from an earlier point
			cur = pts[rng.IntN(len(pts))]
		}
		for k := range dir {
			dir[k] += rng.NormFloat64() * 0.3
		}
		norm := math.Sqrt(dir[0]*dir[0] + dir[1]*dir[1] + dir[2]*dir[2])
		for k := range dir {
			dir[k] /= norm
			cur[k] += dir[k] * step
		}
		pts = append(pts, cur)
	}
	return pts
}

func bruteNearest(pts [][3]float64, q [3]float64, bound2 float64) (int, float64) {
	best, best2 := -1, bound2
	for i := range pts {
		if d2 := sqDist(&q, &pts[i]); d2 < best2 {
			best, best2 = i, d2
		}
	}
	return best, best2
}

// testCloud returns one of three kinds of point cloud with n-ish points: a
// random walk (no ties), a uniform cloud of duplicated points, or a grid
// (many exact ties).
func testCloud(rng *rand.Rand, kind, n int) [][3]float64 {
	var pts [][3]float64
	switch kind % 3 {
	case 0:
		pts = randomWalk(rng, n, [3]float64{}, 1)
	case 1: // uniform cloud with exact duplicates
		for range n {
			p := [3]float64{rng.Float64() * 20, rng.Float64() * 20, rng.Float64() * 20}
			pts = append(pts, p, p)
		}
	default: // a grid: many exact ties
		for i := range n {
			pts = append(pts, [3]float64{float64(i % 7), float64(i / 7 % 7), float64(i / 49)})
		}
	}
	return pts
}

func TestKDTreeMatchesBruteForce(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for trial := range 60 {
			pts := testCloud(rng, trial, 1+rng.IntN(700))
			orig := append([][3]float64(nil), pts...)
			tree, perm := buildKDTree(pts)
			for k := range perm {
				if tree.pts[k] != orig[perm[k]] {
					t.Fatalf("trial %d: permutation is wrong at %d", trial, k)
				}
			}
			hint := int32(-1)
			for range 300 {
				q := [3]float64{rng.Float64()*40 - 10, rng.Float64()*40 - 10, rng.Float64()*40 - 10}
				bound2 := math.Inf(1)
				if rng.IntN(3) == 0 {
					bound2 = rng.Float64() * 25
				}
				wi, w2 := bruteNearest(orig, q, bound2)
				gi, g2 := tree.nearest(&q, hint, bound2)
				if (wi < 0) != (gi < 0) || g2 != w2 {
					t.Fatalf("trial %d: nearest(%v, bound² %v) = (%d, %v), brute force (%d, %v)", trial, q, bound2, gi, g2, wi, w2)
				}
				if gi >= 0 {
					hint = gi
				}
			}
		}
	})
}
