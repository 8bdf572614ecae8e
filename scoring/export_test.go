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
	for _, v := range brutePointScores(s, q, t) {
		sum += v
	}
	return sum
}

// brutePointScores is each of q's points' score against t, in tree order,
// by brute force (see BruteForward).
func brutePointScores(s *Scorer, q, t *Neuron) []float64 {
	out := make([]float64, len(q.pts))
	for i := range q.pts {
		j, d2 := bruteNearest(t.pts, q.pts[i], s.bound2)
		if j < 0 {
			out[i] = s.m.Score(s.opt.MaxDist, 0)
			continue
		}
		dot := absDot(&q.vecs[i], &t.vecs[j])
		if s.opt.UseAlpha {
			dot *= math.Sqrt(q.alpha[i] * t.alpha[j])
		}
		out[i] = s.m.Score(math.Sqrt(d2), dot)
	}
	return out
}

// LeafBoundsCheck returns, for each leaf of q against t, leafBounds' bound
// on the points from that leaf on (raw, with no cutoff) and the brute-force
// sum of those points' scores, and leafBounds' bound on the whole score.
func LeafBoundsCheck(s *Scorer, q, t *Neuron) (bounds, sums []float64, whole float64) {
	var sc groupScratch
	rest := make([]leafRest, len(q.tree.blockNode))
	whole, _ = s.leafBounds(q, t, s.restBounds(q, t, &sc, nil), rest, cutoff{thr: math.Inf(-1), self: 1})
	// The sums from each point on.
	score := append(brutePointScores(s, q, t), 0)
	for i := len(q.pts) - 1; i >= 0; i-- {
		score[i] += score[i+1]
	}
	for li, ni := range q.tree.blockNode {
		bounds = append(bounds, rest[li].from)
		sums = append(sums, score[q.tree.nodes[ni].start])
	}
	return bounds, sums, whole
}

// GroupBoundRaw is the groups' bound on the raw q→t score that leafBounds
// starts from (restBounds' cells).
func (s *Scorer) GroupBoundRaw(q, t *Neuron) float64 {
	var sc groupScratch
	g := s.restBounds(q, t, &sc, nil)
	return float64(q.groups[0].n)*g[0].cell + g[0].after
}
