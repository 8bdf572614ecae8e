package transforms

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatcsv"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int), error](&itemsFn{})
	register.Combiner3[[]string, string, int](&distinctPathsFn{})
	register.DoFn3x1[context.Context, int, func(scores.Chunk), error](&scoreFn{})
	register.Emitter1[scores.Chunk]()
}

// ScoreConfig is what workers need to score: the NBLAST options.
type ScoreConfig struct {
	Mode       string  // forward, mean, min, max, both
	Normalized bool    // divide by the query's self-hit
	UseAlpha   bool    // weight |dot| by sqrt(alpha_q·alpha_t)
	MaxDist    float64 // µm; 0 means unbounded
	Smat       string  // "fcwb" (alpha-FCWB with UseAlpha) or a CSV path
	AllByAll   bool    // the diagonal is the self-hit, as nblast_allbyall
	// Threshold and Prune: with Prune, a pair whose upper bound is below
	// Threshold is not scored (its Chunk value is NaN). Only sparse and
	// top-k outputs, which drop scores below Threshold, prune. ±Inf
	// travel as they are (scores.Threshold).
	Threshold scores.Threshold
	Prune     bool
	// Row: one Chunk per query block spanning every target (the sparse
	// output writes one part per query block), not one per work item.
	Row bool
	// TopK, with Row and Prune, when the top-k output is the only one:
	// only each query's TopK best targets are kept, so a pair that cannot
	// reach the query's TopK-th best score so far is not scored (an exact
	// k-nearest-neighbour graph, see knn.go; not for scores=both). The
	// chunks are then one per query, with only the targets it scored.
	TopK int
	// Smart: pre-screen as navis.nblast_smart (smart.go).
	Smart SmartConfig
	// Memory is each worker process's budget in bytes (--memory; 0:
	// memory.Default), kept below what its machine allows (memory.Effective).
	Memory int64
}

// Scorer builds the kernel's scorer, reading the matrix CSV if one is named.
func (c ScoreConfig) Scorer(ctx context.Context) (*scoring.Scorer, scoring.Mode, error) {
	mode, err := scoring.ParseMode(c.Mode)
	if err != nil {
		return nil, 0, err
	}
	m, err := c.Matrix(ctx)
	if err != nil {
		return nil, 0, err
	}
	s, err := scoring.NewScorer(scoring.Options{Matrix: m, UseAlpha: c.UseAlpha, MaxDist: c.MaxDist, Normalized: c.Normalized, AllByAll: c.AllByAll,
		Prune: c.Prune, Threshold: float64(c.Threshold), Workers: cores.N()})
	return s, mode, err
}

// Matrix returns the scoring matrix Smat names.
func (c ScoreConfig) Matrix(ctx context.Context) (*scoring.Matrix, error) {
	if c.Smat == "" || c.Smat == "fcwb" {
		if c.UseAlpha {
			return scoring.AlphaFCWB(), nil
		}
		return scoring.FCWB(), nil
	}
	m, err := smatcsv.Load(ctx, c.Smat)
	if err != nil {
		return nil, fmt.Errorf("--smat: %w", err)
	}
	return m, nil
}

// WorkItems emits the tiles of the layout's Todo (Layout.Tiles: each the
// work element of one worker call, see Score) once the staged blocks are
// complete: the distinct staged paths are counted, and the count, checked
// against the plan's blocks, is the main input of the step that emits the
// work, so nothing is scored before every block is written. A plan has at
// least one block, so staging emits at least one path (or fails). Not a
// side input: prism polls a stage that waits on one without pause, a
// core's worth of CPU for as long as staging lasts.
func WorkItems(s beam.Scope, st Staging, staged beam.PCollection) beam.PCollection {
	s = s.Scope("WorkItems")
	return beam.ParDo(s, &itemsFn{Staging: st}, beam.Combine(s, &distinctPathsFn{}, staged))
}

// distinctPathsFn counts distinct paths.
type distinctPathsFn struct{}

func (distinctPathsFn) CreateAccumulator() []string { return nil }

func (distinctPathsFn) AddInput(acc []string, p string) []string { return append(acc, p) }

func (distinctPathsFn) MergeAccumulators(a, b []string) []string {
	m := append(a, b...)
	slices.Sort(m)
	return slices.Compact(m)
}

func (f distinctPathsFn) ExtractOutput(acc []string) int {
	return len(f.MergeAccumulators(acc, nil))
}

