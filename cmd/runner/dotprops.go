package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/dotpropsjob"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/interrupt"
	"github.com/nblast-go/nblast/internal/progress"
)

// minResample is the finest --resample, 1 nm: finer spacings are below
// any imaging resolution, and a tiny one made resampling run for ever (or
// its node count overflow).
const minResample = 0.001

// maxDotpropsWorkers is the largest --workers: each worker is a goroutine
// with its share of channel buffers, and beyond a few per core they only
// queue (a billion ran out of memory).
const maxDotpropsWorkers = 4096

// dotpropsMain implements
//
//	runner dotprops --in IN --out OUT [--k 20] [--resample R] [--units U | --scale S] [--workers N] [--ids IDS.csv]
//	                [--runner R --shard_size N and Beam's flags]
//
// args are the arguments after "dotprops". It turns skeletons (SWC files,
// navis node tables) and point clouds (point tables, dotprops Parquet
// whose vectors are recomputed) into dotprops with navis.make_dotprops'
// semantics (dotprops.MakeNeuronDotprops) and writes them in navis'
// dotprops Parquet layout (µm, "<id>:units" metadata), ready for a
// scoring run. Without --runner it runs in this process on all cores and
// writes the single file OUT atomically; with --runner (prism, direct,
// dataflow, flink, universal: the main job's runner flags) it runs as a
// Beam job writing OUT/part-NNNNN.parquet, one per --shard_size inputs,
// and OUT/_SUCCESS once all are written.
func dotpropsMain(args []string) error {
	ctx, interrupted, stop := interrupt.Context(context.Background(), os.Stderr)
	err := runDotprops(ctx, args, os.Stderr)
	stop()
	if interrupted() {
		fmt.Fprintln(os.Stderr, "runner dotprops: interrupted: nothing was written to --out (it is written whole or not at all; with --runner, the parts written so far stay, without _SUCCESS)")
		os.Exit(interrupt.ExitStatus)
	}
	return err
}

