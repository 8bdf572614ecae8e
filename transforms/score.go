package transforms

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int), error](&itemsFn{})
	register.Combiner3[[]string, string, int](&distinctPathsFn{})
	register.DoFn3x1[context.Context, int, func(Chunk), error](&scoreFn{})
	register.Emitter1[Chunk]()
	beam.RegisterType(reflect.TypeOf((*Chunk)(nil)).Elem())
}

// Chunk holds the scores of one work item: Rows × Cols values, row-major,
// in the plan's order. A pair skipped by pruning (its upper bound is below
// the threshold, so its score is too) holds NaN.
type Chunk struct {
	QB, TB     int
	Rows, Cols int
	Queries    []scoring.ID // the Rows query ids
	Targets    []scoring.ID // the Cols target ids
	Values     []float64    // forward scores, or the combined mean/min/max
	Reverse    []float64    // target→query scores; only for scores=both
	Mask       []bool       // --smart: true where Values is exact, not the pre-score
	Pruned     int          // pairs skipped by pruning
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
	// top-k outputs, which drop scores below Threshold, prune.
	Threshold float64
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
		Prune: c.Prune, Threshold: c.Threshold, Workers: cores.N()})
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
	b, err := files.ReadFile(ctx, c.Smat)
	if err != nil {
		return nil, fmt.Errorf("--smat: %w", err)
	}
	return scoring.ParseMatrixCSV(bytes.NewReader(b), c.Smat)
}

// WorkItems emits the query blocks of the layout's Todo (each the work
// element of one worker call, see Score) once the staged blocks are
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
	for _, w := range l.Todo {
		emit(w.QB)
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
	Skipped, SkippedPairs atomic.Int64
}

var (
	itemsDone    = beam.NewCounter("nblast", "work_items_scored")
	itemsSkipped = beam.NewCounter("nblast", "work_items_skipped")
	pairsScored  = beam.NewCounter("nblast", "pairs_scored")
	pairsPruned  = beam.NewCounter("nblast", "pairs_pruned")
	pairsSkipped = beam.NewCounter("nblast", "pairs_skipped")
)

// Score spreads the query blocks over the workers (Reshuffle) and scores
// each against its target blocks (the layout's Todo). With cfg.Row it
// emits one Chunk per query block spanning every target (TB = -1; the
// columns of target blocks not scored hold NaN); otherwise one Chunk per
// work item. With cfg.Prune, a work item whose neurons' extents show no
// pair can reach the threshold is skipped without loading its blocks.
func Score(s beam.Scope, qbs beam.PCollection, st Staging, cfg ScoreConfig) beam.PCollection {
	s = s.Scope("Score")
	return beam.ParDo(s, &scoreFn{Staging: st, Config: cfg}, beam.Reshuffle(s, qbs))
}

type scoreFn struct {
	Staging Staging
	Config  ScoreConfig

	scorer *scoring.Scorer
	mode   scoring.Mode
}

func (f *scoreFn) Setup(ctx context.Context) error {
	var err error
	f.scorer, f.mode, err = f.Config.Scorer(ctx)
	if f.Config.Smart.On {
		keepSmall.Store(true)
	}
	return err
}