type itemsFn struct {
	Staging Staging
}

func (f *itemsFn) ProcessElement(ctx context.Context, staged int, emit func(int)) error {
	l, err := f.Staging.layout(ctx)
	if err != nil {
		return err
	}
	want := l.Plan.QueryBlocks()
	if !l.Plan.AllByAll {
		want += l.Plan.TargetBlocks()
	}
	if staged != want {
		return fmt.Errorf("staging wrote %d of the plan's %d blocks under %s: an input lost neurons between planning and staging (rerun with --exists overwrite)", staged, want, f.Staging.Dir)
	}
	for t := range l.Tiles() {
		emit(t)
	}
	return nil
}

// Progress counts finished work for the progress line of local runs (the
// workers of prism and the direct runner share the launcher's process).
// Items counts work items done, scored or skipped; SkippedPairs the pairs
// of the skipped ones.
var Progress struct {
	Splits, Blocks        atomic.Int64
	Items, Pairs, Pruned  atomic.Int64
	Searched              atomic.Int64 // k-NN pairs the kernel searched (countSearched)
	Skipped, SkippedPairs atomic.Int64
}

var (
	itemsDone    = beam.NewCounter("nblast", "work_items_scored")
	itemsSkipped = beam.NewCounter("nblast", "work_items_skipped")
	pairsScored  = beam.NewCounter("nblast", "pairs_scored")
	pairsPruned  = beam.NewCounter("nblast", "pairs_pruned")
	pairsSkipped = beam.NewCounter("nblast", "pairs_skipped")
	// pairsSearched counts the k-NN's pairs that its bounds could not
	// settle, so that the kernel searched them (in part or in full).
	pairsSearched = beam.NewCounter("nblast", "pairs_searched")
)

// Score spreads the tiles over the workers (Reshuffle) and scores each
// tile's query blocks against their target blocks (the layout's Todo),
// target block by target block, so that a worker loads each target block
// once per tile. With cfg.Row it emits one Chunk per query block (TB =
// -1) with the targets where it scores at or above the threshold;
// otherwise one Chunk per work item. With cfg.Prune, a work item whose
// neurons' extents show no pair can reach the threshold is skipped without
// loading its blocks.
func Score(s beam.Scope, qbs beam.PCollection, st Staging, cfg ScoreConfig) beam.PCollection {
	s = s.Scope("Score")
	return beam.ParDo(s, &scoreFn{Staging: st, Config: cfg}, beam.Reshuffle(s, qbs))
}

type scoreFn struct {
	Staging Staging
	Config  ScoreConfig

	scorer  *scoring.Scorer
	mode    scoring.Mode
	earlier earlierArrays // --exists update of a dense output
}

func (f *scoreFn) Setup(ctx context.Context) error {
	applyMemory(f.Config.Memory)
	var err error
	f.scorer, f.mode, err = f.Config.Scorer(ctx)
	if f.Config.Smart.On {
		keepSmall.Store(true)
	}
	return err
}

func (f *scoreFn) ProcessElement(ctx context.Context, t int, emit func(scores.Chunk)) error {
	l, err := f.Staging.layout(ctx)
	if err != nil {
		return err
	}
	tile, err := l.tile(t)
	if err != nil {
		return err
	}
	switch {
	case f.Config.Smart.On:
		for _, w := range tile {
			if err := f.processSmart(ctx, l, w.QB, w.TBs, emit); err != nil {
				return err
			}
		}
		return nil
	case f.knn():
		return f.knnTile(ctx, l, tile, emit)
	}
	return f.scoreTile(ctx, l, tile, emit)
}

