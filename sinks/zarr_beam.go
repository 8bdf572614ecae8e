package sinks

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/zarr"
)

func init() {
	register.DoFn2x2[context.Context, scores.Chunk, int, error](&writeChunkFn{})
	register.DoFn2x1[context.Context, int, error](&finalizeZarrFn{})
}

// WriteZarr writes each chunk of scores to the arrays of the Zarr group at
// out (created beforehand by zarr.Create) and, once all expected chunks are
// written, marks the arrays complete if owner still owns the output.
// arrays[0] receives Chunk.Values, the second (scores_reverse, for scores=both)
// Chunk.Reverse and one named MaskArray (--smart) Chunk.Mask; the mask's
// finalisation also records how many cells are exact (SmartAttrs).
func WriteZarr(s beam.Scope, chunks beam.PCollection, out string, arrays []zarr.ArraySpec, expected int, owner RunOwner) {
	s = s.Scope("WriteZarr")
	geo := geometries(arrays)
	written := beam.ParDo(s, &writeChunkFn{Out: out, Arrays: geo}, chunks)
	beam.ParDo0(s, &finalizeZarrFn{Out: out, Arrays: geo, Expected: expected, Owner: owner}, stats.Sum(s, written))
}

// ArrayGeometry is what workers need of a zarr.ArraySpec: not its attributes
// (the id lists can be large, and zarr.MarkComplete reads .zattrs back from
// storage).
type ArrayGeometry struct {
	Name, DType          string
	Rows, Cols           int
	ChunkRows, ChunkCols int
}

func geometries(arrays []zarr.ArraySpec) []ArrayGeometry {
	geo := make([]ArrayGeometry, len(arrays))
	for k, a := range arrays {
		geo[k] = ArrayGeometry{Name: a.Name, DType: a.DType, Rows: a.Shape[0], Cols: a.Shape[1], ChunkRows: a.Chunks[0], ChunkCols: a.Chunks[1]}
	}
	return geo
}

func (g ArrayGeometry) spec() zarr.ArraySpec {
	return zarr.ArraySpec{Name: g.Name, DType: g.DType, Shape: [2]int{g.Rows, g.Cols}, Chunks: [2]int{g.ChunkRows, g.ChunkCols}}
}

type writeChunkFn struct {
	Out    string
	Arrays []ArrayGeometry
}

func (f *writeChunkFn) ProcessElement(ctx context.Context, c scores.Chunk) (int, error) {
	for k, g := range f.Arrays {
		spec := g.spec()
		vals := c.Values
		switch {
		case g.Name == MaskArray:
			vals = maskValues(c.Mask)
		case k > 0:
			vals = c.Reverse
		}
		data, err := zarr.EncodeChunk(spec, c.Rows, c.Cols, vals)
		if err != nil {
			return 0, err
		}
		if err := zarr.WriteChunk(ctx, f.Out, spec, c.QB, c.TB, data); err != nil {
			return 0, err
		}
	}
	return 1, nil
}

type finalizeZarrFn struct {
	Out      string
	Arrays   []ArrayGeometry
	Expected int
	Owner    RunOwner
}

func (f *finalizeZarrFn) ProcessElement(ctx context.Context, written int) error {
	if written != f.Expected {
		return fmt.Errorf("%s: %d of %d chunks written; the result is not marked complete", f.Out, written, f.Expected)
	}
	specs := make([]zarr.ArraySpec, len(f.Arrays))
	for k, g := range f.Arrays {
		specs[k] = g.spec()
	}
	return FinishZarr(ctx, f.Out, specs, f.Owner)
}

// FinishZarr marks the arrays at out complete, every chunk being written,
// if owner still owns the output (with the smart mask's counts first): the
// last step of a run, or of a resumed run that found every chunk written.
func FinishZarr(ctx context.Context, out string, arrays []zarr.ArraySpec, owner RunOwner) error {
	if err := owner.Check(ctx); err != nil {
		return err
	}
	for _, a := range arrays {
		if a.Name == MaskArray {
			if err := recordSmartCounts(ctx, out, a); err != nil {
				return err
			}
		}
	}
	for _, a := range arrays {
		if err := zarr.MarkComplete(ctx, out, a); err != nil {
			return err
		}
	}
	return nil
}
