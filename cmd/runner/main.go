// Command runner runs NBLAST as an Apache Beam pipeline: dotprops Parquet
// in, a Zarr score matrix out. See README.md for the flags.
//
//	runner --queries Q [--targets T] --out OUT [flags]   score (targets omitted: all-by-all)
//	runner inspect --out OUT [--id ID] [--k 10] [--names META.csv]   summarise any result, top hits of a neuron
//	runner export --out OUT [--what sparse|topk|scores|scores_reverse] [--format csv|tsv] [--to FILE|-] [--allow_incomplete]
//	                                                     an output as CSV or TSV, for pandas without pyarrow
//	runner synth --n 10000 --out neurons.parquet [--seed S]   write a synthetic brain
//	runner smat --in neurons.parquet --matches groups.csv --out smat.csv [--pairs pairs.csv] [--use_alpha] [--seed S] ...
//	                                                     build a scoring matrix (navis' layout, for --smat)
//	runner dotprops --in IN --out neurons.parquet [--k 20] [--resample R] [--units U | --scale S]
//	                                                     dotprops from skeletons (SWC, node tables) or points
//	runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids a,b] [--self] [--to FILE.parquet|FILE.csv]
//	                                                     each query's best targets (navis' extract_matches)
//	runner report --out OUT [--to OUT/report.html]       a self-contained HTML report of a result
//	runner cluster --out OUT [--method hierarchical|graph] [--linkage ward|average|single|complete] [--n_clusters K | --height H] [--seed S] [--resolution R]
//	                                                     cluster the neurons (OUT/clusters/)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/internal/cputime"
	"github.com/nblast-go/nblast/internal/interrupt"
	"github.com/nblast-go/nblast/internal/memory"
	"github.com/nblast-go/nblast/internal/progress"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/transforms"
)

// commands are the runner's subcommands; anything else is a scoring run,
// which takes flags only.
var commands = map[string]func([]string) error{
	"inspect":  func(args []string) error { return inspect(context.Background(), args) },
	"export":   exportMain,
	"synth":    synthMain,
	"smat":     smatMain,
	"dotprops": dotpropsMain,
	"matches":  matchesMain,
	"report":   reportMain,
	"cluster":  clusterMain,
}

// addBeamFlags makes a command's flag set accept Beam's and its runners'
// flags (--runner, --project, ...; registered at init on the global flag
// set), which then set the same variables beamx reads, as for a scoring
// run. Names fs already has stay its own.
func addBeamFlags(fs *flag.FlagSet) {
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
}

