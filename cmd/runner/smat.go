package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/progress"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatbuild"
	"github.com/nblast-go/nblast/smatcsv"
)

// smatUsage is the command line of runner smat.
const smatUsage = "runner smat --in neurons.parquet --matches groups.csv --out smat.csv [--pairs pairs.csv] [--use_alpha] [--dist_edges E,E,...] [--dot_edges E,E,...] [--seed S] [--units U | --scale F] [--workers N] [--write_pairs FILE] [--beam [Beam flags]]"

// smatMain implements
//
//	runner smat --in neurons.parquet --matches groups.csv --out smat.csv [flags]
//
// args are the arguments after "smat". It builds a scoring matrix as navis'
// LookupDistDotBuilder does (see smatbuild/count.go and the README, "Make
// your own scoring matrix") and writes it to --out in navis' CSV layout, so
// that a scoring run's --smat reads it (and navis.nbl.smat.Lookup2d too).
func smatMain(args []string) error {
	return runSmat(context.Background(), args, os.Stderr)
}

// smatFlags are runner smat's own flags; with --beam, Beam's and its
// runners' flags (--runner, ...) are accepted too.
type smatFlags struct {
	in, matches, out, pairs, writePairs string
	distEdges, dotEdges                 string
	useAlpha, beam                      bool
	seed                                uint64
	units                               string
	scale                               float64
	workers                             int
}

