package sinks

// Streaming readers of the sparse and top-k outputs: they read one part
// file at a time (through readPart) and hand each row to a callback, so
// an output of any size is read in the memory of its largest part.

import (
	"context"
	"path"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/nblast-go/nblast/internal/files"
)

// Glob patterns, under OUT and OUT/topk, of the sparse and top-k part files.
const (
	SparsePartPattern = "part-*.parquet"
	TopKPartPattern   = "topk-*.parquet"
)

// EachSparseRow calls f for every row of the sparse output at out
// (OUT/part-*.parquet, in name order; rows in file order), holding one part
// file in memory at a time. It stops at f's first error and returns it. It
// does not check the manifest (ReadManifest does).
func EachSparseRow(ctx context.Context, out string, f func(SparseRow) error) error {
	return EachSparseRowBits(ctx, out, func(r SparseRow, _ int) error { return f(r) })
}

// EachSparseRowBits is EachSparseRow that also passes the width of the
// part's score column: 32 for FLOAT (Score is then a float32 widened
// exactly to float64), 64 for DOUBLE.
func EachSparseRowBits(ctx context.Context, out string, f func(r SparseRow, scoreBits int) error) error {
	return eachPartRow(ctx, out, SparsePartPattern, false, func(c outputColumns, i int) error {
		return f(SparseRow{Query: c.query(i), Target: c.target(i), Score: c.score(i)}, scoreBits(c))
	})
}

// EachTopKRow calls f for every row of the top-k output at dir (usually
// OUT/topk: dir/topk-*.parquet, in name order; rows in file order: by query
// id, then rank), holding one part file in memory at a time. It stops at
// f's first error and returns it.
func EachTopKRow(ctx context.Context, dir string, f func(TopKRow) error) error {
	return EachTopKRowBits(ctx, dir, func(r TopKRow, _ int) error { return f(r) })
}

// EachTopKRowBits is EachTopKRow that also passes the width of the part's
// score column (32 for FLOAT, 64 for DOUBLE).
func EachTopKRowBits(ctx context.Context, dir string, f func(r TopKRow, scoreBits int) error) error {
	return eachPartRow(ctx, dir, TopKPartPattern, true, func(c outputColumns, i int) error {
		return f(TopKRow{Query: c.query(i), Rank: c.rank(i), Target: c.target(i), Score: c.score(i)}, scoreBits(c))
	})
}

// ListParts returns the part files matching pattern (SparsePartPattern or
// TopKPartPattern) under dir, in name order, without the files whose name
// starts with "_" (a manifest).
func ListParts(ctx context.Context, dir, pattern string) ([]string, error) {
	names, err := files.Glob(ctx, files.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	keep := names[:0]
	for _, p := range names {
		if !strings.HasPrefix(path.Base(strings.ReplaceAll(p, "\\", "/")), "_") {
			keep = append(keep, p)
		}
	}
	return keep, nil
}

func scoreBits(c outputColumns) int {
	if c.Score.DataType().ID() == arrow.FLOAT64 {
		return 64
	}
	return 32
}

// eachPartRow lists the parts once and reads them one by one, so that f's
// error stops the reading at the end of the part in which it happened, not
// after every part: the rows left in that part are not passed to f.
func eachPartRow(ctx context.Context, dir, pattern string, rank bool, f func(c outputColumns, i int) error) error {
	parts, err := ListParts(ctx, dir, pattern)
	if err != nil {
		return err
	}
	var ferr error
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := readPart(ctx, p, rank, func(c outputColumns, i int) {
			if ferr == nil {
				ferr = f(c, i)
			}
		})
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