// runDotprops is dotpropsMain with its context and the writer of its
// progress and summary.
func runDotprops(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("dotprops", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "required: SWC files (one neuron each, id = file name), point or node tables (CSV or Parquet: neuron, x, y, z [, node_id, parent_id]), dotprops Parquet (vectors recomputed), or NumPy .npz archives of neurons (arrays ids, offsets, points [, vectors, alpha, units]: with vectors, dotprops kept as they are); a file, glob or directory, local or gs://")
	out := fs.String("out", "", "required: the output dotprops Parquet file (navis layout, µm), local or gs://, written atomically; with --runner a directory or gs:// prefix of part files")
	k := fs.Int("k", 20, "nearest neighbours per point, the point itself included, at least 2 (navis.make_dotprops' k; many pipelines use 5)")
	resample := fs.Float64("resample", 0, fmt.Sprintf("resample skeletons to one node every R µm first, R >= %g (navis.resample_skeleton; after --units); 0: use the nodes as they are. Point clouds are not resampled", minResample))
	units := fs.String("units", "", "input coordinate units, converted to µm as v*8/1000 for \"8 nm\" (the float64 nearest v/125, as navis' reference data): e.g. \"8 nm\" (navis' example skeletons' voxels), nm, um, mm; default µm")
	scale := fs.Float64("scale", 0, "multiply input coordinates by this positive number to get µm (e.g. 0.008); the same as --units, give one of them (neither: µm)")
	workers := fs.Int("workers", 0, fmt.Sprintf("goroutines making dotprops (per worker with --runner), at most %d; 0: one per core", maxDotpropsWorkers))
	idsTable := fs.String("ids", "", "a CSV (columns file, neuron) giving each SWC file's neuron id instead of its file name; every SWC file must have a row")
	shardSize := fs.Int("shard_size", 1000, "only with --runner: input files per part file (and per work item), at least 1")
	addProgressFlag(fs)
	addBeamFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: runner dotprops --in IN --out OUT [--k 20] [--resample R] [--units U | --scale S] [--workers N]\n"+
			"       runner dotprops --runner RUNNER --in IN --out DIR [--shard_size N] [flags]\n\n"+
			"Make dotprops from skeletons (SWC, navis node tables) or point clouds as\n"+
			"navis.make_dotprops(x, k, resample=R) does, and write them in navis' dotprops\n"+
			"Parquet layout (µm), ready for a scoring run (runner --queries OUT).\n\n"+
			"A .npz input (numpy.savez: what python/nblast_go writes, no pyarrow needed)\n"+
			"holds the arrays ids (N,) int or str, offsets (N+1,), points (M, 3) and\n"+
			"optionally vectors (M, 3), alpha (M,), units (N,) str (see README, From\n"+
			"Python); with vectors its neurons are dotprops, written as they are\n"+
			"(--k and --resample do not apply to them).\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if flag.CommandLine.Lookup(f.Name) == nil {
				printFlag(stderr, f)
			}
		})
		fmt.Fprintf(stderr, "\nWith --runner, Beam's and the runners' flags as for a scoring run (runner --help).\n")
	}
	oldRunner := *runners.Runner
	defer func() { *runners.Runner = oldRunner }() // tests run several commands in one process
	*runners.Runner = ""
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	given := givenFlags(fs)
	switch {
	case *in == "":
		return errors.New("--in is required: SWC files, point or node tables, or dotprops Parquet (a file, glob or directory)")
	case *out == "":
		return errors.New("--out is required")
	case *k < 2:
		// k counts the point itself: k = 1 leaves no neighbour to take a
		// tangent from, and every neuron failed on it.
		return fmt.Errorf("--k must be >= 2, got %d: k counts the point itself, so --k must be >= 1 neighbour plus the point (navis' k > 1)", *k)
	case *resample != 0 && !(*resample >= minResample) || math.IsInf(*resample, 0):
		return fmt.Errorf("--resample must be a spacing in µm from %g (1 nm) up, finite, or 0 (no resampling), got %v", minResample, *resample)
	case *workers < 0 || *workers > maxDotpropsWorkers:
		return fmt.Errorf("--workers must be a number of goroutines from 1 to %d, or 0 (one per core), got %d", maxDotpropsWorkers, *workers)
	case *shardSize < 1:
		return fmt.Errorf("--shard_size must be >= 1, got %d", *shardSize)
	case given["shard_size"] && *runners.Runner == "":
		return fmt.Errorf("--shard_size %d without --runner: it sizes the part files of a Beam run; without --runner the dotprops go to the single file --out (drop --shard_size, or add --runner)", *shardSize)
	case given["scale"] && *scale == 0:
		return fmt.Errorf("--scale 0: want the positive number of µm per input coordinate unit (e.g. 0.008 for 8 nm voxels); omit --scale for µm")
	}
	u, err := dotprops.ResolveUnits(*units, *scale)
	if err != nil {
		return err
	}
	start := time.Now()
	paths, err := dotprops.ExpandNeuronInputs(ctx, *in)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if filepath.Clean(p) == filepath.Clean(*out) {
			return fmt.Errorf("--out %s is one of the inputs (--in %s): write the output elsewhere", *out, *in)
		}
	}
	var ids map[string]string
	if *idsTable != "" {
		if ids, err = dotprops.ReadSWCIDs(ctx, *idsTable); err != nil {
			return err
		}
	}
	job := dotpropsjob.Job{
		K:        *k,
		Resample: *resample,
		Read:     dotprops.NeuronReadOptions{Units: u, StrSWCIDs: dotprops.SWCStrIDs(paths, ids), SWCIDs: ids},
		Workers:  *workers,
	}
	if *runners.Runner != "" {
		// A shard larger than the inputs is one part of them all (and
		// a size near the largest int overflowed the part count).
		return dotpropsBeam(ctx, paths, job, *out, min(*shardSize, max(1, len(paths))), stderr, start)
	}
	nw := *workers
	if nw <= 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	stop := dotpropsProgress(stderr, len(paths), start)
	st, size, err := dotpropsjob.WriteFile(ctx, paths, job, *out)
	stop()
	if err != nil {
		return err
	}
	el := time.Since(start)
	if allNPZ(paths) {
		fmt.Fprintf(stderr, "dotprops: %d neurons, %d points, from %d .npz files (dotprops as given; point clouds, if any, made with k = %d), written to %s (%.1f MB) in %s\n",
			st.Neurons, st.Points, st.Files, *k, *out, float64(size)/1e6, el.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(stderr, "dotprops: %d neurons (%d skeletons%s, %d point clouds) from %d files, %d input points -> %d dotprops points (k = %d), written to %s (%.1f MB) in %s: %.0f points/s on %d workers\n",
		st.Neurons, st.Skeletons, resampledText(*resample), st.Neurons-st.Skeletons, st.Files, st.InPoints, st.Points, *k,
		*out, float64(size)/1e6, el.Round(time.Millisecond), float64(st.Points)/el.Seconds(), nw)
	return nil
}

// allNPZ reports whether every input is a NumPy .npz archive.
func allNPZ(paths []string) bool {
	for _, p := range paths {
		if !dotprops.IsNPZ(p) {
			return false
		}
	}
	return len(paths) > 0
}

func resampledText(r float64) string {
	if r > 0 {
		return fmt.Sprintf(" resampled to %g µm", r)
	}
	return ""
}

// dotpropsProgress prints, once a second, the files read and the neurons
// and points written so far, and the rate.
func dotpropsProgress(w io.Writer, nfiles int, start time.Time) (stop func()) {
	if progressFormat != progress.Line {
		return dotpropsProgressJSON(w, nfiles, start)
	}
	P := &dotpropsjob.Progress
	f0, n0, p0 := P.Files.Load(), P.Neurons.Load(), P.Points.Load()
	return progress.Start(w, time.Second, func(now time.Time) string {
		p := P.Points.Load() - p0
		return fmt.Sprintf("dotprops: %d/%d files read, %d neurons, %d points written, %.0f points/s   ",
			P.Files.Load()-f0, nfiles, P.Neurons.Load()-n0, p, float64(p)/now.Sub(start).Seconds())
	})
}

// dotpropsBeam runs `runner dotprops` as a Beam job (see dotpropsMain).
func dotpropsBeam(ctx context.Context, paths []string, job dotpropsjob.Job, out string, shardSize int, stderr io.Writer, start time.Time) error {
	for _, name := range []string{dotpropsjob.Manifest, dotpropsjob.PartName(0)} {
		if ok, err := files.Exists(ctx, files.Join(out, name)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("--out %s already holds dotprops (%s): remove it or choose another --out (parts of an earlier run would mix with this one's)", out, name)
		}
	}
	if err := dotpropsjob.WriteInputs(ctx, out, paths); err != nil {
		return err
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	dotpropsjob.MakeParts(s, out, len(paths), shardSize, job)
	nparts := (len(paths) + shardSize - 1) / shardSize
	fmt.Fprintf(stderr, "dotprops: %d input files in %d parts, runner %s\n", len(paths), nparts, *runners.Runner)
	local := isLocal()
	stop := func() {}
	if local {
		stop = dotpropsProgress(stderr, len(paths), start)
	}
	err := beamx.Run(ctx, p)
	stop()
	if err != nil {
		return fmt.Errorf("dotprops job: %w (parts written so far stay in %s, without %s: remove them before rerunning)", err, out, dotpropsjob.Manifest)
	}
	fmt.Fprintf(stderr, "dotprops: %d parts and %s written to %s in %s\n", nparts, dotpropsjob.Manifest, out, time.Since(start).Round(time.Millisecond))
	return nil
}