func main() {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		sub := commands[os.Args[1]]
		if sub == nil {
			fmt.Fprintf(os.Stderr, "runner: %q is not a command: the commands are %s; a scoring run takes flags only (runner --queries Q --out OUT); see runner --help\n",
				os.Args[1], strings.Join(slices.Sorted(maps.Keys(commands)), ", "))
			os.Exit(2)
		}
		if err := sub(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "runner %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	o := pipeline.Defaults()
	flag.StringVar(&o.Queries, "queries", "", "query dotprops: a Parquet file, glob or directory (navis layout; local or gs://), or NumPy .npz archives of dotprops (python/nblast_go)")
	flag.StringVar(&o.Targets, "targets", "", "target dotprops, as --queries; omitted: all-by-all of the queries (diagonal = 1, as navis.nblast_allbyall)")
	flag.StringVar(&o.Out, "out", "", "output directory or gs://bucket/prefix; the scores are the Zarr array OUT/scores")
	flag.StringVar(&o.Scores, "scores", o.Scores, "forward, mean, min, max, or both (writes OUT/scores and OUT/scores_reverse)")
	flag.BoolVar(&o.Normalized, "normalized", o.Normalized, "divide each score by the query's self-hit (--normalized=false for raw scores)")
	flag.BoolVar(&o.UseAlpha, "use_alpha", false, "weight |dot| by sqrt(alpha_q*alpha_t) and use the alpha FCWB matrix")
	flag.StringVar(&o.Smat, "smat", o.Smat, "scoring matrix: fcwb (built in) or the path of a CSV in navis' layout")
	flag.StringVar(&o.MaxDist, "max_dist", "", "bound the nearest-neighbour search: a positive distance in µm, auto (last distance edge × 1.05 = 42 for FCWB) or none; default exact (none)")
	flag.StringVar(&o.DType, "dtype", o.DType, "float32, float16 or float64 (float16 only for normalized scores in a Zarr matrix: raw scores exceed its largest value, 65504)")
	flag.IntVar(&o.BlockSize, "block_size", 0, "neurons per block (= Zarr chunk side); 0 chooses from the input size. At most what half of --memory holds as block_size² float64 scores (16384 at 4GiB; 11585 with --scores both)")
	flag.StringVar(&o.Exists, "exists", o.Exists, "if OUT holds a result: fail, overwrite, resume (score only the missing chunks or parts), or update (--sink sparse or topk: score only what new, changed or removed neurons change; OUT then holds what a fresh run on these inputs writes)")
	flag.StringVar(&o.Sink, "sink", o.Sink, "zarr (dense matrix OUT/scores), sparse (Parquet triplets query,target,score >= --threshold in OUT/), or topk (only OUT/topk/)")
	flag.Float64Var(&o.Threshold, "threshold", 0, "sparse and top-k keep scores >= this (for mean/min/max: the combined score); -Inf keeps all. Only with --sink sparse or topk, or --topk")
	flag.IntVar(&o.TopK, "topk", 0, "also write the K best targets per query (query, rank, target, score) to OUT/topk/, K from 1 to the number of targets; ties: smaller target id first; 0: no top-k table. With --sink topk (and --prune) an exact k-nearest-neighbour graph: a pair that cannot reach its query's K-th best score is not scored, so --threshold=-Inf is cheap")
	flag.BoolVar(&o.Prune, "prune", o.Prune, "with sparse/top-k output, skip pairs and work items whose upper bound is below --threshold (exact: same output)")
	flag.StringVar(&o.Units, "units", "", "input coordinate units, converted to µm: e.g. nm, \"8 nm\" (navis' example skeletons' 8 nm voxels), um, mm; default µm (a file whose units metadata says otherwise is refused)")
	flag.Float64Var(&o.Scale, "scale", 0, "multiply input coordinates by this positive number to get µm (e.g. 0.008 for 8 nm voxels); the same as --units, give one of them (neither: µm)")
	flag.BoolVar(&o.Smart, "smart", false, "pre-screen as navis.nblast_smart: pre-score every pair on dotprops downsampled by 10 (points 0, 10, 20, ...), rescore exactly the pairs --smart_criterion selects per query row, keep the pre-score elsewhere; OUT/smart_mask (bool) says which cells are exact. --max_dist is auto unless given (none: unbounded); diagonal searched, not 1")
	flag.StringVar(&o.SmartCriterion, "smart_criterion", o.SmartCriterion, "only with --smart: percentile (rescore pre-scores >= the row's --smart_t-th percentile, numpy linear interpolation over the whole row), score (pre-scores >= --smart_t) or N (the --smart_t best of the row)")
	flag.Float64Var(&o.SmartT, "smart_t", o.SmartT, "only with --smart: the criterion's t (percentile: 0 < t < 100; N: a whole number of targets, 0 to the number of targets; score: a finite score)")
	flag.StringVar(&o.Memory, "memory", "", "memory budget of each worker process (a local run: this process), at least 64MiB, e.g. 4GiB, 3.5GB, 512MiB: the cache of loaded blocks, the query blocks scored together and the Go runtime's limit stay within it; default 4GiB, never more than 90% of the machine's or container's memory")
	flag.IntVar(&o.TileBlocks, "tile_blocks", 0, "query blocks scored together as one work element (a tile: each target block is loaded once per tile); 0 chooses from --memory, with at least 16 tiles; a positive value overrides --memory's choice. Lower it for more, smaller tiles on many workers")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process to FILE, for go tool pprof (local runs: prism's workers run in this process and are in it)")
	addProgressFlag(flag.CommandLine)
	flag.Usage = usage
	flag.Parse()
	if err := leftoverArgs(flag.Args(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}
	// Started with --worker=true (by Beam's boot loader on a Flink or
	// Dataflow worker, or a prism PROCESS/EXTERNAL environment), beam.Init
	// runs the SDK harness and exits: nothing above may need the job's
	// flags (the options reach workers in the DoFns), nothing below runs on
	// workers.
	beam.Init()
	// Prism in this process logs every job step at INFO, and a failed
	// job's error several times over at ERROR before the runner returns
	// it: keep none of that (the run prints the root cause itself, see
	// pipeline.Explain). A remote runner's INFO lines (job id, console
	// URL, job state) are what a user follows, so they stay.
	level := slog.LevelInfo
	if isLocal() {
		level = slog.LevelError + 4
		// The job computes on GOMAXPROCS cores; prism's scheduler gets a
		// P of its own even on one (see internal/cores).
		cores.AtLeastTwoPs()
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

	if err := checkGivenFlags(o, givenFlags(flag.CommandLine)); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1) // as pipeline.Options.Validate's refusals
	}

	// Ctrl-C (or SIGTERM) stops the run and releases OUT for --exists resume.
	ctx, interrupted, stopSignals := interrupt.Context(context.Background(), os.Stderr)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err == nil {
		err = run(ctx, o)
		err = errors.Join(err, stopProfile())
	}
	stopSignals()
	if interrupted() {
		fmt.Fprintf(os.Stderr, "runner: interrupted: %s is not complete; run the same command with --exists resume to finish it (what was written is kept)\n", o.Out)
		os.Exit(interrupt.ExitStatus)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

// startCPUProfile starts writing a CPU profile to path (none when path is
// empty); the function it returns stops it and closes the file. The
// profile covers this process only: a remote runner's workers are not in
// it (Dataflow has its own --cpu_profiling).
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	var once sync.Once
	var closeErr error
	stop = func() error {
		once.Do(func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				closeErr = fmt.Errorf("--cpuprofile: %w", err)
			}
		})
		return closeErr
	}
	// A profiled run is often stopped with Ctrl-C once it has run long
	// enough: the profile is still written whole.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	go func() {
		<-interrupt
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "runner:", err)
		}
		fmt.Fprintf(os.Stderr, "\nrunner: interrupted; CPU profile written to %s\n", path)
		os.Exit(130)
	}()
	return stop, nil
}

