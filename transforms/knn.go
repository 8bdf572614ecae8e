package transforms

import (
	"cmp"
	"container/heap"
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/scoring"
)

// The exact k-nearest-neighbour graph (the top-k output alone). A query's
// k best targets are the targets whose scores reach its k-th best score,
// which no one knows in advance; but any k scores of real pairs give a
// lower bound on it, and a pair whose upper bound is below that bound
// cannot be among the k best. So, for the queries of one tile (several
// query blocks):
//
//  1. each query scores the k targets whose centroids are nearest its own
//     (the seeds: likely among its best), among the targets of the target
//     blocks that may reach the run's threshold;
//  2. its threshold is then the k-th best score so far (or the run's
//     threshold, if higher), and it rises with every score that enters the
//     k best;
//  3. the target blocks are visited once each, in an order of their own
//     (spread): the seeds already gave each query a high threshold, and
//     the progress line's projection holds from the start. Visited
//     nearest first, a tile's first blocks cost the most (at 100,000
//     neurons the first minutes projected 28 CPU-h, against 2.2 in this
//     order), and the whole run at 10,000 neurons took 108 CPU s against
//     101. Each query whose block bound reaches its threshold scores the
//     block's targets whose bounds from their extents alone
//     (scoring.Scorer's ExtentBound and QueryGroupBound) reach it, with
//     scoring.Scorer.PairAtLeast at the threshold, which gives up on a pair
//     part way once the pair is proven below it.
//
// A target block is loaded once per tile, and each of its neurons
// prepared at most once, whichever queries need it: the work follows the
// blocks, not each query's own order.
//
// Every pair left unscored scores below the query's final k-th best score
// (or the run's threshold), so the k best of the pairs scored are the k
// best of all, ties included (a tie with the k-th best is always scored:
// pruning needs a bound strictly below). Each query's scored pairs travel
// as one Chunk of one row; the top-k sink ranks them.

// knnQuery is one query's search: its neuron, the k best scores so far (a
// min-heap) and every pair it scored.
type knnQuery struct {
	info dotprops.NeuronInfo
	blk  int // its query block's position in the tile
	at   int // its position in that block
	n    *scoring.Neuron
	self float64   // the query's self-hit
	in   []bool    // whether its block is scored against the tile's target block x
	bb   []float64 // bound on every pair with the tile's target block x
	best minHeap
	seed map[int]bool // columns scored as seeds
	cols []int        // columns (Plan.Targets positions) scored
	vals []float64    // their scores
	// restricted: an update searches it only against its earlier top k
	// (its seeds) and the new or changed targets (KNNDelta).
	restricted bool
	reused     []int // entries of cols and vals reused from its earlier top k (knnreuse.go)
}

// blkStart is the plan position of the first query of q's block.
func (q *knnQuery) blkStart(tile []QueryWork, p Plan) int {
	return tile[q.blk].QB * p.BlockSize
}

// keptSeeds are the seeds of a restricted query (KNNDelta): its earlier
// top-k targets (plan positions keep), those in the target blocks it is
// scored against (a pair at or above the threshold is in one).
func keptSeeds(p Plan, keep []int32, pos map[int32]int, q *knnQuery) []knnSeed {
	var out []knnSeed
	for _, t := range keep {
		x, ok := pos[t/int32(p.BlockSize)]
		if ok && q.in[x] {
			out = append(out, knnSeed{x: x, j: int(t) % p.BlockSize})
		}
	}
	return out
}

// threshold is the least score that can still enter the query's k best.
func (q *knnQuery) threshold(floor float64, k int) float64 {
	if q.best.Len() < k {
		return floor
	}
	return max(floor, q.best[0])
}

// add records the score v of column col.
func (q *knnQuery) add(col int, v, floor float64, k int) {
	q.cols = append(q.cols, col)
	q.vals = append(q.vals, v)
	if v >= floor {
		heap.Push(&q.best, v)
		if q.best.Len() > k {
			heap.Pop(&q.best)
		}
	}
}

