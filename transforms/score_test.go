package transforms

import (
	"context"
	"math"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

// line is a neuron of n points along x from x0, 1 µm apart.
func line(id int64, x0 float64, n int) *scoring.Dotprops {
	d := &scoring.Dotprops{ID: scoring.IntID(id)}
	for k := range n {
		d.Points = append(d.Points, [3]float64{x0 + float64(k), float64(id % 3), 0})
		d.Vectors = append(d.Vectors, [3]float64{1, 0, 0})
	}
	return d
}

func infoOf(dps []*scoring.Dotprops) []dotprops.NeuronInfo {
	out := make([]dotprops.NeuronInfo, len(dps))
	for i, d := range dps {
		n := dotprops.NeuronInfo{ID: d.ID, Points: d.Len(), Min: d.Points[0], Max: d.Points[0]}
		for _, p := range d.Points {
			for k := range 3 {
				n.Min[k], n.Max[k] = min(n.Min[k], p[k]), max(n.Max[k], p[k])
			}
		}
		out[i] = n
	}
	return out
}

// With pruning, a work item prepares and scores only the neurons of pairs
// whose extents may reach the threshold; every pair it scores equals the
// kernel's score, and every pair it leaves (NaN) scores below the threshold.
func TestScoreItemPreparesOnlyNeededNeurons(t *testing.T) {
	mk := func() ([]*scoring.Dotprops, []*scoring.Dotprops) {
		// Queries 0-1 and targets 10-11 lie together; query 2 and target
		// 12 lie 1 mm from everything.
		return []*scoring.Dotprops{line(0, 0, 20), line(1, 2, 15), line(2, 1000, 20)},
			[]*scoring.Dotprops{line(10, 1, 20), line(11, 3, 12), line(12, -1000, 20)}
	}
	for _, mode := range []string{"forward", "mean", "both"} {
		t.Run(mode, func(t *testing.T) {
			qd, td := mk()
			qinfo, tinfo := infoOf(qd), infoOf(td)
			cfg := ScoreConfig{Mode: mode, Normalized: true, Prune: true, Threshold: 0.1}
			f := &scoreFn{Config: cfg}
			if err := f.Setup(context.Background()); err != nil {
				t.Fatal(err)
			}
			qb, tb := newPreparedBlock("q", qd), newPreparedBlock("t", td)
			c := scores.Chunk{Rows: 3, Cols: 3}
			p := Plan{Queries: qinfo, Targets: tinfo, BlockSize: 3}
			qi, ti := p.Candidates(WorkItem{}, f.scorer, f.mode, float64(cfg.Threshold))
			pruned, err := f.scoreItem(qb, tb, qinfo, tinfo, qi, ti, &c)
			if err != nil {
				t.Fatal(err)
			}
			if qb.ns[2] != nil || tb.ns[2] != nil {
				t.Errorf("the far neurons were prepared")
			}
			if pruned < 5 {
				t.Errorf("pruned %d pairs, want at least the 5 with a far neuron", pruned)
			}
			// Every pair, scored directly.
			q2, t2 := mk()
			var qs, ts []*scoring.Neuron
			for _, d := range q2 {
				n, _ := scoring.NewNeuron(d)
				qs = append(qs, n)
			}
			for _, d := range t2 {
				n, _ := scoring.NewNeuron(d)
				ts = append(ts, n)
			}
			all := ScoreConfig{Mode: mode, Normalized: true}
			s, m, err := all.Scorer(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, 9)
			var wrev []float64
			if mode == "both" {
				wrev = make([]float64, 9)
			}
			if _, err := scoring.ScoreBlock(s, m, qs, ts, want, wrev); err != nil {
				t.Fatal(err)
			}
			for k, v := range c.Values {
				i, j := k/3, k%3
				far := i == 2 || j == 2
				switch {
				case far && !math.IsNaN(v):
					t.Errorf("pair (%d,%d) with a far neuron: %v, want NaN", i, j, v)
				case far && want[k] >= float64(cfg.Threshold):
					t.Errorf("pair (%d,%d) left out but scores %v", i, j, want[k])
				case !far && !math.IsNaN(v) && v != want[k]:
					t.Errorf("pair (%d,%d): %v, want %v", i, j, v, want[k])
				case mode == "both" && !far && !math.IsNaN(c.Reverse[k]) && c.Reverse[k] != wrev[k]:
					t.Errorf("pair (%d,%d) reverse: %v, want %v", i, j, c.Reverse[k], wrev[k])
				}
			}
			if !(c.Values[0] >= float64(cfg.Threshold)) {
				t.Errorf("overlapping pair (0,0): %v, want a score above the threshold", c.Values[0])
			}
		})
	}
}