func (f *scoreFn) ProcessElement(ctx context.Context, qb int, emit func(Chunk)) error {
	l, err := f.Staging.layout(ctx)
	if err != nil {
		return err
	}
	tbs, ok := l.todo[qb]
	if !ok {
		return fmt.Errorf("query block %d is not in the run's layout", qb)
	}
	if f.Config.Smart.On {
		return f.processSmart(ctx, l, qb, tbs, emit)
	}
	if f.knn() {
		return f.knnBlock(ctx, l, qb, tbs, emit)
	}
	p := l.Plan
	qinfo := p.QueryBlock(qb)
	var row Chunk
	if f.Config.Row {
		row = Chunk{QB: qb, TB: -1, Rows: len(qinfo), Cols: len(p.Targets), Targets: l.targetIDs,
			Values: nanSlice(len(qinfo) * len(p.Targets)), Queries: infoIDs(qinfo)}
		if f.mode == scoring.Both {
			row.Reverse = nanSlice(len(row.Values))
		}
	}
	var qblock *preparedBlock
	for _, tb := range tbs {
		w := WorkItem{QB: qb, TB: int(tb)}
		tinfo := p.TargetBlock(w.TB)
		qi, ti := seq(len(qinfo)), seq(len(tinfo))
		if f.Config.Prune {
			if qi, ti = p.Candidates(w, f.scorer, f.mode, f.Config.Threshold); len(qi) == 0 {
				n := int64(len(qinfo) * len(tinfo))
				itemsSkipped.Inc(ctx, 1)
				pairsSkipped.Inc(ctx, n)
				Progress.Skipped.Add(1)
				Progress.SkippedPairs.Add(n)
				Progress.Items.Add(1)
				continue
			}
		}
		if qblock == nil {
			if qblock, err = f.block(ctx, "q", qb, qinfo); err != nil {
				return err
			}
		}
		tblock, err := f.block(ctx, "t", w.TB, tinfo)
		if err != nil {
			return err
		}
		c := Chunk{QB: qb, TB: w.TB, Rows: len(qinfo), Cols: len(tinfo), Queries: infoIDs(qinfo), Targets: infoIDs(tinfo)}
		if c.Pruned, err = f.scoreItem(qblock, tblock, qinfo, tinfo, qi, ti, &c); err != nil {
			return fmt.Errorf("work item (query block %d, target block %d): %w", w.QB, w.TB, err)
		}
		countScored(ctx, 1, int64(len(c.Values)), int64(c.Pruned))
		if !f.Config.Row {
			emit(c)
			continue
		}
		row.Pruned += c.Pruned
		row.place(c, w.TB*p.BlockSize)
	}
	if f.Config.Row {
		emit(row)
	}
	return nil
}

// knn reports whether the worker scores an exact k-nearest-neighbour
// graph (ScoreConfig.TopK).
func (f *scoreFn) knn() bool {
	return f.Config.TopK > 0 && f.Config.Row && f.Config.Prune && f.mode != scoring.Both
}

// knnBlock scores query block qb for the k-nearest-neighbour graph
// (knnRow) and emits one single-row Chunk per query with the pairs it
// scored, counting the block's work items as done and the pairs it did
// not score as pruned.
func (f *scoreFn) knnBlock(ctx context.Context, l *loadedLayout, qb int, tbs []int32, emit func(Chunk)) error {
	p := l.Plan
	qinfo := p.QueryBlock(qb)
	qblock, err := f.block(ctx, "q", qb, qinfo)
	if err != nil {
		return err
	}
	qs, scored, err := f.knnRow(ctx, l, qb, tbs, qblock)
	if err != nil {
		return fmt.Errorf("query block %d: %w", qb, err)
	}
	var pairs int64
	for _, tb := range tbs {
		pairs += int64(len(qinfo) * len(p.TargetBlock(int(tb))))
	}
	countScored(ctx, int64(len(tbs)), pairs, pairs-scored)
	for _, q := range qs {
		targets := make([]scoring.ID, len(q.cols))
		for a, col := range q.cols {
			targets[a] = l.targetIDs[col]
		}
		emit(Chunk{QB: qb, TB: -1, Rows: 1, Cols: len(q.cols), Queries: []scoring.ID{q.info.ID}, Targets: targets,
			Values: q.vals, Pruned: int(pairs)/len(qinfo) - len(q.cols)})
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

// place copies chunk c (values, reverse scores and mask, where present)
// into row r (a Chunk spanning every target) from column at on.
func (r *Chunk) place(c Chunk, at int) {
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
func (f *scoreFn) block(ctx context.Context, side string, b int, info []NeuronInfo) (*preparedBlock, error) {
	pb, err := blocks.get(ctx, f.Staging.BlockPath(side, b))
	if err != nil {
		return nil, err
	}
	if pb.Len() != len(info) {
		return nil, fmt.Errorf("%s holds %d neurons, the plan %d: the staging files are not this run's (rerun with --exists overwrite)", pb.path, pb.Len(), len(info))
	}
	return pb, nil
}

// scoreItem fills c.Values (and c.Reverse for scores=both) for one work
// item and returns the pairs not scored. Only the pairs of the queries qi
// and targets ti (positions in the blocks; Plan.Candidates with pruning)
// are prepared and scored; the other pairs hold NaN, as pairs the kernel
// prunes do: their scores are below the threshold (ExtentBound is a bound
// on the score), so no output keeps them.
func (f *scoreFn) scoreItem(qb, tb *preparedBlock, qinfo, tinfo []NeuronInfo, qi, ti []int, c *Chunk) (int, error) {
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
func neuronsAt(b *preparedBlock, at []int, info []NeuronInfo) ([]*scoring.Neuron, error) {
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

func infoIDs(ns []NeuronInfo) []scoring.ID {
	ids := make([]scoring.ID, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}
