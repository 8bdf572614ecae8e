package results

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/nblast-go/nblast/sinks"
)

// WriteCSV writes the output as a long table through cw (runner export):
// a header, then every row: query,target,score for sparse and dense
// outputs, query,rank,target,score for top-k; ids exactly, scores in the
// shortest form that reads back as the stored value. It returns the rows
// written. Check (or Status) must have looked at it; the rows of parts
// are counted against the manifest.
func (s *Source) WriteCSV(ctx context.Context, cw *csv.Writer) (int64, error) {
	var rows int64
	var err error
	switch {
	case s.Parts != nil && s.Parts.Kind == "sparse":
		rec := make([]string, 3)
		if err := cw.Write([]string{"query", "target", "score"}); err != nil {
			return 0, err
		}
		err = sinks.EachSparseRowBits(ctx, s.Parts.Dir, func(r sinks.SparseRow, bits int) error {
			rec[0], rec[1], rec[2] = r.Query.String(), r.Target.String(), strconv.FormatFloat(r.Score, 'g', -1, bits)
			rows++
			return cw.Write(rec)
		})
	case s.Parts != nil:
		rec := make([]string, 4)
		if err := cw.Write([]string{"query", "rank", "target", "score"}); err != nil {
			return 0, err
		}
		err = sinks.EachTopKRowBits(ctx, s.Parts.Dir, func(r sinks.TopKRow, bits int) error {
			rec[0], rec[1], rec[2], rec[3] = r.Query.String(), strconv.Itoa(r.Rank), r.Target.String(), strconv.FormatFloat(r.Score, 'g', -1, bits)
			rows++
			return cw.Write(rec)
		})
	default:
		return s.writeDense(ctx, cw)
	}
	if err != nil {
		return rows, err
	}
	// The manifest counts the rows of every part: a difference means
	// parts changed since (or a damaged output).
	if m := s.Parts.Manifest; m != nil && m.Complete && rows != m.Rows {
		return rows, fmt.Errorf("%s: read %d rows from %d part files, but %s says %d: the output changed after the run finished, or is damaged",
			s.Parts.Dir, rows, len(s.Parts.Files), sinks.ManifestName, m.Rows)
	}
	return rows, nil
}

// writeDense writes a dense array as rows query,target,score, chunk by
// chunk (chunk rows, then chunk columns; row-major inside a chunk), the
// order of a sparse output's parts. Chunks not written (an incomplete or
// damaged array, read with --allow_incomplete) are skipped.
func (s *Source) writeDense(ctx context.Context, cw *csv.Writer) (int64, error) {
	z := s.Z
	queries, targets, err := s.DenseIDs()
	if err != nil {
		return 0, err
	}
	written := s.Written // Check listed them
	if written == nil {
		if written, err = z.WrittenChunks(ctx); err != nil {
			return 0, err
		}
	}
	bits := 32 // float16 values are exact float32s
	if z.DType == "float64" {
		bits = 64
	}
	if err := cw.Write([]string{"query", "target", "score"}); err != nil {
		return 0, err
	}
	rec := make([]string, 3)
	var rows int64
	cr, cc := z.Chunks[0], z.Chunks[1]
	for i := 0; i*cr < z.Shape[0]; i++ {
		for j := 0; j*cc < z.Shape[1]; j++ {
			if written != nil && !written[[2]int{i, j}] {
				continue
			}
			r0, r1, c0, c1 := i*cr, min((i+1)*cr, z.Shape[0]), j*cc, min((j+1)*cc, z.Shape[1])
			vals, err := z.Read(ctx, r0, r1, c0, c1)
			if err != nil {
				return rows, err
			}
			for r := r0; r < r1; r++ {
				rec[0] = queries[r].String()
				for c := c0; c < c1; c++ {
					rec[1], rec[2] = targets[c].String(), strconv.FormatFloat(vals[(r-r0)*(c1-c0)+c-c0], 'g', -1, bits)
					if err := cw.Write(rec); err != nil {
						return rows, err
					}
					rows++
				}
			}
		}
	}
	return rows, nil
}