// scoreTile scores the query blocks of a tile against their target blocks,
// target block by target block (each loaded once for the tile), and emits
// one Chunk per work item, or with cfg.Row one per query block (its
// columns those of the targets that score at or above the threshold
// against one of its queries: the rest hold nothing a sparse or top-k
// output keeps).
func (f *scoreFn) scoreTile(ctx context.Context, l *loadedLayout, tile []QueryWork, emit func(scores.Chunk)) error {
	p := l.Plan
	var rows []*rowBuilder
	if f.Config.Row {
		rows = make([]*rowBuilder, len(tile))
		for a, w := range tile {
			qinfo := p.QueryBlock(w.QB)
			rows[a] = &rowBuilder{c: scores.Chunk{QB: w.QB, TB: -1, Rows: len(qinfo), Queries: infoIDs(qinfo)}}
		}
	}
	qblocks := make([]*preparedBlock, len(tile))
	defer func() {
		for a, b := range qblocks {
			if b != nil {
				f.release("q", tile[a].QB)
			}
		}
	}()
	tbs, visits := tileTargets(tile)
	spread(tbs, tile[0].QB)
	for _, tb := range tbs {
		tinfo := p.TargetBlock(int(tb))
		var tblock *preparedBlock
		for _, a := range visits[tb] {
			qb := tile[a].QB
			w := WorkItem{QB: qb, TB: int(tb)}
			qinfo := p.QueryBlock(qb)
			if d := l.Delta.dense(); d != nil { // --exists update of a dense output
				c, scored, err := f.updateChunk(ctx, d, w, p.BlockSize, qinfo, tinfo, func() (*preparedBlock, *preparedBlock, error) {
					var err error
					if qblocks[a] == nil {
						if qblocks[a], err = f.block(ctx, "q", qb, qinfo); err != nil {
							return nil, nil, err
						}
					}
					if tblock == nil {
						tblock, err = f.block(ctx, "t", w.TB, tinfo)
					}
					return qblocks[a], tblock, err
				})
				if err != nil {
					if tblock != nil {
						f.release("t", w.TB)
					}
					return fmt.Errorf("work item (query block %d, target block %d): %w", w.QB, w.TB, err)
				}
				countScored(ctx, 1, int64(len(c.Values)), int64(len(c.Values)-scored))
				emit(c)
				continue
			}
			qi, ti := seq(len(qinfo)), seq(len(tinfo))
			if f.Config.Prune {
				qi, ti = p.Candidates(w, f.scorer, f.mode, float64(f.Config.Threshold))
			}
			// --exists update: only the pairs of new or changed neurons.
			qi, ti = l.Delta.restrict(w, p.BlockSize, qi, ti, len(qinfo), len(tinfo))
			if f.Config.Prune || l.Delta != nil {
				if len(qi) == 0 || len(ti) == 0 {
					n := int64(len(qinfo) * len(tinfo))
					itemsSkipped.Inc(ctx, 1)
					pairsSkipped.Inc(ctx, n)
					Progress.Skipped.Add(1)
					Progress.SkippedPairs.Add(n)
					Progress.Items.Add(1)
					continue
				}
			}
			var err error
			if qblocks[a] == nil {
				if qblocks[a], err = f.block(ctx, "q", qb, qinfo); err != nil {
					return err
				}
			}
			if tblock == nil {
				if tblock, err = f.block(ctx, "t", w.TB, tinfo); err != nil {
					return err
				}
			}
			c := scores.Chunk{QB: qb, TB: w.TB, Rows: len(qinfo), Cols: len(tinfo), Queries: infoIDs(qinfo), Targets: infoIDs(tinfo)}
			if c.Pruned, err = f.scoreItem(qblocks[a], tblock, qinfo, tinfo, qi, ti, &c); err != nil {
				f.release("t", w.TB)
				return fmt.Errorf("work item (query block %d, target block %d): %w", w.QB, w.TB, err)
			}
			countScored(ctx, 1, int64(len(c.Values)), int64(c.Pruned))
			if rows == nil {
				emit(c)
				continue
			}
			rows[a].add(c, w.TB*p.BlockSize, float64(f.Config.Threshold))
		}
		if tblock != nil {
			f.release("t", int(tb))
		}
	}
	for _, r := range rows {
		emit(r.chunk())
	}
	return nil
}

// tileTargets returns the target blocks of a tile's query blocks,
// ascending, and for each the tile positions of the query blocks that
// visit it, ascending.
func tileTargets(tile []QueryWork) ([]int32, map[int32][]int) {
	visits := map[int32][]int{}
	for a, w := range tile {
		for _, tb := range w.TBs {
			visits[tb] = append(visits[tb], a)
		}
	}
	tbs := make([]int32, 0, len(visits))
	for tb := range visits {
		tbs = append(tbs, tb)
	}
	slices.Sort(tbs)
	return tbs, visits
}

