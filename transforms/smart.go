package transforms

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smart"
)

// SmartConfig is --smart as workers receive it (navis.nblast_smart): On
// pre-scores every pair on dotprops downsampled by 10, selects per query
// row the pairs to rescore by Criterion and T (smart.Select), scores
// those exactly and keeps the pre-score in the other cells; each Chunk
// carries Mask (true where the score is exact).
type SmartConfig struct {
	On        bool
	Criterion string  // percentile, score, N
	T         float64 // the criterion's threshold
}

var (
	smartRescored = beam.NewCounter("nblast", "smart_pairs_rescored")
	smartCells    = beam.NewCounter("nblast", "smart_pairs_prescored")
)

// SmartProgress counts, for local runs, the cells of the chunks emitted
// and how many of them were rescored exactly.
var SmartProgress struct{ Cells, Rescored atomic.Int64 }

// keepSmall makes prepared blocks keep each neuron's downsampled copy
// when its full dotprops are dropped (set once a --smart scorer is set up
// in this process): the pre-score of a later query block still needs it.
var keepSmall atomic.Bool

// smallNeurons are a block's neurons downsampled for the pre-score,
// prepared on first use.
type smallNeurons struct {
	downOnce []sync.Once
	down     []*scoring.Dotprops // downsampled dotprops, until prepared
	once     []sync.Once
	ns       []*scoring.Neuron
	errs     []error
}

func newSmallNeurons(n int) *smallNeurons {
	return &smallNeurons{downOnce: make([]sync.Once, n), down: make([]*scoring.Dotprops, n),
		once: make([]sync.Once, n), ns: make([]*scoring.Neuron, n), errs: make([]error, n)}
}

// keep is called with neuron i's full dotprops just before the block drops
// them: with keepSmall, the downsampled copy stays for Small.
func (s *smallNeurons) keep(i int, d *scoring.Dotprops) {
	s.downOnce[i].Do(func() {
		if keepSmall.Load() {
			s.down[i] = smart.Downsample(d, smart.Factor)
		}
	})
}

// Small returns the block's i-th neuron downsampled by smart.Factor
// (navis' Dotprops.downsample(10)), prepared.
func (b *preparedBlock) Small(i int) (*scoring.Neuron, error) {
	s := b.sm
	s.once[i].Do(func() {
		s.downOnce[i].Do(func() {
			if d := b.dps[i]; d != nil {
				s.down[i] = smart.Downsample(d, smart.Factor)
			}
		})
		d := s.down[i]
		if d == nil {
			s.errs[i] = fmt.Errorf("%s: neuron %d was prepared without its downsampled copy (internal error: keepSmall not set)", b.path, i)
			return
		}
		if s.ns[i], s.errs[i] = scoring.NewNeuron(d); s.errs[i] != nil {
			s.errs[i] = fmt.Errorf("%s: %w", b.path, s.errs[i])
		}
		s.down[i] = nil
	})
	return s.ns[i], s.errs[i]
}