// newFlagSet is a subcommand's flag set: errors to stderr, and -h printing
// usage (the usage line and what the command does, ending "Flags:\n")
// and the flags.
func newFlagSet(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's flags. help is true after -h or --help
// (fs printed its usage; the command has nothing more to do). Arguments
// left after the flags are an error, as for a scoring run.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return false, nil
}

// givenFlags is the set of fs's flags given on the command line (rather
// than left at their defaults), for checks that a default cannot tell
// from a value given.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// checkGivenFlags refuses the scoring run's flags given with a value the
// options would take as not given, or given where they do nothing
// (pipeline.Options.Validate checks the values themselves).
func checkGivenFlags(o pipeline.Options, given map[string]bool) error {
	switch {
	case given["scale"] && o.Scale == 0:
		return fmt.Errorf("--scale 0: want the positive number of µm per input coordinate unit (e.g. 0.008 for 8 nm voxels); omit --scale for µm")
	case given["smart_criterion"] && !o.Smart:
		return fmt.Errorf("--smart_criterion %q without --smart: it selects the pairs a --smart run rescores; add --smart, or drop --smart_criterion", o.SmartCriterion)
	case given["smart_t"] && !o.Smart:
		return fmt.Errorf("--smart_t %v without --smart: it is the --smart criterion's t; add --smart, or drop --smart_t", o.SmartT)
	case given["threshold"] && o.Sink == "zarr" && o.TopK == 0:
		return fmt.Errorf("--threshold %v with --sink zarr and no --topk: the dense matrix keeps every score; use --sink sparse or topk, or --topk K, to keep scores >= the threshold, or drop --threshold", o.Threshold)
	}
	return nil
}

