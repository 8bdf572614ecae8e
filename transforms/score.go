package transforms

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x0[[]byte, func(*string) bool, func(WorkItem)](&itemsFn{})
	register.DoFn2x2[context.Context, WorkItem, Chunk, error](&scoreFn{})
	register.Emitter1[WorkItem]()
	register.Iter1[string]()
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
		Prune: c.Prune, Threshold: c.Threshold})
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

// WorkItems emits items once the staged blocks are complete (the staged
// collection is a side input, so no item is scored before every block is
// written).
func WorkItems(s beam.Scope, items []WorkItem, staged beam.PCollection) beam.PCollection {
	s = s.Scope("WorkItems")
	return beam.ParDo(s, &itemsFn{Items: items}, beam.Impulse(s), beam.SideInput{Input: staged})
}

type itemsFn struct {
	Items []WorkItem
}

func (f *itemsFn) ProcessElement(_ []byte, staged func(*string) bool, emit func(WorkItem)) {
	var path string
	for staged(&path) {
	}
	for _, w := range f.Items {
		emit(w)
	}
}

// Progress counts finished work for the progress line of local runs (the
// workers of prism and the direct runner share the launcher's process).
var Progress struct {
	Items, Pairs, Pruned atomic.Int64
}

var (
	itemsDone   = beam.NewCounter("nblast", "work_items_scored")
	pairsScored = beam.NewCounter("nblast", "pairs_scored")
	pairsPruned = beam.NewCounter("nblast", "pairs_pruned")
)

// Score spreads the work items over the workers (Reshuffle) and scores each
// into a Chunk.
func Score(s beam.Scope, items beam.PCollection, st Staging, cfg ScoreConfig) beam.PCollection {
	s = s.Scope("Score")
	return beam.ParDo(s, &scoreFn{Staging: st, Config: cfg}, beam.Reshuffle(s, items))
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
	return err
}

func (f *scoreFn) ProcessElement(ctx context.Context, w WorkItem) (Chunk, error) {
	qs, err := blocks.get(ctx, f.Staging.BlockPath("q", w.QB))
	if err != nil {
		return Chunk{}, err
	}
	ts, err := blocks.get(ctx, f.Staging.BlockPath("t", w.TB))
	if err != nil {
		return Chunk{}, err
	}
	c := Chunk{QB: w.QB, TB: w.TB, Rows: len(qs), Cols: len(ts), Values: make([]float64, len(qs)*len(ts)),
		Queries: neuronIDs(qs), Targets: neuronIDs(ts)}
	if f.mode == scoring.Both {
		c.Reverse = make([]float64, len(c.Values))
	}
	if c.Pruned, err = scoring.ScoreBlock(f.scorer, f.mode, qs, ts, c.Values, c.Reverse); err != nil {
		return Chunk{}, fmt.Errorf("work item (query block %d, target block %d): %w", w.QB, w.TB, err)
	}
	pairsPruned.Inc(ctx, int64(c.Pruned))
	Progress.Pruned.Add(int64(c.Pruned))
	itemsDone.Inc(ctx, 1)
	pairsScored.Inc(ctx, int64(len(c.Values)))
	Progress.Items.Add(1)
	Progress.Pairs.Add(int64(len(c.Values)))
	return c, nil
}

func neuronIDs(ns []*scoring.Neuron) []scoring.ID {
	ids := make([]scoring.ID, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}