// runSmat is smatMain with its context and its writer for the summary,
// progress and usage.
func runSmat(ctx context.Context, args []string, stderr io.Writer) error {
	var o smatFlags
	fs := flag.NewFlagSet("smat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.in, "in", "", "the neurons: dotprops Parquet (navis layout; a file, glob or directory, local or gs://) (required)")
	fs.StringVar(&o.matches, "matches", "", "the groups of same-type neurons: a CSV with the header neuron,group (one row per neuron; also neuron_id or id, and type), or, without that header, one group per line as comma-separated neuron ids (navis' list of lists); required unless --pairs has match rows")
	fs.StringVar(&o.out, "out", "", "the scoring matrix CSV to write (navis' layout, for --smat), local or gs://; written atomically (required)")
	fs.StringVar(&o.pairs, "pairs", "", "use exactly these pairs: a CSV kind,query,target with kind match or nonmatch (query,target alone: nonmatch). Match rows replace the pairs from --matches, nonmatch rows the random draw")
	fs.StringVar(&o.writePairs, "write_pairs", "", "also write every pair used to this CSV (kind,query,target; the format of --pairs), e.g. to repeat a build or give navis the same pairs")
	fs.BoolVar(&o.useAlpha, "use_alpha", false, "multiply each |dot| by sqrt(alpha_q*alpha_t), as navis' use_alpha=True (the neurons need alpha)")
	fs.StringVar(&o.distEdges, "dist_edges", "", "distance bin edges in µm, comma-separated, strictly increasing (default FCWB's 0,0.75,1.5,2,2.5,3,3.5,4,5,6,7,8,9,10,12,14,16,20,25,30,40,500, also with --use_alpha); bins are right-closed (lo,hi], the outer edges open")
	fs.StringVar(&o.dotEdges, "dot_edges", "", "|dot| bin edges, comma-separated (default 0,0.1,...,1)")
	fs.Uint64Var(&o.seed, "seed", smatbuild.DefaultSeed, "seed of the random draw of non-matching pairs (not navis' numpy draw: the same seed gives other pairs than navis)")
	fs.StringVar(&o.units, "units", "", "input coordinate units, converted to µm, as for a scoring run (e.g. nm, \"8 nm\"); default µm")
	fs.Float64Var(&o.scale, "scale", 0, "multiply input coordinates by this positive number to get µm; the same as --units, give one of them (neither: µm)")
	fs.IntVar(&o.workers, "workers", 0, "goroutines counting pairs (default: all cores); without --beam")
	fs.BoolVar(&o.beam, "beam", false, "run the counting as a Beam job (pairs as elements, counts summed by a Combine) on --runner (default prism, in this process), for large sets on Dataflow or Flink; the Beam and runner flags of a scoring run apply")
	ours := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { ours[f.Name] = true })
	addBeamFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\n"+
			"Build an NBLAST scoring matrix from neurons of known type, as navis'\n"+
			"LookupDistDotBuilder: matching pairs inside each group, non-matching pairs\n"+
			"across groups (drawn at random until they hold as many query points as the\n"+
			"matching pairs, or given by --pairs); every (distance, |dot|) of each\n"+
			"query point to its nearest target point is binned, and each cell is\n"+
			"log2((M·ΣN/ΣM + ε) / (N + ε)), ε = 2^-52. Writes navis' CSV layout.\n\nFlags:\n", smatUsage)
		fs.VisitAll(func(f *flag.Flag) {
			if ours[f.Name] {
				printFlag(stderr, f)
			}
		})
		fmt.Fprintf(stderr, "\nWith --beam, the Beam and runner flags of a scoring run (see runner --help).\n")
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	switch {
	case o.in == "":
		return errors.New("--in is required: the dotprops Parquet of the neurons")
	case o.out == "":
		return errors.New("--out is required: the scoring matrix CSV to write")
	case o.matches == "" && o.pairs == "":
		return errors.New("--matches is required (the groups of same-type neurons), or --pairs with match and nonmatch rows")
	}
	if o.workers < 0 {
		return fmt.Errorf("--workers %d: want a number of goroutines >= 0 (0: all cores)", o.workers)
	}
	if givenFlags(fs)["scale"] && o.scale == 0 {
		return fmt.Errorf("--scale 0: want the positive number of µm per input coordinate unit (e.g. 0.008 for 8 nm voxels); omit --scale for µm")
	}
	scale, err := dotprops.ResolveScale(o.units, o.scale)
	if err != nil {
		return err
	}
	dist, dot := smatbuild.FCWBEdges()
	if o.distEdges != "" {
		if dist, err = parseEdges("--dist_edges", o.distEdges); err != nil {
			return err
		}
	}
	if o.dotEdges != "" {
		if dot, err = parseEdges("--dot_edges", o.dotEdges); err != nil {
			return err
		}
	}
	builder, err := smatbuild.NewCounter(dist, dot, o.useAlpha)
	if err != nil {
		return fmt.Errorf("--dist_edges/--dot_edges: %w", err)
	}

	start := time.Now()
	inputs, err := dotprops.ExpandInputs(ctx, o.in)
	if err != nil {
		return fmt.Errorf("--in: %w", err)
	}
	if o.beam && !isLocal() {
		// Workers elsewhere read the inputs and write --out themselves.
		for _, p := range append([]string{o.out}, inputs...) {
			if !files.IsRemote(p) {
				return fmt.Errorf("--beam on a remote runner: %s is a local path, which its workers cannot reach: put --in and --out on gs://", p)
			}
		}
	}
	// The neurons: fully read for local counting; with --beam only their
	// ids and point counts (the workers read the rest).
	set, err := smatbuild.ReadNeurons(ctx, inputs, dotprops.ReadOptions{Scale: scale, IgnoreAlpha: !o.useAlpha}, !o.beam)
	if err != nil {
		return fmt.Errorf("--in %s: %w", o.in, err)
	}
	ids, points, neurons, index := set.IDs, set.Points, set.Neurons, set.Index

	var groups *smatbuild.Groups
	if o.matches != "" {
		if groups, err = smatbuild.ReadMatches(ctx, o.matches, index); err != nil {
			return err
		}
	}
	var given *smatbuild.Pairs
	if o.pairs != "" {
		if given, err = smatbuild.ReadPairs(ctx, o.pairs, index); err != nil {
			return err
		}
		if len(given.Match) > 0 && groups != nil {
			return fmt.Errorf("--pairs %s has match rows and --matches was given: give the matching pairs one way (drop --matches, or the match rows)", o.pairs)
		}
		if len(given.NonMatch) == 0 && groups == nil {
			return fmt.Errorf("--pairs %s has no nonmatch rows and no --matches was given: the non-matching pairs are drawn across the groups of --matches, or given as nonmatch rows", o.pairs)
		}
	}

	// The pairs.
	ch, err := smatbuild.ChoosePairs(groups, given, points, o.seed, o.matches, func(warning string) { fmt.Fprintf(stderr, "smat: warning: %s\n", warning) })
	if err != nil {
		return err
	}
	match, nonmatch := ch.Match, ch.NonMatch
	if o.writePairs != "" {
		if err := smatbuild.WritePairs(ctx, o.writePairs, ids, match, nonmatch); err != nil {
			return err
		}
	}

	var M, N []int64
	var sm, sn int64
	if o.beam {
		sm, sn, err = runSmatBeam(ctx, smatbuild.Job{
			Files: inputs, Scale: scale, UseAlpha: o.useAlpha, IDs: idStrings(ids),
			DistEdges: dist, DotEdges: dot, Out: o.out,
		}, match, nonmatch)
		if err != nil {
			return err
		}
	} else {
		total := int64(len(match) + len(nonmatch))
		var done atomic.Int64
		stop := smatProgress(stderr, &done, total)
		M, err = builder.CountPairs(neurons, match, o.workers, func(int64) { done.Add(1) })
		if err == nil {
			N, err = builder.CountPairs(neurons, nonmatch, o.workers, func(int64) { done.Add(1) })
		}
		stop()
		if err != nil {
			return err
		}
		m, err := smatbuild.BuildMatrix(o.out, dist, dot, M, N)
		if err != nil {
			return err
		}
		if err := smatcsv.Save(ctx, o.out, m); err != nil {
			return err
		}
		sm, sn = smatbuild.SumCounts(M), smatbuild.SumCounts(N)
	}

	grouped := ""
	if groups != nil {
		grouped = fmt.Sprintf(", %d groups of >= 2 in --matches, %d neurons in no group", groups.Multi, groups.Ungrouped)
	}
	fmt.Fprintf(stderr, "smat: %d neurons%s; %d matching pairs (%s, %d points), %d non-matching pairs (%s, %d points)",
		len(ids), grouped, len(match), ch.MatchFrom, sm, len(nonmatch), ch.NonMatchFrom, sn)
	if N != nil {
		empty := 0
		for _, v := range N {
			if v == 0 {
				empty++
			}
		}
		fmt.Fprintf(stderr, "; %d of %d cells have no non-matching points", empty, len(N))
	}
	fmt.Fprintf(stderr, "; %d × %d matrix written to %s in %.1f s\n", len(dist)-1, len(dot)-1, o.out, time.Since(start).Seconds())
	return nil
}