// processSmart scores query block qb as nblast_smart does: pre-scores
// against every target block of the plan (the percentile needs the whole
// row), selects each row's pairs, rescores them and emits the chunks of
// the target blocks tbs (all of them on a fresh run; with cfg.Row one
// chunk spanning every target).
func (f *scoreFn) processSmart(ctx context.Context, l *loadedLayout, qb int, tbs []int32, emit func(scores.Chunk)) error {
	crit, err := smart.ParseCriterion(f.Config.Smart.Criterion)
	if err != nil {
		return err
	}
	p := l.Plan
	qinfo := p.QueryBlock(qb)
	nq, nt := len(qinfo), len(p.Targets)
	qblock, err := f.block(ctx, "q", qb, qinfo)
	if err != nil {
		return err
	}
	defer f.release("q", qb)
	qsmall, err := smallAt(qblock, qinfo)
	if err != nil {
		return err
	}
	// Pre-scores of the whole rows, row-major nq × nt in plan column order.
	// Target blocks are fetched from the block cache again for the
	// rescore rather than held, so that memory stays the cache's budget.
	pre := make([]float64, nq*nt)
	for tb := range p.TargetBlocks() {
		tinfo := p.TargetBlock(tb)
		tblock, err := f.block(ctx, "t", tb, tinfo)
		if err != nil {
			return err
		}
		ts, err := smallAt(tblock, tinfo)
		vals := make([]float64, nq*len(tinfo))
		if err == nil {
			_, err = scoring.ScoreBlock(f.scorer, f.mode, qsmall, ts, vals, nil)
		}
		f.release("t", tb)
		if err != nil {
			return fmt.Errorf("pre-score (query block %d, target block %d): %w", qb, tb, err)
		}
		at := tb * p.BlockSize
		for i := range nq {
			copy(pre[i*nt+at:], vals[i*len(tinfo):(i+1)*len(tinfo)])
		}
	}
	mask := make([]bool, nq*nt)
	for i := range nq {
		smart.Select(crit, f.Config.Smart.T, pre[i*nt:(i+1)*nt], mask[i*nt:(i+1)*nt])
	}
	var row scores.Chunk
	if f.Config.Row {
		row = scores.Chunk{QB: qb, TB: -1, Rows: nq, Cols: nt, Queries: infoIDs(qinfo), Targets: l.targetIDs,
			Values: nanSlice(nq * nt), Mask: make([]bool, nq*nt)}
	}
	var qfull []*scoring.Neuron // prepared on first need
	for _, tb32 := range tbs {
		tb := int(tb32)
		tinfo := p.TargetBlock(tb)
		at := tb * p.BlockSize
		c := scores.Chunk{QB: qb, TB: tb, Rows: nq, Cols: len(tinfo), Queries: infoIDs(qinfo), Targets: infoIDs(tinfo),
			Values: make([]float64, nq*len(tinfo)), Mask: make([]bool, nq*len(tinfo))}
		var pairs [][2]int32
		var tUsed []int
		tPos := map[int]int32{}
		for i := range nq {
			for j := range tinfo {
				k := i*len(tinfo) + j
				c.Values[k] = pre[i*nt+at+j]
				if c.Mask[k] = mask[i*nt+at+j]; c.Mask[k] {
					pj, ok := tPos[j]
					if !ok {
						pj = int32(len(tUsed))
						tPos[j] = pj
						tUsed = append(tUsed, j)
					}
					pairs = append(pairs, [2]int32{int32(i), pj})
				}
			}
		}
		if len(pairs) > 0 {
			if qfull == nil {
				if qfull, err = neuronsAt(qblock, seq(nq), qinfo); err != nil {
					return err
				}
			}
			tblock, err := f.block(ctx, "t", tb, tinfo)
			if err != nil {
				return err
			}
			ts, err := neuronsAt(tblock, tUsed, tinfo)
			exact := make([]float64, len(pairs))
			if err == nil {
				err = scoring.ScorePairs(f.scorer, f.mode, qfull, ts, pairs, exact)
			}
			f.release("t", tb)
			if err != nil {
				return fmt.Errorf("rescore (query block %d, target block %d): %w", qb, tb, err)
			}
			for k, pr := range pairs {
				c.Values[int(pr[0])*len(tinfo)+tUsed[pr[1]]] = exact[k]
			}
		}
		n := int64(len(c.Values))
		countScored(ctx, 1, n, 0)
		smartCells.Inc(ctx, n)
		smartRescored.Inc(ctx, int64(len(pairs)))
		SmartProgress.Cells.Add(n)
		SmartProgress.Rescored.Add(int64(len(pairs)))
		if !f.Config.Row {
			emit(c)
			continue
		}
		place(&row, c, at)
	}
	if f.Config.Row {
		emit(row)
	}
	return nil
}

// smallAt prepares every neuron of a block downsampled, checking each
// against the plan's id.
func smallAt(b *preparedBlock, info []dotprops.NeuronInfo) ([]*scoring.Neuron, error) {
	ns := make([]*scoring.Neuron, len(info))
	for i := range info {
		n, err := b.Small(i)
		if err != nil {
			return nil, err
		}
		if n.ID != info[i].ID {
			return nil, fmt.Errorf("%s holds neuron %s at position %d, the plan %s: the staging files are not this run's (rerun with --exists overwrite)", b.path, n.ID, i, info[i].ID)
		}
		ns[i] = n
	}
	return ns, nil
}
