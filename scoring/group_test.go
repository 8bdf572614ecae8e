package scoring

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The assembly kernels must compute the very bits the Go ones compute.
func TestKernelsMatchGo(t *testing.T) {
	type tcase struct {
		tree  kdTree
		qtree kdTree       // the query points' own tree: one leaf
		qs    [][3]float64 // its points, 1 to 8 nearby ones
		box   box          // their bounding box
		r2    float64
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var cases []tcase
	for trial := range 90 {
		tree, _ := buildKDTree(testCloud(rng, trial, 1+rng.IntN(1500)))
		for range 20 {
			c := [3]float64{rng.Float64()*40 - 10, rng.Float64()*40 - 10, rng.Float64()*40 - 10}
			qs := make([][3]float64, 1+rng.IntN(blockSize))
			for i := range qs {
				for k := range 3 {
					qs[i][k] = c[k] + rng.NormFloat64()*2
				}
			}
			if trial%3 == 2 && rng.IntN(2) == 0 { // on the grid: ties
				for i := range qs {
					for k := range 3 {
						qs[i][k] = math.Round(qs[i][k])
					}
				}
			}
			r2 := []float64{0, 1, 4, 25, 400, math.Inf(1)}[rng.IntN(6)]
			qtree, _ := buildKDTree(qs)
			cases = append(cases, tcase{tree: tree, qtree: qtree, qs: qtree.pts, box: boundingBox(qs), r2: r2})
		}
	}
	// The Go results.
	type result struct {
		cands  []int32
		hits   [blockSize]groupHit
		gaps   [][wideFan]float64
		masks  []uint8
		bottom [][2]float64
	}
	want := make([]result, len(cases))
	for i, c := range cases {
		w := &want[i]
		w.cands = c.tree.gatherGo(0, &c.box, min(c.r2, math.MaxFloat64), nil)
		searchGroupGo(c.qs, &c.tree, w.cands, &w.hits)
		for wi := range c.tree.wide {
			n := &c.tree.wide[wi]
			var g [wideFan]float64
			w.masks = append(w.masks, childGapsGo(&c.qs[0], n, c.r2, &g))
			w.gaps = append(w.gaps, g)
			if n.bottom {
				d2, slot := searchBottomGo(&c.qs[0], n, c.tree.blocks, c.r2)
				w.bottom = append(w.bottom, [2]float64{d2, float64(slot)})
			}
		}
	}
	forEachKernel(t, func(t *testing.T) {
		var s groupScratch
		for i, c := range cases {
			w := &want[i]
			s.gather(&c.tree, &c.box, c.r2)
			if !slices.Equal(s.cands, w.cands) {
				t.Fatalf("case %d: gather = %v, want %v", i, s.cands, w.cands)
			}
			// searchGroup is exact for the points whose nearest candidate
			// is within r2, and reports no other point as within it.
			var hits [blockSize]groupHit
			searchGroup(&c.qtree, 0, c.qs, &c.tree, s.cands, c.r2, &hits)
			for k := range c.qs {
				if w.hits[k].d2 <= c.r2 && hits[k] != w.hits[k] || w.hits[k].d2 > c.r2 && hits[k].d2 <= c.r2 {
					t.Fatalf("case %d point %d (r² %v): searchGroup = %+v, want %+v", i, k, c.r2, hits[k], w.hits[k])
				}
			}
			// With AVX2, the float32 filter gives every point, settled
			// or not (its slot is the hint of its own search), the
			// float64 kernel's hit.
			if useAVX2 && !useAVX512 && len(s.cands) > 0 {
				var exact [blockSize]groupHit
				searchGroupAVX2Hits(c.qs, &c.tree, s.cands, &exact)
				for k := range c.qs {
					if hits[k] != exact[k] {
						t.Fatalf("case %d point %d (r² %v): float32 filter %+v, float64 kernel %+v", i, k, c.r2, hits[k], exact[k])
					}
				}
			}
			nb := 0
			for wi := range c.tree.wide {
				n := &c.tree.wide[wi]
				var g [wideFan]float64
				if m := childGaps(&c.qs[0], n, c.r2, &g); m != w.masks[wi] || g != w.gaps[wi] {
					t.Fatalf("case %d node %d: childGaps = %08b %v, want %08b %v", i, wi, m, g, w.masks[wi], w.gaps[wi])
				}
				if n.bottom {
					d2, slot := searchBottom(&c.qs[0], n, c.tree.blocks, c.r2)
					if got := [2]float64{d2, float64(slot)}; got != w.bottom[nb] {
						t.Fatalf("case %d node %d: searchBottom = %v, want %v", i, wi, got, w.bottom[nb])
					}
					nb++
				}
			}
		}
	})
}

// Forward scores through the group search equal scores from brute-force
// nearest neighbours, bit for bit (the points are summed in the same order).
func TestForwardMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randomNeuron := func(id int64, n int, origin [3]float64) *Neuron {
		d := &Dotprops{ID: IntID(id), Points: randomWalk(rng, n, origin, 1)}
		for range d.Points {
			v := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			l := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
			d.Vectors = append(d.Vectors, [3]float64{v[0] / l, v[1] / l, v[2] / l})
			d.Alpha = append(d.Alpha, rng.Float64())
		}
		nr, err := NewNeuron(d)
		if err != nil {
			t.Fatal(err)
		}
		return nr
	}
	var ns []*Neuron
	for i := range 8 {
		o := [3]float64{rng.Float64() * 30, rng.Float64() * 30, rng.Float64() * 30}
		if i == 7 {
			o[0] += 200 // far from the rest
		}
		ns = append(ns, randomNeuron(int64(i), 1+rng.IntN(900), o))
	}
	brute := func(s *Scorer, q, tn *Neuron) float64 {
		var sum float64
		for i := range q.pts {
			j, d2 := bruteNearest(tn.pts, q.pts[i], s.bound2)
			if j < 0 {
				sum += s.m.Score(s.opt.MaxDist, 0)
				continue
			}
			v, w := &q.vecs[i], &tn.vecs[j]
			dot := math.Abs(float64(float64(v[0]*w[0])+float64(v[1]*w[1])) + float64(v[2]*w[2]))
			if s.opt.UseAlpha {
				dot *= math.Sqrt(q.alpha[i] * tn.alpha[j])
			}
			sum += s.m.Score(math.Sqrt(d2), dot)
		}
		return sum
	}
	forEachKernel(t, func(t *testing.T) {
		for _, opt := range []Options{{}, {UseAlpha: true}, {MaxDist: 42}, {MaxDist: 3}, {MaxDist: 0.5}} {
			s, err := NewScorer(opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range ns {
				for _, tn := range ns {
					if got, _ := s.forwardRaw(q, tn, cutoff{thr: math.Inf(-1)}); got != brute(s, q, tn) {
						want := brute(s, q, tn)
						t.Fatalf("%+v: %s→%s = %v, brute force %v", opt, q.ID, tn.ID, got, want)
					}
				}
			}
		}
	})
}