// leftoverArgs refuses arguments the flag parser did not take (it stops
// at the first one that is not a flag, and the rest would be ignored).
// all is every argument, to name the flag before the first leftover.
func leftoverArgs(left, all []string) error {
	if len(left) == 0 {
		return nil
	}
	at := len(all) - len(left)
	if at > 0 {
		prev := strings.TrimLeft(all[at-1], "-")
		if f := flag.Lookup(prev); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				return fmt.Errorf("unexpected argument %q after --%s: boolean flags take their value with \"=\", as --%s=%s (a space ends the flags, so nothing after it would be used); nothing was run",
					left[0], prev, prev, left[0])
			}
		}
	}
	return fmt.Errorf("unexpected argument %q: a scoring run takes flags only (--name value or --name=value), and the commands (%s) come first; nothing was run", left[0], strings.Join(slices.Sorted(maps.Keys(commands)), ", "))
}

// verbatimLog writes Beam log messages at INFO and above to stderr as
// they are (no quoting), one after the other.
type verbatimLog struct{}

func (verbatimLog) Log(_ context.Context, sev beamlog.Severity, _ int, msg string) {
	if sev != beamlog.SevDebug {
		fmt.Fprintln(os.Stderr, strings.TrimRight(msg, "\n"))
	}
}

// nblastFlags are the flags of a scoring run, listed first by --help; the
// rest are Beam's and its runners'.
var nblastFlags = []string{"queries", "targets", "out", "scores", "normalized", "use_alpha", "smat", "max_dist", "units", "scale",
	"dtype", "block_size", "exists", "sink", "threshold", "topk", "prune", "smart", "smart_criterion", "smart_t", "memory", "tile_blocks", "cpuprofile", "progress"}

func usage() {
	w := flag.CommandLine.Output()
	fmt.Fprintf(w, `usage: runner --queries Q [--targets T] --out OUT [flags]
       runner inspect --out OUT [--id ID] [--k 10] [--names META.csv]
       runner export --out OUT [--what sparse|topk|scores|scores_reverse] [--format csv|tsv] [--to FILE|-] [--allow_incomplete]
       runner synth --n 10000 --out neurons.parquet [--seed S]
       runner smat --in neurons.parquet --matches groups.csv --out smat.csv [--pairs pairs.csv] [--use_alpha] [--seed S] (see runner smat --help)
       runner dotprops --in IN --out neurons.parquet [--k 20] [--resample R] [--units U | --scale S]
       runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids id1,id2] [--self] [--to FILE.parquet|FILE.csv]
       runner report --out OUT [--to OUT/report.html]
       runner cluster --out OUT [--method hierarchical|graph] [--linkage ward|average|single|complete] [--n_clusters K | --height H] [--seed S] [--resolution R]

NBLAST every query neuron against every target neuron (navis semantics) as an
Apache Beam pipeline. Local runs use prism on all cores; --runner=direct,
flink, dataflow or universal run elsewhere (see README). Boolean flags take
their value with "=": --normalized=false.

NBLAST flags:
`)
	ours := map[string]bool{}
	for _, name := range nblastFlags {
		ours[name] = true
		if f := flag.Lookup(name); f != nil {
			printFlag(w, f)
		}
	}
	fmt.Fprintf(w, "\nBeam and runner flags (Dataflow's and the portable runners' apply only with that --runner):\n")
	flag.VisitAll(func(f *flag.Flag) {
		if !ours[f.Name] {
			printFlag(w, f)
		}
	})
}

// printFlag prints one flag as flag.PrintDefaults does, with Beam's
// "(required)" said of the runner it applies to and --runner's default.
func printFlag(w io.Writer, f *flag.Flag) {
	name, text := flag.UnquoteUsage(f)
	line := "  -" + f.Name
	if name != "" {
		line += " " + name
	}
	if t := strings.TrimSuffix(strings.TrimSpace(text), "."); strings.HasSuffix(t, "(required)") {
		who := "--runner=dataflow"
		if f.Name == "endpoint" {
			who = "--runner=flink or universal"
		}
		text = strings.TrimSuffix(t, "(required)") + "(required for " + who + ")"
	}
	def := f.DefValue
	if f.Name == "runner" && def == "" {
		def = "prism"
	}
	if def != "" && def != "false" && def != "0" {
		if _, isString := f.Value.(interface{ String() string }); isString && name == "string" {
			def = strconv.Quote(def)
		}
		text += " (default " + def + ")"
	}
	fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(text, "\n", "\n    \t"))
}

