package scoring

import "math"

// ScoreGroupOne is scoreGroup for q's first point against t's first at
// squared distance d2.
func ScoreGroupOne(s *Scorer, q, t *Neuron, d2 float64) float64 {
	return s.scoreGroup(0, q, t, 0, []int32{0}, []float64{d2})
}

// ForwardSearch is q→t by the nearest-neighbour search alone (raw, no
// shortcut for far pairs, no give-up).
func ForwardSearch(s *Scorer, q, t *Neuron) float64 {
	v, _ := s.forwardRaw(q, t, cutoff{thr: math.Inf(-1), self: 1})
	return v
}

// SetFarLeaves turns forwardRaw's far-leaf shortcut on or off and returns
// the previous setting.
func SetFarLeaves(on bool) bool {
	was := farLeaves
	farLeaves = on
	return was
}

// FarLeaves is the number of q's leaves that farLeaf proves far from t; it
// panics when the gather and the tree walk disagree.
func FarLeaves(s *Scorer, q, t *Neuron) int {
	var sc groupScratch
	far := 0
	for _, ni := range q.tree.blockNode {
		b := &q.tree.nodes[ni].box
		f := s.farLeaf(b, t, nil)
		if f != s.farLeaf(b, t, &sc) {
			panic("farLeaf: the gather and the tree walk disagree")
		}
		if f {
			far++
		}
	}
	return far
}

// BruteForward is q→t raw by brute force: each query point's nearest
// target point by plain loops over all of them (the lowest tree position
// among equals), its cell by Matrix.Score, summed in the order forwardRaw
// sums (q's tree order).
func BruteForward(s *Scorer, q, t *Neuron) float64 {
	var sum float64
	for i := range q.pts {
		j, d2 := bruteNearest(t.pts, q.pts[i], s.bound2)
		if j < 0 {
			sum += s.m.Score(s.opt.MaxDist, 0)
			continue
		}
		dot := absDot(&q.vecs[i], &t.vecs[j])
		if s.opt.UseAlpha {
			dot *= math.Sqrt(q.alpha[i] * t.alpha[j])
		}
		sum += s.m.Score(math.Sqrt(d2), dot)
	}
	return sum
}
