package pipeline_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/transforms"
)

// benchNeurons makes n neurons from shifted, renamed copies of the shipped
// golden set, so the benchmark needs nothing outside the project.
func benchNeurons(b *testing.B, n int) []*scoring.Dotprops {
	b.Helper()
	golden, err := dotprops.ReadDotpropsFile(context.Background(), "../testdata/golden_synthetic.dotprops.parquet", dotprops.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([]*scoring.Dotprops, n)
	for i := range out {
		src := golden[i%len(golden)]
		shift := [3]float64{rng.NormFloat64() * 20, rng.NormFloat64() * 20, rng.NormFloat64() * 20}
		d := &scoring.Dotprops{ID: scoring.IntID(int64(i + 1)), Vectors: src.Vectors, Alpha: src.Alpha}
		for _, p := range src.Points {
			d.Points = append(d.Points, [3]float64{p[0] + shift[0], p[1] + shift[1], p[2] + shift[2]})
		}
		out[i] = d
	}
	return out
}

// BenchmarkPipelineAllByAll runs a 170-neuron all-by-all (28,900 pairs)
// through the whole pipeline on prism and reports its pairs/s beside the
// kernel's own pairs/s on the same neurons and cores, and their ratio (the
// pipeline overhead).
func BenchmarkPipelineAllByAll(b *testing.B) {
	dps := benchNeurons(b, 170)
	dir := b.TempDir()
	in := writeDotprops(b, filepath.Join(dir, "neurons.parquet"), dps)
	pairs := float64(len(dps) * len(dps))
	var err error

	// The kernel alone: build every neuron, score the whole matrix.
	t0 := time.Now()
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			b.Fatal(err)
		}
	}
	s, _ := scoring.NewScorer(scoring.Options{Normalized: true, AllByAll: true})
	out := make([]float32, len(ns)*len(ns))
	if _, err := scoring.ScoreBlock(s, scoring.Forward, ns, ns, out, nil); err != nil {
		b.Fatal(err)
	}
	kernel := pairs / time.Since(t0).Seconds()

	ctx := context.Background()
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Exists = in, filepath.Join(dir, "out"), "overwrite"
	b.ResetTimer()
	for b.Loop() {
		job, err := pipeline.Prepare(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := beam.Run(ctx, "prism", job.Pipeline); err != nil {
			b.Fatal(err)
		}
	}
	perSec := pairs * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "pairs/s")
	b.ReportMetric(kernel, "kernel_pairs/s")
	b.ReportMetric(kernel/perSec, "overhead_ratio")
}

// benchSparseSynth runs a sparse all-by-all (threshold 0, pruning on) of n
// synthetic neurons (runner synth, seed 1) through the pipeline on prism,
// and reports the wall time, pairs/s, the fraction of pairs pruned, and the
// speed-up over the same run without pruning. The unpruned time is
// estimated, not run: the kernel scores a random sample of 8 work items
// without pruning and that rate is extrapolated to all pairs (kernel only,
// so the estimate and the speed-up are on the low side).
func benchSparseSynth(b *testing.B, n int) {
	dps := synth.Generate(n, 1)
	dir := b.TempDir()
	in := writeDotprops(b, filepath.Join(dir, "synth.parquet"), dps)
	ctx := context.Background()
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Sink, o.Exists = in, filepath.Join(dir, "out"), "sparse", "overwrite"
	pairs := float64(n) * float64(n)
	var job *pipeline.Job
	var err error
	b.ResetTimer()
	for b.Loop() {
		transforms.Progress.Pruned.Store(0)
		if job, err = pipeline.Prepare(ctx, o); err != nil {
			b.Fatal(err)
		}
		if _, err := beam.Run(ctx, "prism", job.Pipeline); err != nil {
			b.Fatal(err)
		}
	}
	wall := b.Elapsed().Seconds() / float64(b.N)
	b.StopTimer()
	skipped := 0
	for _, w := range job.SkippedItems() {
		skipped += len(job.Plan.QueryBlock(w.QB)) * len(job.Plan.TargetBlock(w.TB))
	}
	pruned := (float64(skipped) + float64(transforms.Progress.Pruned.Load())) / pairs

	// Unpruned: the kernel on a random sample of work items, extrapolated.
	byID := map[scoring.ID]*scoring.Dotprops{}
	for _, d := range dps {
		byID[d.ID] = d
	}
	neurons := func(infos []dotprops.NeuronInfo) []*scoring.Neuron {
		out := make([]*scoring.Neuron, len(infos))
		for i, x := range infos {
			if out[i], err = scoring.NewNeuron(byID[x.ID]); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	s, _ := scoring.NewScorer(scoring.Options{Normalized: true, AllByAll: true})
	items := job.Plan.WorkItems()
	rng := rand.New(rand.NewPCG(7, 8))
	var sampled float64
	var took time.Duration
	for range 8 {
		w := items[rng.IntN(len(items))]
		qs, ts := neurons(job.Plan.QueryBlock(w.QB)), neurons(job.Plan.TargetBlock(w.TB))
		out := make([]float64, len(qs)*len(ts))
		t0 := time.Now()
		if _, err := scoring.ScoreBlock(s, scoring.Forward, qs, ts, out, nil); err != nil {
			b.Fatal(err)
		}
		took += time.Since(t0)
		sampled += float64(len(out))
	}
	unpruned := took.Seconds() / sampled * pairs
	b.ReportMetric(wall, "wall_s")
	b.ReportMetric(pairs/wall, "pairs/s")
	b.ReportMetric(100*pruned, "%pruned")
	b.ReportMetric(unpruned, "unpruned_est_s")
	b.ReportMetric(unpruned/wall, "speedup")
}

// BenchmarkSparseSynth2000 is a sparse all-by-all of 2,000 synthetic neurons.
func BenchmarkSparseSynth2000(b *testing.B) { benchSparseSynth(b, 2000) }

// BenchmarkSparseSynth10000 is a sparse all-by-all of 10,000 synthetic
// neurons (several minutes).
func BenchmarkSparseSynth10000(b *testing.B) { benchSparseSynth(b, 10000) }
