package transforms

import (
	"cmp"
	"container/heap"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nblast-go/nblast/scoring"
)

// The exact k-nearest-neighbour graph (the top-k output alone). A query's
// k best targets are the targets whose scores reach its k-th best score,
// which no one knows in advance; but any k scores of real pairs give a
// lower bound on it, and a pair whose upper bound is below that bound
// cannot be among the k best. So each query, on its own:
//
//  1. scores the k targets whose centroids are nearest its own, among the
//     targets of the target blocks that may reach the run's threshold,
//     nearest blocks first (the seeds: likely among its best);
//  2. takes as threshold the k-th best score so far (or the run's
//     threshold, if higher), and lists the targets whose extent bound
//     (scoring.Scorer.ExtentBound) reaches it, highest bound first, then
//     nearest centroid;
//  3. scores them in that order with scoring.Scorer.PairAtLeast at the
//     threshold, which rises with every score that enters the k best, and
//     stops at the first target whose bound is below it (those after it
//     are lower still).
//
// Every pair left unscored scores below the query's final k-th best score
// (or the run's threshold), so the k best of the pairs scored are the k
// best of all, ties included (a tie with the k-th best is always scored:
// pruning needs a bound strictly below). The row holds NaN for the pairs
// not scored, as for pruned pairs.

// knnRow fills row (one query block against every target, see scoreFn)
// with the scores the top-k output needs, for the target blocks tbs, and
// returns how many pairs of those blocks it scored.
func (f *scoreFn) knnRow(ctx context.Context, l *loadedLayout, qb int, tbs []int32, qblock *preparedBlock, row *Chunk) (scored int64, err error) {
	p := l.Plan
	qinfo := p.QueryBlock(qb)
	k := f.Config.TopK
	workers := min(runtime.GOMAXPROCS(0), len(qinfo))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(qinfo))
	var total atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(qinfo) {
					return
				}
				n, err := f.knnQuery(ctx, l, qb, qblock, qinfo, i, tbs, k, row)
				total.Add(n)
				if err != nil {
					errs[i] = err
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return total.Load(), nil
}

// knnCandidate is one target a query may score: its block and position,
// its extent bound and its centroid's squared distance (µm²).
type knnCandidate struct {
	tb, j int
	bound float64
	dist2 float64
}

