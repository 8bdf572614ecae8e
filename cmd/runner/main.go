// Command runner runs NBLAST as an Apache Beam pipeline: dotprops Parquet
// in, a Zarr score matrix out. See README.md for the flags.
//
//	runner --queries Q [--targets T] --out OUT [flags]   score (targets omitted: all-by-all)
//	runner inspect --out OUT [--id ID] [--k 10]          summarise a result, top hits of a neuron
//	runner synth --n 10000 --out neurons.parquet [--seed S]   write a synthetic brain
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/transforms"
)

func main() {
	if len(os.Args) > 1 {
		sub := map[string]func([]string) error{
			"inspect": func(args []string) error { return inspect(context.Background(), args) },
			"synth":   synthMain,
		}[os.Args[1]]
		if sub != nil {
			if err := sub(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "runner %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}
	o := pipeline.Defaults()
	flag.StringVar(&o.Queries, "queries", "", "query dotprops: a Parquet file, glob or directory (navis layout; local or gs://)")
	flag.StringVar(&o.Targets, "targets", "", "target dotprops, as --queries; omitted: all-by-all of the queries (diagonal = 1, as navis.nblast_allbyall)")
	flag.StringVar(&o.Out, "out", "", "output directory or gs://bucket/prefix; the scores are the Zarr array OUT/scores")
	flag.StringVar(&o.Scores, "scores", o.Scores, "forward, mean, min, max, or both (writes OUT/scores and OUT/scores_reverse)")
	flag.BoolVar(&o.Normalized, "normalized", o.Normalized, "divide each score by the query's self-hit (--normalized=false for raw scores)")
	flag.BoolVar(&o.UseAlpha, "use_alpha", false, "weight |dot| by sqrt(alpha_q*alpha_t) and use the alpha FCWB matrix")
	flag.StringVar(&o.Smat, "smat", o.Smat, "scoring matrix: fcwb (built in) or the path of a CSV in navis' layout")
	flag.StringVar(&o.MaxDist, "max_dist", "", "bound the nearest-neighbour search: a distance in µm, or auto (last distance edge × 1.05 = 42 for FCWB); default exact")
	flag.StringVar(&o.DType, "dtype", o.DType, "float32, float16 or float64")
	flag.IntVar(&o.BlockSize, "block_size", 0, "neurons per block (= Zarr chunk side); 0 chooses from the input size")
	flag.StringVar(&o.Exists, "exists", o.Exists, "if OUT holds a result: fail, overwrite, or resume (score only the missing chunks or parts)")
	flag.StringVar(&o.Sink, "sink", o.Sink, "zarr (dense matrix OUT/scores), sparse (Parquet triplets query,target,score >= --threshold in OUT/), or topk (only OUT/topk/)")
	flag.Float64Var(&o.Threshold, "threshold", 0, "sparse and top-k keep scores >= this (for mean/min/max: the combined score); -Inf keeps all")
	flag.IntVar(&o.TopK, "topk", 0, "also write the K best targets per query (query, rank, target, score) to OUT/topk/; ties: smaller target id first")
	flag.BoolVar(&o.Prune, "prune", o.Prune, "with sparse/top-k output, skip pairs and work items whose upper bound is below --threshold (exact: same output)")
	flag.Usage = usage
	flag.Parse()
	// Started with --worker=true (by Beam's boot loader on a Flink or
	// Dataflow worker, or a prism PROCESS/EXTERNAL environment), beam.Init
	// runs the SDK harness and exits: nothing above may need the job's
	// flags (the options reach workers in the DoFns), nothing below runs on
	// workers.
	beam.Init()
	// Prism in this process logs every job step at INFO: keep warnings and
	// errors. A remote runner's INFO lines (job id, console URL, job state)
	// are what a user follows, so they stay.
	level := slog.LevelInfo
	if isLocal() {
		level = slog.LevelWarn
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if f := flag.Lookup("dry_run"); f != nil && f.Value.String() == "true" {
		if r := *runners.Runner; r != "dataflow" && r != "DataflowRunner" {
			fmt.Fprintf(os.Stderr, "runner: --dry_run only applies to --runner=dataflow (got %q)\n", r)
			os.Exit(2)
		}
		// Dataflow's dry run logs the model pipeline and the job JSON at
		// INFO through Beam's log package: write those verbatim.
		o.DryRun = true
		beamlog.SetLogger(verbatimLog{})
	}

	ctx := context.Background()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

// verbatimLog writes Beam log messages at INFO and above to stderr as
// they are (no quoting), one after the other.
type verbatimLog struct{}

func (verbatimLog) Log(_ context.Context, sev beamlog.Severity, _ int, msg string) {
	if sev != beamlog.SevDebug {
		fmt.Fprintln(os.Stderr, strings.TrimRight(msg, "\n"))
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage: runner --queries Q [--targets T] --out OUT [flags]
       runner inspect --out OUT [--id ID] [--k 10]
       runner synth --n 10000 --out neurons.parquet [--seed S]

NBLAST every query neuron against every target neuron (navis semantics) as an
Apache Beam pipeline. Local runs use prism on all cores; --runner=direct,
flink, dataflow or universal run elsewhere (see README).

Flags:
`)
	flag.PrintDefaults()
}

func run(ctx context.Context, o pipeline.Options) error {
	start := time.Now()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		return err
	}
	maxC, meanC := job.Plan.CostSpread(job.Options.Scores != "forward")
	fmt.Fprintf(os.Stderr, "plan: %d queries × %d targets, block size %d, %d work items (%d to score, %d already done, %d skipped by pruning); predicted cost per work item max/mean = %.2f\n",
		len(job.Plan.Queries), len(job.Plan.Targets), job.Plan.BlockSize, job.Total, len(job.Items), job.Done, job.Skipped, maxC/meanC)
	stop := progress(job)
	res, err := beamx.RunWithMetrics(ctx, job.Pipeline)
	stop()
	if err != nil {
		return fmt.Errorf("pipeline failed (the output is not marked complete; rerun with --exists resume): %w", err)
	}
	switch {
	case o.DryRun:
		fmt.Fprintf(os.Stderr, "dry run: the Dataflow job above was not submitted; nothing was read from or written to %s\n", o.Out)
		return nil
	case *jobopts.Async:
		fmt.Fprintf(os.Stderr, "submitted (--async): the job goes on without this process; %s is complete when its metadata says so; remove %s afterwards\n", o.Out, job.Staging.Dir)
		return nil
	}
	if err := job.Cleanup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "warning: could not remove the staging area:", err)
	}
	pairs := len(job.Plan.Queries) * len(job.Plan.Targets)
	el := time.Since(start)
	// The workers' counters, from the runner: the same numbers whether the
	// workers ran in this process (prism, direct) or elsewhere.
	c, ok := scoreCounters(res)
	if ok {
		fmt.Fprintf(os.Stderr, "scored: %d work items, %d pairs (Beam counters nblast/work_items_scored, nblast/pairs_scored)\n", c.items, c.pairs)
	}
	fmt.Fprintf(os.Stderr, "done: %d pairs in %s (%.0f pairs/s); result in %s\n", pairs, el.Round(time.Millisecond), float64(pairs)/el.Seconds(), job.Options.Out)
	if job.Options.Pruning() {
		skippedPairs := 0
		for _, w := range job.SkippedItems() {
			skippedPairs += len(job.Plan.QueryBlock(w.QB)) * len(job.Plan.TargetBlock(w.TB))
		}
		inItems := "unknown (the runner reported no metrics)"
		if ok {
			inItems = fmt.Sprint(c.pruned)
		}
		fmt.Fprintf(os.Stderr, "pruning: %d of %d work items skipped (%d pairs), %s pairs pruned inside scored items; %.1f%% of pairs not scored\n",
			job.Skipped, job.Total, skippedPairs, inItems, 100*float64(int64(skippedPairs)+c.pruned)/float64(pairs))
	}
	return nil
}

type counts struct{ items, pairs, pruned int64 }

// scoreCounters sums the counters of transforms/score.go over the job's
// steps; ok is false when the runner returned no result.
func scoreCounters(res beam.PipelineResult) (c counts, ok bool) {
	if res == nil {
		return c, false
	}
	qr := res.Metrics().Query(func(r beam.MetricResult) bool { return r.Namespace() == "nblast" })
	for _, m := range qr.Counters() {
		switch m.Name() {
		case "work_items_scored":
			c.items += m.Result()
		case "pairs_scored":
			c.pairs += m.Result()
		case "pairs_pruned":
			c.pruned += m.Result()
		}
	}
	return c, true
}

// progress prints work items done, pairs/s and an ETA on stderr once a
// second for local runs, whose workers share this process. Remote runs
// report the Beam counters nblast/work_items_scored and nblast/pairs_scored.
func progress(job *pipeline.Job) (stop func()) {
	if !isLocal() {
		return func() {}
	}
	total := len(job.Items)
	var pairs int64
	for _, w := range job.Items {
		pairs += int64(len(job.Plan.QueryBlock(w.QB)) * len(job.Plan.TargetBlock(w.TB)))
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(os.Stderr)
				return
			case <-tick.C:
				items, p := transforms.Progress.Items.Load(), transforms.Progress.Pairs.Load()
				rate := float64(p) / time.Since(t0).Seconds()
				eta := "?"
				if rate > 0 {
					eta = time.Duration(float64(pairs-p) / rate * float64(time.Second)).Round(time.Second).String()
				}
				fmt.Fprintf(os.Stderr, "\rwork items %d/%d, %.0f pairs/s, ETA %s   ", items, total, rate, eta)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// isLocal reports whether the job runs in this process (prism, the
// default, or the direct runner).
func isLocal() bool {
	r := *runners.Runner
	return r == "" || r == "prism" || r == "direct"
}
