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
	register.DoFn2x1[context.Context, partCount, error](&finalizeTopKUpdateFn{})
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
	beam.ParDo0(s, &finalizeTopKUpdateFn{Out: out, Manifest: manifestConfig{Dir: dir, What: "top-k files", Expected: cfg.Expected, Parameters: string(params), Owner: cfg.Owner}},
		beam.Combine(s, &sumPartCountsFn{}, counts))
}

type finalizeTopKUpdateFn struct {
	Out      string
	Manifest manifestConfig
}

func (f *finalizeTopKUpdateFn) ProcessElement(ctx context.Context, sum partCount) error {
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

// FinishTopKUpdate switches a committed update of a top-k output (the
// manifest in OUT/.update/topk) into OUT/topk and reports whether there
// was one: OUT/topk's manifest is removed first (the output reads as
// incomplete), then its files; the new run marker is written, the new
// files copied in, then the manifest; OUT/.update is removed last. Cut
// short at any step, it is done again from the start (OUT/.update stays
// whole until the new manifest is in OUT/topk).
func FinishTopKUpdate(ctx context.Context, out string, owner RunOwner) (bool, error) {
	dir := UpdateTopKDir(out)
	commit := files.Join(dir, ManifestName)
	if ok, err := files.Exists(ctx, commit); err != nil || !ok {
		return false, err
	}
	if err := owner.Check(ctx); err != nil {
		return false, err
	}
	m, err := ReadManifest(ctx, dir)
	if err != nil {
		return false, err
	}
	spec, err := readUpdateSpec(ctx, out)
	if err != nil {
		return false, err
	}
	parts, err := ListParts(ctx, dir, TopKPartPattern)
	if err != nil {
		return false, err
	}
	if len(parts) != m.Parts {
		return false, fmt.Errorf("%s counts %d top-k files, %d are there: the update's work area is damaged; rerun with --exists overwrite", commit, m.Parts, len(parts))
	}
	topk := files.Join(out, TopKDir)
	if err := removeFile(ctx, files.Join(topk, ManifestName)); err != nil {
		return false, err
	}
	old, err := ListParts(ctx, topk, TopKPartPattern)
	if err != nil {
		return false, err
	}
	rm, done, err := remover(ctx, topk)
	if err != nil {
		return false, err
	}
	defer done()
	for _, p := range old {
		if err := rm(p); err != nil {
			return false, err
		}
	}
	if err := files.WriteFile(ctx, files.Join(out, RunMarkerName), spec.Record); err != nil {
		return false, err
	}
	for _, p := range parts {
		if err := copyFile(ctx, p, files.Join(topk, baseName(p))); err != nil {
			return false, err
		}
	}
	// The manifest as written (the same bytes as a fresh run's).
	if err := copyFile(ctx, commit, files.Join(topk, ManifestName)); err != nil {
		return false, err
	}
	if err := removeFile(ctx, commit); err != nil {
		return true, err
	}
	return true, files.RemoveAll(ctx, updatePath(out))
}
