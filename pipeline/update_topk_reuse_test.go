package pipeline_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/scoring"
)

// TestUpdateTopKTiedReusedScores: an update of a top-k output reuses the
// earlier scores of the queries searched only against their earlier top k
// and the new targets, and scores again those whose stored (float32)
// value ties with another of the query's: with exact copies of neurons
// under other ids, a query's scores against a neuron and its copy are
// equal, so its ranking rests on the target ids alone. The update still
// gives a fresh run's output, byte for byte.
func TestUpdateTopKTiedReusedScores(t *testing.T) {
	all := synth.Generate(44, 11)
	old := slices.Clone(all[:40])
	for _, d := range all[:8] { // copies, under other ids
		c := cloneDotprops(d)
		c.ID = scoring.IntID(-d.ID.Int)
		old = append(old, c)
	}
	now := append(append([]*scoring.Dotprops{}, old...), all[40:]...) // 4 new neurons
	dir := t.TempDir()
	oldPath := writeDotprops(t, filepath.Join(dir, "old.parquet"), old)
	newPath := writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	for _, k := range []int{4, 12} {
		o := pipeline.Defaults()
		o.Sink, o.TopK, o.BlockSize = "topk", k, 8
		o.Threshold = -1
		fresh, upd := o, o
		fresh.Queries, fresh.Out = newPath, t.TempDir()
		runJob(t, "prism", fresh)
		upd.Queries, upd.Out = oldPath, t.TempDir()
		runJob(t, "prism", upd)
		upd.Queries, upd.Exists = newPath, "update"
		runJob(t, "prism", upd)
		sameTopKOutput(t, upd.Out, fresh.Out)
	}
}
