package sinks

// Robustness of the sparse and top-k Parquet parts: the schema root
// arrow-go writes, and damaged pages read back as errors, not panics.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/parquettest"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

// bigChunk is the row chunk of query block 2: 40 queries x 50 targets
// (int64 ids) with random scores, all kept at threshold 0.
func bigChunk() scores.Chunk {
	rng := rand.New(rand.NewPCG(1, 2))
	c := scores.Chunk{QB: 2, TB: -1, Rows: 40, Cols: 50}
	for i := range c.Rows {
		c.Queries = append(c.Queries, scoring.IntID(int64(1)<<55+int64(i)))
	}
	for j := range c.Cols {
		c.Targets = append(c.Targets, scoring.IntID(int64(j)*7919))
	}
	for range c.Rows * c.Cols {
		c.Values = append(c.Values, rng.Float64())
	}
	return c
}

func rootRepetition(t *testing.T, data []byte) parquet.Repetition {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	return rdr.MetaData().Schema.Root().RepetitionType()
}

// TestPartRootRepetitionRequired: sparse and top-k parts (both written by
// encodeRecord) have a REQUIRED root, not arrow-go's default REPEATED.
func TestPartRootRepetitionRequired(t *testing.T) {
	data, _, err := EncodeSparsePart(bigChunk(), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rootRepetition(t, data); got != parquet.Repetitions.Required {
		t.Errorf("sparse part: root repetition %s, want required", got)
	}
	mem := memory.NewGoAllocator()
	sc := outputSchema(false, true, false, true) // a top-k part's schema
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(5)
	b.Field(1).(*array.Int32Builder).Append(1)
	b.Field(2).(*array.StringBuilder).Append("t")
	b.Field(3).(*array.Float32Builder).Append(0.5)
	data, err = encodeRecord(mem, sc, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := rootRepetition(t, data); got != parquet.Repetitions.Required {
		t.Errorf("top-k part: root repetition %s, want required", got)
	}
}

// writeSnappyPart writes the rows of c at or above 0 as a part in the
// sparse (or, with rank, top-k) layout, snappy-compressed (as pyarrow
// writes by default), in row groups of rowGroup rows.
func writeSnappyPart(t *testing.T, p string, c scores.Chunk, rank bool, rowGroup int) {
	t.Helper()
	mem := memory.NewGoAllocator()
	sc := outputSchema(false, false, false, rank)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for i := range c.Rows {
		for j := range c.Cols {
			k := 0
			b.Field(k).(*array.Int64Builder).Append(c.Queries[i].Int)
			if rank {
				k++
				b.Field(k).(*array.Int32Builder).Append(int32(j + 1))
			}
			b.Field(k + 1).(*array.Int64Builder).Append(c.Targets[j].Int)
			b.Field(k + 2).(*array.Float32Builder).Append(float32(c.Values[i*c.Cols+j]))
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(int64(rowGroup)),
		parquet.WithDictionaryDefault(false), parquet.WithDictionaryFor(colQuery, true), parquet.WithDictionaryFor(colTarget, true))
	parquettest.WriteRecord(t, p, rec, props)
}

// TestDamagedPartIsAnError damages a page of a sparse or top-k part (zstd,
// as EncodeSparsePart writes, or snappy): ReadSparse and ReadTopK must
// return an error naming the part, the row group and the column, not panic
// (arrow's decompressors panic on corrupt input, inside the goroutines of
// pqarrow's ReadTable).
func TestDamagedPartIsAnError(t *testing.T) {
	ctx := context.Background()
	c := bigChunk()
	for _, tc := range []struct {
		name   string
		snappy bool
		rank   bool
		col    string
		dict   bool
		rg     int
		at     float64
		fill   byte
	}{
		{"zstd score middle", false, false, colScore, false, 0, 0.5, 0xff},
		{"zstd score start", false, false, colScore, false, 0, 0, 0x00},
		{"zstd query dictionary", false, false, colQuery, true, 0, 0.5, 0xff},
		{"zstd target indices", false, false, colTarget, false, 0, 0, 0xff},
		{"snappy score start", true, false, colScore, false, 1, 0, 0xff},
		{"snappy target dictionary", true, false, colTarget, true, 0, 0, 0xff},
		{"snappy top-k rank start", true, true, colRank, false, 1, 0, 0xff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			p := filepath.Join(out, PartName(c.QB))
			read := func() error { _, err := ReadSparse(ctx, out); return err }
			if tc.rank {
				p = filepath.Join(out, TopKPartName(c.QB))
				read = func() error { _, err := ReadTopK(ctx, out); return err }
			}
			if tc.snappy {
				writeSnappyPart(t, p, c, tc.rank, c.Rows*c.Cols/2+1)
			} else {
				data, _, err := EncodeSparsePart(c, 0, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := read(); err != nil {
				t.Fatalf("before damage: %v", err)
			}
			parquettest.DamagePage(t, p, tc.rg, tc.col, tc.dict, tc.at, 8, tc.fill)
			err := read()
			if err == nil {
				t.Fatal("no error for a damaged page")
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range []string{p + ": ", fmt.Sprintf("row group %d", tc.rg), "column " + tc.col, "corrupt"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q has more than one line", msg)
			}
			// Resume acts on the damage itself: it must see a
			// DamagedError naming the part, with the advice apart.
			if d, ok := errors.AsType[*files.DamagedError](err); !ok || d.Path != p || d.Advice != PartCorruptAdvice || strings.Contains(d.Problem(), d.Advice) {
				t.Errorf("error %q: want a *files.DamagedError for %s with PartCorruptAdvice apart, got %#v", msg, p, d)
			}
			if n, err := PartRows(ctx, p); err != nil || n != int64(c.Rows*c.Cols) {
				t.Errorf("PartRows of a part with a damaged page (intact footer): %d, %v", n, err)
			}
		})
	}
}

// TestReadPartTypes: readPart still refuses parts of the wrong layout.
func TestReadPartTypes(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	mem := memory.NewGoAllocator()
	sc := arrow.NewSchema([]arrow.Field{{Name: colQuery, Type: arrow.PrimitiveTypes.Float64}, {Name: colTarget, Type: arrow.PrimitiveTypes.Int64}, {Name: colScore, Type: arrow.PrimitiveTypes.Float32}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Float64Builder).Append(1)
	b.Field(1).(*array.Int64Builder).Append(2)
	b.Field(2).(*array.Float32Builder).Append(0.5)
	data, err := encodeRecord(mem, sc, b)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(out, PartName(0))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSparse(ctx, out); err == nil || !strings.Contains(err.Error(), p+": column query has type float64") {
		t.Errorf("float64 query column: error %v", err)
	}
	if _, err := ReadTopK(ctx, out); err != nil {
		t.Errorf("ReadTopK of an output without top-k parts: %v", err)
	}
	if err := os.WriteFile(filepath.Join(out, TopKPartName(0)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTopK(ctx, out); err == nil || !strings.Contains(err.Error(), `no column "rank"`) {
		t.Errorf("top-k part without rank: error %v", err)
	}
}