// knnRow runs the search for the query blocks of a tile (qblocks, loaded)
// against their target blocks and returns every query's scored pairs. The
// tile's queries share the visits: each target block is loaded once for
// the tile, in one order (spread).
func (f *scoreFn) knnRow(ctx context.Context, l *loadedLayout, tile []QueryWork, qblocks []*preparedBlock) ([]*knnQuery, error) {
	p, s, mode := l.Plan, f.scorer, f.mode
	k, floor := f.Config.TopK, float64(f.Config.Threshold)
	tbs, visits := tileTargets(tile)
	pos := make(map[int32]int, len(tbs)) // target block → position in tbs
	for x, tb := range tbs {
		pos[tb] = x
	}
	// --exists update (KNNDelta): some queries are searched only against
	// their earlier top k (the seeds) and the affected targets.
	kd := l.Delta.knn()
	var affected, affectedBlock []bool
	if kd != nil {
		affected, affectedBlock = kd.affectedSet(len(p.Targets), p.BlockSize)
	}
	var qs []*knnQuery
	for a, w := range tile {
		for i, info := range p.QueryBlock(w.QB) {
			qs = append(qs, &knnQuery{info: info, blk: a, at: i, in: make([]bool, len(tbs)), bb: make([]float64, len(tbs)), seed: map[int]bool{},
				restricted: kd.restricted(w.QB*p.BlockSize + i)})
		}
	}
	err := forEach(len(qs), func(i int) error {
		q := qs[i]
		w := tile[q.blk]
		n, err := neuronAt(qblocks[q.blk], q.at, p.QueryBlock(w.QB))
		if err != nil {
			return err
		}
		q.n, q.self = n, s.SelfHit(n)
		qe := q.info.Extent()
		for x := range q.bb {
			q.bb[x] = math.Inf(-1)
		}
		for _, tb := range w.TBs {
			x := pos[tb]
			q.in[x] = true
			q.bb[x] = blockBound(s, mode, qe, l.targetExtents[tb])
			if p.AllByAll && int(tb) == w.QB {
				q.bb[x] = math.Inf(1) // holds the self-hit, whatever the bound
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// score scores query q against target j of block tbs[x] at the
	// query's threshold.
	scored := make([]atomic.Int64, len(tbs))   // pairs scored with block tbs[x]
	searched := make([]atomic.Int64, len(tbs)) // pairs with block tbs[x] the kernel searched, scored or not
	score := func(q *knnQuery, tblock *preparedBlock, tinfo []dotprops.NeuronInfo, x, j int) error {
		tn, err := neuronAt(tblock, j, tinfo)
		if err != nil {
			return err
		}
		v, ok, srch := s.PairAtLeast(mode, q.n, tn, q.self, s.SelfHit(tn), q.threshold(floor, k))
		if srch {
			searched[x].Add(1)
		}
		if ok {
			scored[x].Add(1)
			q.add(int(tbs[x])*p.BlockSize+j, v, floor, k)
		}
		return nil
	}

	// The seeds' searches are counted with their blocks' pairs (below).
	// 1. Seeds, visited by target block.
	seeds := make([][]knnSeed, len(qs))
	err = forEach(len(qs), func(i int) error {
		q, at := qs[i], qs[i].blkStart(tile, p)+qs[i].at
		if q.restricted {
			reuseKept(p, kd, at, pos, q, floor, k) // no seeds: its earlier scores (knnreuse.go)
			return nil
		}
		var kept []knnSeed // an update: its earlier top-k targets still there
		if kd != nil {
			kept = keptSeeds(p, kd.Keep[at], pos, q)
		}
		seeds[i] = append(kept, nearestCentroids(p, l.targetExtents, tbs, q, floor, k)...) // once each (below)
		return nil
	})
	if err != nil {
		return nil, err
	}
	seeded := make([][]int, len(tbs)) // the queries with a seed in block tbs[x]
	for i, ss := range seeds {
		for _, c := range ss {
			if n := len(seeded[c.x]); n == 0 || seeded[c.x][n-1] != i {
				seeded[c.x] = append(seeded[c.x], i)
			}
		}
	}
	for x, tb := range tbs {
		err := f.knnVisit(ctx, p, int(tb), seeded[x], func(i int, tblock *preparedBlock, tinfo []dotprops.NeuronInfo) error {
			q := qs[i]
			for _, c := range seeds[i] {
				if c.x != x || q.seed[int(tb)*p.BlockSize+c.j] { // a kept seed may be a nearest centroid's too
					continue
				}
				q.seed[int(tb)*p.BlockSize+c.j] = true
				if err := score(q, tblock, tinfo, x, c.j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	// 2 and 3. Every target block once, in spread's order; its work items
	// are done after it (counted for the progress line). An update's
	// restricted query whose search was not exact (unsettled) is then
	// searched in full, past the pairs it scored, in a second round of
	// visits (which counts only what it scores).
	order := slices.Clone(tbs)
	spread(order, tile[0].QB)
	// visitAll visits every target block once, in spread's order, for
	// the queries (all, or those of only) whose block bound reaches their
	// threshold, and scores the targets whose bounds reach it; a round
	// with only set counts just the pairs it scores and searches.
	visitAll := func(only []bool) error {
		for _, tb32 := range order {
			tb, x := int(tb32), pos[tb32]
			var need []int
			for i, q := range qs {
				if (only == nil || only[i]) && q.in[x] && q.bb[x] >= q.threshold(floor, k) && (!q.restricted || affectedBlock[tb]) {
					need = append(need, i)
				}
			}
			err := f.knnVisit(ctx, p, tb, need, func(i int, tblock *preparedBlock, tinfo []dotprops.NeuronInfo) error {
				q := qs[i]
				qe := q.info.Extent()
				for j, t := range tinfo {
					if q.seed[tb*p.BlockSize+j] || q.restricted && !affected[tb*p.BlockSize+j] {
						continue
					}
					if !(p.AllByAll && t.ID == q.info.ID) {
						thr := q.threshold(floor, k)
						te := t.Extent()
						if s.ExtentBound(mode, qe, te) < thr || s.QueryGroupBound(mode, q.n, te) < thr {
							continue // below the threshold, without reading the target
						}
					}
					if err := score(q, tblock, tinfo, x, j); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			var items, pairs int64
			if only == nil {
				for _, a := range visits[int32(tb)] {
					items++
					pairs += int64(len(p.QueryBlock(tile[a].QB)) * len(p.TargetBlock(tb)))
				}
			}
			countScored(ctx, items, pairs, pairs-scored[x].Load())
			countSearched(ctx, searched[x].Load())
		}
		return nil
	}
	if err := visitAll(nil); err != nil {
		return nil, err
	}
	if kd != nil && kd.Recheck != nil {
		var again []bool
		for i, q := range qs {
			if q.restricted && !q.settled(kd.Recheck[q.blkStart(tile, p)+q.at], k) {
				if again == nil {
					again = make([]bool, len(qs))
				}
				again[i], q.restricted = true, false
				for _, c := range q.cols {
					q.seed[c] = true // scored already
				}
			}
		}
		if again != nil {
			for x := range tbs {
				scored[x].Store(0)
				searched[x].Store(0)
			}
			if err := visitAll(again); err != nil {
				return nil, err
			}
		}
	}
	if err := f.rescoreReused(ctx, p, tbs, pos, qs, floor); err != nil { // 4. an update's unsettled reused scores
		return nil, err
	}
	return qs, nil
}

// knnVisit loads target block tb, if any query needs it, and calls visit
// for each query of need, in parallel: a query is visited by one goroutine.
func (f *scoreFn) knnVisit(ctx context.Context, p Plan, tb int, need []int, visit func(i int, tblock *preparedBlock, tinfo []dotprops.NeuronInfo) error) error {
	if len(need) == 0 {
		return nil
	}
	tinfo := p.TargetBlock(tb)
	tblock, err := f.block(ctx, "t", tb, tinfo)
	if err != nil {
		return err
	}
	defer f.release("t", tb)
	return forEach(len(need), func(a int) error { return visit(need[a], tblock, tinfo) })
}

// knnSeed is a seed: target j of block tbs[x], at squared centroid
// distance dist2 (µm²) from its query.
type knnSeed struct {
	x, j  int
	dist2 float64
}

// nearestCentroids returns the k targets whose centroids are nearest q's,
// nearest first, among the target blocks whose bound reaches floor. The
// blocks are read in order of the least distance from q's centroid to
// their centroids' box (ext), until that distance is beyond the k-th
// nearest found: a handful of blocks, not every target.
func nearestCentroids(p Plan, ext []BlockExtent, tbs []int32, q *knnQuery, floor float64, k int) []knnSeed {
	blocks := make(nearestBlocks, 0, len(tbs))
	for x, tb := range tbs {
		if q.in[x] && q.bb[x] >= floor {
			e := &ext[tb]
			blocks = append(blocks, blockGap{x, boxGap2(q.info.Centroid, e.CentroidMin, e.CentroidMax)})
		}
	}
	heap.Init(&blocks)
	near := &farthestFirst{} // the k nearest so far, the farthest on top
	for blocks.Len() > 0 {
		if near.Len() == k && blocks[0].gap2 > (*near)[0].dist2 {
			break // no target of the blocks left is nearer
		}
		x := heap.Pop(&blocks).(blockGap).x
		for j, t := range p.TargetBlock(int(tbs[x])) {
			c := knnSeed{x, j, centroidDist2(q.info.Centroid, t.Centroid)}
			if near.Len() < k {
				heap.Push(near, c)
			} else if c.dist2 < (*near)[0].dist2 {
				(*near)[0] = c
				heap.Fix(near, 0)
			}
		}
	}
	slices.SortFunc(*near, func(a, b knnSeed) int { return cmp.Compare(a.dist2, b.dist2) })
	return *near
}

// blockGap is target block tbs[x] at least squared distance gap2 (µm²)
// from a query's centroid.
type blockGap struct {
	x    int
	gap2 float64
}

// nearestBlocks is a heap of blocks, the nearest on top.
type nearestBlocks []blockGap

func (h nearestBlocks) Len() int           { return len(h) }
func (h nearestBlocks) Less(i, j int) bool { return h[i].gap2 < h[j].gap2 }
func (h nearestBlocks) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nearestBlocks) Push(x any)        { *h = append(*h, x.(blockGap)) }
func (h *nearestBlocks) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// boxGap2 is the squared distance (µm²) from c to the box lo, hi (0
// inside it).
func boxGap2(c, lo, hi [3]float64) float64 {
	var d float64
	for k := range 3 {
		g := max(lo[k]-c[k], c[k]-hi[k], 0)
		d += g * g
	}
	return d
}

// farthestFirst is a heap of seeds, the farthest on top.
type farthestFirst []knnSeed

func (h farthestFirst) Len() int           { return len(h) }
func (h farthestFirst) Less(i, j int) bool { return h[i].dist2 > h[j].dist2 }
func (h farthestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *farthestFirst) Push(x any)        { *h = append(*h, x.(knnSeed)) }
func (h *farthestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// forEach calls fn(0..n-1) on cores.N() goroutines and returns the first
// error by index.
func forEach(n int, fn func(i int) error) error {
	workers := min(cores.N(), n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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

func centroidDist2(a, b [3]float64) float64 {
	var d float64
	for k := range 3 {
		g := a[k] - b[k]
		d += g * g
	}
	return d
}

// neuronAt is neuronsAt for one position.
func neuronAt(b *preparedBlock, i int, info []dotprops.NeuronInfo) (*scoring.Neuron, error) {
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
