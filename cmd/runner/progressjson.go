package main

import (
	"flag"
	"io"
	"os"
	"time"

	"github.com/nblast-go/nblast/dotpropsjob"
	"github.com/nblast-go/nblast/internal/progress"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/transforms"
)

// progressFormat is the running command's --progress: the progress line
// (the default), JSON lines for programs, or nothing.
var progressFormat progress.Format

// addProgressFlag adds --progress to a command's flags.
func addProgressFlag(fs *flag.FlagSet) {
	progressFormat = progress.Line // tests run several commands in one process
	fs.Func("progress", "how a local run reports progress on stderr: line (default: one line redrawn in place), json (one JSON object per line, {\"progress\":{\"stage\":...,\"done\":...,\"total\":...,\"unit\":...}}, for programs such as python/nblast_go) or none",
		func(s string) error {
			f, err := progress.ParseFormat(s)
			progressFormat = f
			return err
		})
}

// runProgressJSON is runProgress with --progress json (none: nothing):
// stage "staging" counts the blocks written (items: input splits read),
// then stage "scoring" the pairs done, scored or skipped by pruning
// (items: work items), out of those of the work items to score.
func runProgressJSON(job *pipeline.Job, start time.Time) (stop func()) {
	if progressFormat == progress.None {
		return func() {}
	}
	P := &transforms.Progress
	// The counters are this process's: count from their values now.
	s0, b0, i0 := P.Splits.Load(), P.Blocks.Load(), P.Items.Load()
	p0 := P.Pairs.Load() + P.SkippedPairs.Load()
	items, pairs := int64(len(job.Items)), job.Pairs(job.Items)
	return progress.StartJSON(os.Stderr, time.Second/4, func(now time.Time) (progress.Event, bool) {
		el := now.Sub(start).Seconds()
		if it := P.Items.Load() - i0; it > 0 {
			return progress.Event{Stage: "scoring", Done: P.Pairs.Load() + P.SkippedPairs.Load() - p0, Total: pairs, Unit: "pairs",
				Items: it, ItemsTotal: items, Elapsed: el}, true
		}
		return progress.Event{Stage: "staging", Done: P.Blocks.Load() - b0, Total: int64(job.Blocks), Unit: "blocks",
			Items: P.Splits.Load() - s0, ItemsTotal: int64(job.Splits), Elapsed: el}, true
	})
}

// dotpropsProgressJSON is dotpropsProgress with --progress json (none:
// nothing): stage "dotprops" counts the neurons written (their total is
// not known before the inputs are read: 0), items the input files read.
func dotpropsProgressJSON(w io.Writer, nfiles int, start time.Time) (stop func()) {
	if progressFormat == progress.None {
		return func() {}
	}
	P := &dotpropsjob.Progress
	f0, n0 := P.Files.Load(), P.Neurons.Load()
	return progress.StartJSON(w, time.Second/4, func(now time.Time) (progress.Event, bool) {
		return progress.Event{Stage: "dotprops", Done: P.Neurons.Load() - n0, Unit: "neurons",
			Items: P.Files.Load() - f0, ItemsTotal: int64(nfiles), Elapsed: now.Sub(start).Seconds()}, true
	})
}