func run(ctx context.Context, o pipeline.Options) error {
	start := time.Now()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		return err
	}
	released := false
	defer func() {
		if !released {
			job.Release(context.WithoutCancel(ctx)) // also after Ctrl-C
		}
	}()
	maxC, meanC := job.Plan.CostSpread(job.Options.Scores != "forward")
	fmt.Fprintf(os.Stderr, "plan: %d queries × %d targets, block size %d, %d work items (%d to score, %d already done, %d skipped by pruning); predicted cost per work item max/mean = %.2f\n",
		len(job.Plan.Queries), len(job.Plan.Targets), job.Plan.BlockSize, job.Total, len(job.Items), job.Done, job.Skipped, maxC/meanC)
	fmt.Fprintf(os.Stderr, "memory: %s a worker process; scored in %d tiles of up to %d query blocks\n",
		memory.Format(memory.Effective(job.Score.Memory)), job.Tiles, job.TileBlocks)
	if o.DryRun {
		// What Dataflow would be sent (it refuses job graphs over 10 MB).
		n, err := job.MarshalledSize()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "pipeline: %d bytes\n", n)
	}
	stop := runProgress(job, start)
	res, err := beamx.RunWithMetrics(ctx, job.Pipeline)
	stop()
	if err != nil {
		return pipeline.Explain(err, o.Out)
	}
	switch {
	case o.DryRun:
		fmt.Fprintf(os.Stderr, "dry run: the Dataflow job above was not submitted; nothing was read from or written to %s\n", o.Out)
		return nil
	case *jobopts.Async:
		// The job goes on without this process: keep the owner lock (it
		// goes stale, and can be taken over, once the job is done).
		released = true
		fmt.Fprintf(os.Stderr, "submitted (--async): the job goes on without this process; %s is complete when its metadata says so; remove %s afterwards\n", o.Out, job.Staging.Dir)
		return nil
	}
	if err := job.Cleanup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "warning: could not remove the staging area:", err)
	}
	// The workers' counters, from the runner: the same numbers whether the
	// workers ran in this process (prism, direct) or elsewhere. Throughput
	// counts the pairs of the work items this run scored (not those a
	// resumed run found done, nor those pruning skipped).
	c, ok := pipeline.Counters(res)
	pairs := job.Pairs(job.Items) - c["pairs_skipped"]
	el := time.Since(start)
	if ok {
		fmt.Fprintf(os.Stderr, "scored: %d work items, %d pairs (Beam counters nblast/work_items_scored, nblast/pairs_scored)\n", c["work_items_scored"], c["pairs_scored"])
	}
	all := len(job.Plan.Queries) * len(job.Plan.Targets)
	fmt.Fprintf(os.Stderr, "done: %d pairs in %s (%.0f pairs/s", pairs, el.Round(time.Millisecond), float64(pairs)/el.Seconds())
	if job.Done > 0 {
		fmt.Fprintf(os.Stderr, "; %d work items were already done", job.Done)
	}
	fmt.Fprintf(os.Stderr, "); %d × %d result in %s\n", len(job.Plan.Queries), len(job.Plan.Targets), job.Options.Out)
	if o.Smart {
		smartSummary(ctx, job, res)
	}
	if ok && o.Exists == "update" && o.Sink == "zarr" && c["work_items_scored"] > 0 {
		// Every chunk is written again: most pairs are copied.
		fmt.Fprintf(os.Stderr, "update: %d pairs scored by the kernel, %d copied from the earlier arrays\n", c["pairs_scored"]-c["pairs_pruned"], c["pairs_pruned"])
	}
	if job.Options.Pruning() {
		// Items are skipped block against block when planning and pair by
		// pair on the workers (counted by nblast/work_items_skipped).
		skippedPairs := job.Pairs(job.SkippedItems()) + c["pairs_skipped"]
		inItems := "unknown (the runner reported no metrics)"
		if ok {
			inItems = fmt.Sprint(c["pairs_pruned"])
		}
		fmt.Fprintf(os.Stderr, "pruning: %d of %d work items skipped (%d pairs), %s pairs pruned inside scored items; %.1f%% of pairs not scored\n",
			int64(job.Skipped)+c["work_items_skipped"], job.Total, skippedPairs, inItems, 100*float64(skippedPairs+c["pairs_pruned"])/float64(all))
		if c["pairs_searched"] > 0 {
			fmt.Fprintf(os.Stderr, "k-NN search: %d pairs searched by the kernel, the rest proved below the k-th best from bounds alone (%.1f per query, %.3f%% of pairs; Beam counter nblast/pairs_searched)\n",
				c["pairs_searched"], float64(c["pairs_searched"])/float64(len(job.Plan.Queries)), 100*float64(c["pairs_searched"])/float64(all))
		}
	}
	return nil
}