// spread puts a tile's target blocks in an order of their own (a hash of
// the block and seed) rather than ascending: the target blocks near the
// tile, whose work items cost the most, and the far ones, mostly pruned,
// then come mixed, so that the progress line's rate and projection are
// right from the start rather than drifting as the tile nears its own
// blocks. Each is still loaded once per tile.
func spread(tbs []int32, seed int) {
	key := func(tb int32) uint64 {
		z := uint64(tb)<<32 ^ uint64(seed) + 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	slices.SortFunc(tbs, func(a, b int32) int { return cmp.Compare(key(a), key(b)) })
}

// rowBuilder gathers one query block's row Chunk (ScoreConfig.Row) from
// its work items' chunks, keeping only the columns (targets) where some
// query scores at or above the threshold: the others hold scores the
// sparse and top-k outputs drop, so the rows they write are the same, and
// a row holds a few thousand columns where the targets number 10^5. (Row
// outputs take Values only: scores=both writes Zarr.)
type rowBuilder struct {
	c    scores.Chunk
	cols []rowColumn
}

// rowColumn is a kept column: its position among all targets, its target
// and its Rows values.
type rowColumn struct {
	at     int
	target scoring.ID
	vals   []float64
}

// add takes the columns of chunk c, whose first column is target at.
func (r *rowBuilder) add(c scores.Chunk, at int, threshold float64) {
	r.c.Pruned += c.Pruned
	for j := range c.Cols {
		keep := false
		for i := range c.Rows {
			if c.Values[i*c.Cols+j] >= threshold {
				keep = true
				break
			}
		}
		if !keep {
			continue
		}
		v := make([]float64, c.Rows)
		for i := range v {
			v[i] = c.Values[i*c.Cols+j]
		}
		r.cols = append(r.cols, rowColumn{at + j, c.Targets[j], v})
	}
}

// chunk returns the row, row-major, its columns in target order.
func (r *rowBuilder) chunk() scores.Chunk {
	slices.SortFunc(r.cols, func(a, b rowColumn) int { return cmp.Compare(a.at, b.at) })
	c := r.c
	c.Cols = len(r.cols)
	c.Values = make([]float64, c.Rows*c.Cols)
	c.Targets = make([]scoring.ID, c.Cols)
	for j, col := range r.cols {
		c.Targets[j] = col.target
		for i, v := range col.vals {
			c.Values[i*c.Cols+j] = v
		}
	}
	return c
}

// knn reports whether the worker scores an exact k-nearest-neighbour
// graph (ScoreConfig.TopK).
func (f *scoreFn) knn() bool {
	return f.Config.TopK > 0 && f.Config.Row && f.Config.Prune && f.mode != scoring.Both
}

// knnTile scores a tile's query blocks for the k-nearest-neighbour graph
// (knnRow, which counts the work items done as it goes) and emits one
// single-row Chunk per query with the pairs it scored.
func (f *scoreFn) knnTile(ctx context.Context, l *loadedLayout, tile []QueryWork, emit func(scores.Chunk)) error {
	p := l.Plan
	qblocks := make([]*preparedBlock, len(tile))
	defer func() {
		for a, b := range qblocks {
			if b != nil {
				f.release("q", tile[a].QB)
			}
		}
	}()
	for a, w := range tile {
		var err error
		if qblocks[a], err = f.block(ctx, "q", w.QB, p.QueryBlock(w.QB)); err != nil {
			return err
		}
	}
	qs, err := f.knnRow(ctx, l, tile, qblocks)
	if err != nil {
		return fmt.Errorf("query blocks %d-%d: %w", tile[0].QB, tile[len(tile)-1].QB, err)
	}
	targets := make([]int, len(tile)) // the targets each query of block a is paired with
	for a, w := range tile {
		for _, tb := range w.TBs {
			targets[a] += len(p.TargetBlock(int(tb)))
		}
	}
	for _, q := range qs {
		ids := make([]scoring.ID, len(q.cols))
		for a, col := range q.cols {
			ids[a] = l.targetIDs[col]
		}
		emit(scores.Chunk{QB: tile[q.blk].QB, TB: -1, Rows: 1, Cols: len(q.cols), Queries: []scoring.ID{q.info.ID}, Targets: ids,
			Values: q.vals, Pruned: targets[q.blk] - len(q.cols)})
	}
	return nil
}

// countScored counts items work items scored, with pairs pairs of which
// pruned were not computed, in the Beam counters and the local Progress.
func countScored(ctx context.Context, items, pairs, pruned int64) {
	itemsDone.Inc(ctx, items)
	pairsScored.Inc(ctx, pairs)
	pairsPruned.Inc(ctx, pruned)
	Progress.Items.Add(items)
	Progress.Pairs.Add(pairs)
	Progress.Pruned.Add(pruned)
}

// countSearched counts n pairs of the k-NN search the kernel searched
// (scoring.Scorer.PairAtLeast's searched).
func countSearched(ctx context.Context, n int64) {
	pairsSearched.Inc(ctx, n)
	Progress.Searched.Add(n)
}

// place copies chunk c (values, reverse scores and mask, where present)
// into row r (a Chunk spanning every target) from column at on.
func place(r *scores.Chunk, c scores.Chunk, at int) {
	for i := range c.Rows {
		copy(r.Values[i*r.Cols+at:], c.Values[i*c.Cols:(i+1)*c.Cols])
		if c.Reverse != nil {
			copy(r.Reverse[i*r.Cols+at:], c.Reverse[i*c.Cols:(i+1)*c.Cols])
		}
		if c.Mask != nil {
			copy(r.Mask[i*r.Cols+at:], c.Mask[i*c.Cols:(i+1)*c.Cols])
		}
	}
}

// block returns a staged block of side ("q" or "t"), checked against the
// plan's neurons for it.
func (f *scoreFn) block(ctx context.Context, side string, b int, info []dotprops.NeuronInfo) (*preparedBlock, error) {
	pb, err := blocks.get(ctx, f.Staging.BlockPath(side, b))
	if err != nil {
		return nil, err
	}
	if pb.Len() != len(info) {
		f.release(side, b)
		return nil, fmt.Errorf("%s holds %d neurons, the plan %d: the staging files are not this run's (rerun with --exists overwrite)", pb.path, pb.Len(), len(info))
	}
	return pb, nil
}

// release unpins a block that block returned.
func (f *scoreFn) release(side string, b int) { blocks.release(f.Staging.BlockPath(side, b)) }

// scoreItem fills c.Values (and c.Reverse for scores=both) for one work
// item and returns the pairs not scored. Only the pairs of the queries qi
// and targets ti (positions in the blocks; Plan.Candidates with pruning)
// are prepared and scored; the other pairs hold NaN, as pairs the kernel
// prunes do: their scores are below the threshold (ExtentBound is a bound
// on the score), so no output keeps them.
func (f *scoreFn) scoreItem(qb, tb *preparedBlock, qinfo, tinfo []dotprops.NeuronInfo, qi, ti []int, c *scores.Chunk) (int, error) {
	qs, err := neuronsAt(qb, qi, qinfo)
	if err != nil {
		return 0, err
	}
	ts, err := neuronsAt(tb, ti, tinfo)
	if err != nil {
		return 0, err
	}
	full := len(qi) == len(qinfo) && len(ti) == len(tinfo)
	vals := make([]float64, len(qi)*len(ti))
	var rev []float64
	if f.mode == scoring.Both {
		rev = make([]float64, len(vals))
	}
	pruned := 0
	if len(vals) > 0 {
		if pruned, err = scoring.ScoreBlock(f.scorer, f.mode, qs, ts, vals, rev); err != nil {
			return 0, err
		}
	}
	if full {
		c.Values, c.Reverse = vals, rev
		return pruned, nil
	}
	c.Values = nanSlice(c.Rows * c.Cols)
	if rev != nil {
		c.Reverse = nanSlice(len(c.Values))
	}
	for a, i := range qi {
		for b, j := range ti {
			c.Values[i*c.Cols+j] = vals[a*len(ti)+b]
			if rev != nil {
				c.Reverse[i*c.Cols+j] = rev[a*len(ti)+b]
			}
		}
	}
	return pruned + c.Rows*c.Cols - len(vals), nil
}

// neuronsAt prepares the block's neurons at positions at, checking each
// against the plan's id.
func neuronsAt(b *preparedBlock, at []int, info []dotprops.NeuronInfo) ([]*scoring.Neuron, error) {
	ns := make([]*scoring.Neuron, len(at))
	for k, i := range at {
		n, err := b.Neuron(i)
		if err != nil {
			return nil, err
		}
		if n.ID != info[i].ID {
			return nil, fmt.Errorf("%s holds neuron %s at position %d, the plan %s: the staging files are not this run's (rerun with --exists overwrite)", b.path, n.ID, i, info[i].ID)
		}
		ns[k] = n
	}
	return ns, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func nanSlice(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func infoIDs(ns []dotprops.NeuronInfo) []scoring.ID {
	ids := make([]scoring.ID, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}
