package scoring

import (
	"fmt"
	"math"
)

// ScorePairs scores the pairs (queries[p[0]], targets[p[1]]) of pairs under
// mode (not Both) into out, with the same bits ScoreBlock gives each pair;
// the pairs are shared among s's workers. Pruning does not apply.
func ScorePairs(s *Scorer, mode Mode, queries, targets []*Neuron, pairs [][2]int32, out []float64) error {
	if mode == Both {
		return fmt.Errorf("score pairs: scores both is not supported")
	}
	if len(out) != len(pairs) {
		return fmt.Errorf("score pairs: out has %d cells, want %d", len(out), len(pairs))
	}
	for _, ns := range [][]*Neuron{queries, targets} {
		for _, n := range ns {
			if err := s.check(n); err != nil {
				return err
			}
		}
	}
	qSelf, tSelf := s.selfHits(queries), s.selfHits(targets)
	s.parallel(len(pairs), func(k int) {
		i, j := pairs[k][0], pairs[k][1]
		f := s.forward(queries[i], targets[j], qSelf[i])
		if !mode.NeedsReverse() {
			out[k] = f
			return
		}
		b := s.forward(targets[j], queries[i], tSelf[j])
		switch mode {
		case Mean:
			out[k] = (f + b) / 2
		case Min:
			out[k] = math.Min(f, b)
		case Max:
			out[k] = math.Max(f, b)
		}
	})
	return nil
}