// runProgress prints, once a second for local runs (whose workers share this
// process), the staging (splits read, blocks written) and then the
// scoring: work items done, pairs/s and an ETA, both counted from the first
// scored item (not from the start, which includes planning and staging).
// Remote runs report the Beam counters nblast/splits_staged,
// nblast/blocks_staged, nblast/work_items_scored, nblast/work_items_skipped
// and nblast/pairs_scored.
func runProgress(job *pipeline.Job, start time.Time) (stop func()) {
	if !isLocal() {
		return func() {}
	}
	if progressFormat != progress.Line {
		return runProgressJSON(job, start)
	}
	total := len(job.Items)
	pairs := job.Pairs(job.Items)
	var t1 time.Time // when scoring was first seen
	var p1 int64     // pairs done (scored or skipped) then
	var cpu1 float64 // CPU seconds of this process then
	return progress.Start(os.Stderr, time.Second, func(now time.Time) string {
		P := &transforms.Progress
		items := P.Items.Load()
		if items == 0 {
			return fmt.Sprintf("staging: %d/%d input splits read, %d/%d blocks written   ", P.Splits.Load(), job.Splits, P.Blocks.Load(), job.Blocks)
		}
		p := P.Pairs.Load() + P.SkippedPairs.Load()
		first := ""
		if t1.IsZero() {
			t1, p1, cpu1 = now, p, cputime.Seconds()
			first = fmt.Sprintf("staging: %d input splits read, %d blocks written; scoring started %s after the start\n",
				P.Splits.Load(), P.Blocks.Load(), now.Sub(start).Round(time.Second))
		}
		// Rates count from the first scored item, pairs of skipped items
		// included (the ETA and the CPU projection cover the same pairs).
		rate, eta, cpu := 0.0, "?", "?"
		if el := now.Sub(t1).Seconds(); el > 0 && p > p1 {
			rate = float64(p-p1) / el
			eta = time.Duration(float64(pairs-p) / rate * float64(time.Second)).Round(time.Second).String()
			perPair := (cputime.Seconds() - cpu1) / float64(p-p1)
			cpu = fmt.Sprintf("%.2f", perPair*float64(pairs)/3600)
		}
		// With pruning, the share of the pairs so far that were scored
		// (neither skipped nor pruned).
		share := ""
		if pruned := P.Pruned.Load() + P.SkippedPairs.Load(); pruned > 0 && p > 0 {
			share = fmt.Sprintf(", %.2f%% of pairs scored", 100*float64(p-pruned)/float64(p))
		}
		if srch := P.Searched.Load(); srch > 0 && p > 0 {
			// The k-NN's pairs its bounds could not settle.
			share += fmt.Sprintf(", %.2f%% searched", 100*float64(srch)/float64(p))
		}
		return first + fmt.Sprintf("work items %d/%d (%d skipped)%s, %.0f pairs/s, ETA %s, scoring projected at %s CPU-hours   ", items, total, P.Skipped.Load(), share, rate, eta, cpu)
	})
}

// isLocal reports whether the job runs in this process (prism, the
// default, or the direct runner).
func isLocal() bool {
	r := *runners.Runner
	return r == "" || r == "prism" || r == "direct"
}
