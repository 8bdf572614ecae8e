package transforms

import (
	"context"
	"math"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/storedrank"
)

// reuseKept gives restricted query q (plan position at) its stored earlier
// top-k scores (KNNDelta.KeepScores) instead of scoring them as seeds;
// rescoreReused scores the pairs whose stored value may not rank as their
// score does (storedrank).
func reuseKept(p Plan, kd *KNNDelta, at int, pos map[int32]int, q *knnQuery, floor float64, k int) {
	for n, t := range kd.Keep[at] {
		if x, ok := pos[t/int32(p.BlockSize)]; ok && q.in[x] { // as keptSeeds
			q.seed[int(t)], q.reused = true, append(q.reused, len(q.cols))
			q.add(int(t), storedrank.LowerBound(kd.KeepScores[at][n]), floor, k) // a lower bound among the k best,
			q.vals[len(q.vals)-1] = float64(kd.KeepScores[at][n])                // the stored value for the sink
		}
	}
}

// rescoreReused scores again, by target block, the pairs of reused scores
// storedrank.Unsettled lists.
func (f *scoreFn) rescoreReused(ctx context.Context, p Plan, tbs []int32, pos map[int32]int, qs []*knnQuery, floor float64) error {
	redo := make([][]int, len(qs))  // entries of q.cols to score again
	need := make([][]int, len(tbs)) // the queries with one in block tbs[x]
	for i, q := range qs {
		redo[i] = storedrank.Unsettled(q.vals, q.reused, floor)
		for _, a := range redo[i] {
			if x := pos[int32(q.cols[a]/p.BlockSize)]; len(need[x]) == 0 || need[x][len(need[x])-1] != i {
				need[x] = append(need[x], i)
			}
		}
	}
	for x, tb := range tbs {
		if err := f.knnVisit(ctx, p, int(tb), need[x], func(i int, tblock *preparedBlock, tinfo []dotprops.NeuronInfo) error {
			q := qs[i]
			for _, a := range redo[i] {
				if j := q.cols[a] - int(tb)*p.BlockSize; j >= 0 && j < len(tinfo) {
					tn, err := neuronAt(tblock, j, tinfo)
					if err != nil {
						return err
					}
					// At -Inf the kernel gives up on no pair.
					q.vals[a], _, _ = f.scorer.PairAtLeast(f.mode, q.n, tn, q.self, f.scorer.SelfHit(tn), math.Inf(-1))
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// settled reports whether restricted query q's search is exact (see
// KNNDelta.Recheck): the k of its pairs ranking ahead of its earlier k-th
// best (stored value v) are there: its earlier top-k targets reused, and
// scored pairs whose float32 is above v (so their scores are above that
// earlier k-th's; one whose float32 equals v is not counted, its rank
// against it unknown).
func (q *knnQuery) settled(v float32, k int) bool {
	if math.IsNaN(float64(v)) {
		return true
	}
	n := len(q.reused)
	reused := make(map[int]bool, len(q.reused))
	for _, a := range q.reused {
		reused[a] = true
	}
	for a, x := range q.vals {
		if !reused[a] && float32(x) > v {
			n++
		}
	}
	return n >= k
}
