package sinks

// The update of a top-k output (--exists update with --sink topk): the
// update's job searches every query of a fresh run's plan (most of them
// only against their earlier top k and the new or changed targets, see
// transforms.KNNDelta) and writes the top-k files as a fresh run does, but
// under OUT/.update/topk; in its last step it writes their manifest there
// (the commit point) and switches them into OUT/topk.
//
//	OUT/.update/spec.gob              the update's spec (UpdateSpec: the
//	                                  new run marker)
//	OUT/.update/topk/topk-*.parquet   the new top-k files
//	OUT/.update/topk/_manifest.json   written after the last of them: the
//	                                  commit point of the update
//
// Until the commit point OUT is untouched and complete. From it on, the
// switch (FinishTopKUpdate) removes OUT/topk's manifest (the output reads
// as incomplete), removes the old files, writes the new run marker, copies
// the new files and the manifest in and removes OUT/.update. Every step
// can be redone, so a switch cut short is finished by the next run with
// --exists update or --exists resume.

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/nblast-go/nblast/internal/files"
)

func init() {
	register.DoFn3x1[context.Context, partCount, func(int), error](&finalizeTopKUpdateFn{})
}

// UpdateTopKDir is where an update of a top-k output writes its files.
func UpdateTopKDir(out string) string { return updatePath(out, TopKDir) }

// WriteTopKUpdate writes the top-k files as WriteTopK does, under
// UpdateTopKDir(out); once all cfg.Expected are written, their manifest
// (the commit point), then switches them into OUT/topk (FinishTopKUpdate,
// with the new run marker of the spec StartUpdate wrote).
func WriteTopKUpdate(s beam.Scope, chunks beam.PCollection, out string, cfg TopKConfig) {
	if cfg.K < 1 {
		panic(fmt.Sprintf("sinks.WriteTopKUpdate(%s): k = %d, want at least 1", out, cfg.K))
	}
	params, err := manifestParameters(cfg.Manifest)
	if err != nil {
		panic(fmt.Sprintf("sinks.WriteTopKUpdate(%s): %v", out, err))
	}
	s = s.Scope("WriteTopKUpdate")
	dir := UpdateTopKDir(out)
	written := writeTopKFiles(s, chunks, dir, cfg)
	distinct := stats.MaxPerKey(s, written)
	counts := beam.Flatten(s, beam.ParDo(s, countPart, distinct), beam.ParDo(s, noParts, beam.Impulse(s)))
	lastStep(s, &finalizeTopKUpdateFn{Out: out, Manifest: manifestConfig{Dir: dir, What: "top-k files", Expected: cfg.Expected, Parameters: string(params), Owner: cfg.Owner}},
		beam.Combine(s, &sumPartCountsFn{}, counts))
}

type finalizeTopKUpdateFn struct {
	Out      string
	Manifest manifestConfig
}

func (f *finalizeTopKUpdateFn) ProcessElement(ctx context.Context, sum partCount, done func(int)) error {
	defer done(0) // lastStep
	if err := (&finalizeManifestFn{Config: f.Manifest}).ProcessElement(ctx, sum); err != nil {
		return fmt.Errorf("%w; the earlier output is kept as it was", err)
	}
	_, err := FinishTopKUpdate(ctx, f.Out, f.Manifest.Owner)
	return err
}

// TopKUpdatePending reports whether OUT holds a committed update of its
// top-k output not yet switched in (FinishTopKUpdate finishes it).
func TopKUpdatePending(ctx context.Context, out string) (bool, error) {
	return files.Exists(ctx, files.Join(UpdateTopKDir(out), ManifestName))
}

// FinishTopKUpdate switches a committed update of a top-k output (its
// files and manifest in OUT/.update/topk) into OUT/topk and reports
// whether there was one (switchIn).
func FinishTopKUpdate(ctx context.Context, out string, owner RunOwner) (bool, error) {
	return switchIn(ctx, out, UpdateTopKDir(out), files.Join(out, TopKDir), TopKPartPattern, owner)
}