// knnQuery does steps 1-3 for query i of the block and writes its row.
func (f *scoreFn) knnQuery(ctx context.Context, l *loadedLayout, qb int, qblock *preparedBlock, qinfo []NeuronInfo, i int, tbs []int32, k int, row *Chunk) (int64, error) {
	p, s, mode := l.Plan, f.scorer, f.mode
	q := qinfo[i]
	qe := q.Extent()
	qn, err := neuronAt(qblock, i, qinfo)
	if err != nil {
		return 0, err
	}
	qSelf := s.SelfHit(qn)
	floor := f.Config.Threshold

	// The target blocks that may reach the floor, nearest first.
	type blockAt struct {
		tb    int
		bound float64
		gap   float64
	}
	var bl []blockAt
	for _, t := range tbs {
		tb := int(t)
		e := l.targetExtents[tb]
		b := blockBound(s, mode, qe, e)
		own := p.AllByAll && tb == qb
		if b < floor && !own {
			continue
		}
		bl = append(bl, blockAt{tb, b, boxGap2(qe.Min, qe.Max, e.Min, e.Max)})
	}
	slices.SortFunc(bl, func(a, b blockAt) int {
		if a.bound != b.bound {
			return cmp.Compare(b.bound, a.bound)
		}
		return cmp.Compare(a.gap, b.gap)
	})

	best := &minHeap{}
	threshold := func() float64 {
		if best.Len() < k {
			return floor
		}
		return max(floor, (*best)[0])
	}
	var scored int64
	done := map[int]bool{} // columns scored
	score := func(c knnCandidate, thr float64) error {
		col := c.tb*p.BlockSize + c.j
		done[col] = true
		tblock, err := f.block(ctx, "t", c.tb, p.TargetBlock(c.tb))
		if err != nil {
			return err
		}
		tn, err := neuronAt(tblock, c.j, p.TargetBlock(c.tb))
		if err != nil {
			return err
		}
		v, ok := s.PairAtLeast(mode, qn, tn, qSelf, s.SelfHit(tn), thr)
		if !ok {
			return nil
		}
		scored++
		row.Values[i*row.Cols+col] = v
		if v >= floor {
			heap.Push(best, v)
			if best.Len() > k {
				heap.Pop(best)
			}
		}
		return nil
	}

	// 1. Seeds: the k nearest centroids among the targets of the nearest
	// blocks that supply at least 4k candidates.
	var seeds []knnCandidate
	for _, b := range bl {
		if len(seeds) >= 4*k {
			break
		}
		for j, t := range p.TargetBlock(b.tb) {
			seeds = append(seeds, knnCandidate{tb: b.tb, j: j, dist2: centroidDist2(q, t)})
		}
	}
	slices.SortFunc(seeds, func(a, b knnCandidate) int { return cmp.Compare(a.dist2, b.dist2) })
	for _, c := range seeds[:min(k, len(seeds))] {
		if err := score(c, floor); err != nil {
			return scored, err
		}
	}

	// 2. The targets whose bound reaches the threshold.
	thr := threshold()
	var cands []knnCandidate
	for _, b := range bl {
		if b.bound < thr && !(p.AllByAll && b.tb == qb) {
			continue
		}
		for j, t := range p.TargetBlock(b.tb) {
			if done[b.tb*p.BlockSize+j] {
				continue
			}
			eb := s.ExtentBound(mode, qe, t.Extent())
			if p.AllByAll && t.ID == q.ID {
				eb = math.Inf(1) // the self-hit, whatever the bound
			}
			if eb >= thr {
				cands = append(cands, knnCandidate{tb: b.tb, j: j, bound: eb, dist2: centroidDist2(q, t)})
			}
		}
	}
	slices.SortFunc(cands, func(a, b knnCandidate) int {
		if a.bound != b.bound {
			return cmp.Compare(b.bound, a.bound)
		}
		return cmp.Compare(a.dist2, b.dist2)
	})

	// 3. Score them at the rising threshold.
	for _, c := range cands {
		thr := threshold()
		if c.bound < thr {
			break
		}
		if err := score(c, thr); err != nil {
			return scored, err
		}
	}
	return scored, nil
}

// blockBound bounds every pair of query extent q with a neuron of target
// block e (see Plan.CanSkipBlocks: the bound is monotone in the point
// counts, so the fewest and most points bound it).
func blockBound(s *scoring.Scorer, mode scoring.Mode, q scoring.Extent, e BlockExtent) float64 {
	b := math.Inf(-1)
	for _, n := range [2]int{e.MinPoints, e.MaxPoints} {
		b = max(b, s.ExtentBound(mode, q, scoring.Extent{Points: n, Min: e.Min, Max: e.Max}))
	}
	return b
}

func centroidDist2(a, b NeuronInfo) float64 {
	var d float64
	for k := range 3 {
		g := a.Centroid[k] - b.Centroid[k]
		d += g * g
	}
	return d
}

// boxGap2 is the squared distance between two boxes (0 when they overlap).
func boxGap2(alo, ahi, blo, bhi [3]float64) float64 {
	var d float64
	for k := range 3 {
		g := max(alo[k]-bhi[k], blo[k]-ahi[k], 0)
		d += g * g
	}
	return d
}

// neuronAt is neuronsAt for one position.
func neuronAt(b *preparedBlock, i int, info []NeuronInfo) (*scoring.Neuron, error) {
	ns, err := neuronsAt(b, []int{i}, info)
	if err != nil {
		return nil, err
	}
	return ns[0], nil
}

// minHeap holds a query's best scores so far, the least on top.
type minHeap []float64

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