// runSmatBeam runs the counting as a Beam job (smatbuild.Build) on
// --runner and returns the totals the job's counters report (0 when the
// runner reports no metrics).
func runSmatBeam(ctx context.Context, job smatbuild.Job, match, nonmatch []smatbuild.Pair) (sm, sn int64, err error) {
	beam.Init()
	if isLocal() {
		// As for a scoring run: prism in this process logs every step.
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})))
		defer slog.SetDefault(prev)
	}
	p, s := beam.NewPipelineWithRoot()
	smatbuild.Build(s, job, match, nonmatch)
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return 0, 0, fmt.Errorf("smat job: %w", err)
	}
	c, _ := pipeline.Counters(res)
	sm, sn = c["smat_match_points"], c["smat_nonmatch_points"]
	return sm, sn, nil
}

// smatProgress prints the pairs counted once a second on stderr until
// stop is called (only if counting takes that long).
func smatProgress(w io.Writer, done *atomic.Int64, total int64) (stop func()) {
	start := time.Now()
	return progress.Start(w, time.Second, func(now time.Time) string {
		d := done.Load()
		eta := "?"
		if el := now.Sub(start).Seconds(); d > 0 {
			eta = time.Duration(float64(total-d) / (float64(d) / el) * float64(time.Second)).Round(time.Second).String()
		}
		return fmt.Sprintf("smat: %d/%d pairs counted on %d cores, ETA %s   ", d, total, runtime.GOMAXPROCS(0), eta)
	})
}

func idStrings(ids []scoring.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// parseEdges parses a comma-separated list of bin edges.
func parseEdges(name, s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, 0, len(parts))
	for k, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%s: edge %d %q is not a number: want comma-separated numbers like 0,0.75,1.5", name, k+1, p)
		}
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: edge %d %q is not a finite number: want comma-separated finite numbers like 0,0.75,1.5", name, k+1, p)
		}
		if k > 0 && !(v > out[k-1]) {
			return nil, fmt.Errorf("%s: edge %d (%v) is not above edge %d (%v): edges must be strictly increasing", name, k+1, v, k, out[k-1])
		}
		out = append(out, v)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s %q: need at least 2 edges (1 bin)", name, s)
	}
	return out, nil
}
