package sinks

// The update of a dense output (--exists update with --sink zarr): the
// update's job writes every chunk of the new arrays (the earlier values of
// unchanged pairs, the others scored; see transforms.DenseDelta) as
// WriteZarr does, but to a group under OUT/.update; its last step marks
// them complete, writes the commit point and switches them into OUT.
//
//	OUT/.update/spec.gob              the update's spec (UpdateSpec: the
//	                                  new run marker, the arrays)
//	OUT/.update/zarr/<name>/...       the new arrays
//	OUT/.update/zarr/_manifest.json   written once every chunk is: the
//	                                  commit point of the update
//
// Until the commit point OUT is untouched and complete. From it on, the
// switch (FinishZarrUpdate) marks each array of OUT incomplete, copies the
// new chunks in, removes the chunks outside the new shape, copies the new
// .zarray, writes the new run marker, then each new .zattrs (complete),
// and removes OUT/.update. Every step can be redone, so a switch cut short
// is finished by the next run with --exists update or --exists resume.

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/zarr"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int), error](&finalizeZarrUpdateFn{})
}

// UpdateZarrDir is the group an update of a dense output writes its
// arrays to.
func UpdateZarrDir(out string) string { return updatePath(out, "zarr") }

// WriteZarrUpdate writes each chunk of scores to the arrays of the group
// UpdateZarrDir(out) (created beforehand by zarr.Create) and, once all
// expected chunks are written, marks them complete, writes the commit
// point and switches them into out (FinishZarrUpdate).
func WriteZarrUpdate(s beam.Scope, chunks beam.PCollection, out string, arrays []zarr.ArraySpec, expected int, owner RunOwner) {
	s = s.Scope("WriteZarrUpdate")
	geo := geometries(arrays)
	written := beam.ParDo(s, &writeChunkFn{Out: UpdateZarrDir(out), Arrays: geo}, chunks)
	lastStep(s, &finalizeZarrUpdateFn{Out: out, Arrays: geo, Expected: expected, Owner: owner}, stats.Sum(s, written))
}

type finalizeZarrUpdateFn struct {
	Out      string
	Arrays   []ArrayGeometry
	Expected int
	Owner    RunOwner
}

func (f *finalizeZarrUpdateFn) ProcessElement(ctx context.Context, written int, done func(int)) error {
	defer done(0) // lastStep
	dir := UpdateZarrDir(f.Out)
	if written != f.Expected {
		return fmt.Errorf("%s: %d of %d chunks written; the update is not switched in, the earlier output is kept as it was", dir, written, f.Expected)
	}
	specs := make([]zarr.ArraySpec, len(f.Arrays))
	for k, g := range f.Arrays {
		specs[k] = g.spec()
	}
	if err := FinishZarr(ctx, dir, specs, f.Owner); err != nil {
		return fmt.Errorf("%w; the earlier output is kept as it was", err)
	}
	if err := files.WriteJSON(ctx, files.Join(dir, ManifestName), Manifest{Complete: true, Parts: written * len(specs), Parameters: []byte("{}")}); err != nil {
		return err
	}
	_, err := FinishZarrUpdate(ctx, f.Out, f.Owner)
	return err
}

// ZarrUpdatePending reports whether OUT holds a committed update of its
// dense arrays not yet switched in (FinishZarrUpdate finishes it).
func ZarrUpdatePending(ctx context.Context, out string) (bool, error) {
	return files.Exists(ctx, files.Join(UpdateZarrDir(out), ManifestName))
}

// FinishZarrUpdate switches a committed update of a dense output (its
// arrays in UpdateZarrDir(out)) into out and reports whether there was
// one.
func FinishZarrUpdate(ctx context.Context, out string, owner RunOwner) (bool, error) {
	staged := UpdateZarrDir(out)
	spec, ok, err := committedUpdate(ctx, out, staged, owner)
	if err != nil || !ok {
		return false, err
	}
	for _, name := range spec.Arrays {
		if err := switchArray(ctx, out, staged, name); err != nil {
			return false, err
		}
	}
	if err := files.WriteFile(ctx, files.Join(out, RunMarkerName), spec.Record); err != nil {
		return false, err
	}
	for _, name := range spec.Arrays {
		if err := copyFile(ctx, files.Join(staged, name, ".zattrs"), files.Join(out, name, ".zattrs")); err != nil {
			return false, err
		}
	}
	if err := removeFile(ctx, files.Join(staged, ManifestName)); err != nil {
		return true, err
	}
	return true, files.RemoveAll(ctx, updatePath(out))
}

// switchArray puts the new array name (in the group staged) in place of
// out's, all but its attributes: out's is marked incomplete, the new
// chunks are copied in, the chunks outside the new shape removed and the
// new .zarray copied.
func switchArray(ctx context.Context, out, staged, name string) error {
	if attrs, err := zarr.ReadAttrs(ctx, out, name); err == nil {
		attrs["complete"] = false
		if err := zarr.WriteAttrs(ctx, out, name, attrs); err != nil {
			return err
		}
	}
	z, err := zarr.Open(ctx, staged, name)
	if err != nil {
		return err
	}
	chunks, err := z.WrittenChunks(ctx)
	if err != nil {
		return err
	}
	if g := z.Grid(); len(chunks) != g[0]*g[1] {
		return fmt.Errorf("%s holds %d of its %d chunks: the update's work area is damaged; rerun with --exists overwrite", files.Join(staged, name), len(chunks), g[0]*g[1])
	}
	old, err := zarr.Open(ctx, out, name)
	if err != nil {
		return err
	}
	cp, cpDone, err := copier(ctx, out)
	if err != nil {
		return err
	}
	defer cpDone()
	for ij := range chunks {
		if err := cp(z.ChunkPath(ij[0], ij[1]), old.ChunkPath(ij[0], ij[1])); err != nil {
			return err
		}
	}
	had, err := old.WrittenChunks(ctx)
	if err != nil {
		return err
	}
	rm, done, err := remover(ctx, files.Join(out, name))
	if err != nil {
		return err
	}
	defer done()
	for ij := range had {
		if !chunks[ij] {
			if err := rm(old.ChunkPath(ij[0], ij[1])); err != nil {
				return err
			}
		}
	}
	return cp(files.Join(staged, name, ".zarray"), files.Join(out, name, ".zarray"))
}
