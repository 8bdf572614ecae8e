package sinks

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

// bruteCompareIDs orders ids as the documented tie-break does, written
// independently of scoring.ID.Less: int64 ids numerically, string ids by bytes.
func bruteCompareIDs(a, b scoring.ID) int {
	if a.IsStr != b.IsStr {
		panic("mixed id kinds in a test")
	}
	if a.IsStr {
		return strings.Compare(a.Str, b.Str)
	}
	return cmp.Compare(a.Int, b.Int)
}

// bruteTopK is the top-k output computed row by row from the distinct
// work items: per query, every target with a score >= threshold, sorted by
// score (descending) then target id, the first k; queries in id order
// within their query block, blocks in order.
func bruteTopK(chunks []scores.Chunk, k int, threshold float64) []TopKRow {
	type cand struct {
		target scoring.ID
		score  float64
	}
	cands := map[int]map[scoring.ID][]cand{} // query block → query → candidates
	for _, c := range chunks {
		if cands[c.QB] == nil {
			cands[c.QB] = map[scoring.ID][]cand{}
		}
		for i, q := range c.Queries {
			for j, tg := range c.Targets {
				if v := c.Values[i*c.Cols+j]; v >= threshold {
					cands[c.QB][q] = append(cands[c.QB][q], cand{tg, v})
				}
			}
		}
	}
	var rows []TopKRow
	for _, qb := range slices.Sorted(maps.Keys(cands)) {
		queries := slices.SortedFunc(maps.Keys(cands[qb]), bruteCompareIDs)
		for _, q := range queries {
			cs := cands[qb][q]
			slices.SortFunc(cs, func(a, b cand) int {
				return cmp.Or(cmp.Compare(b.score, a.score), bruteCompareIDs(a.target, b.target))
			})
			for r, c := range cs[:min(k, len(cs))] {
				rows = append(rows, TopKRow{Query: q, Rank: r + 1, Target: c.target, Score: float64(float32(c.score))})
			}
		}
	}
	return rows
}

// TestWriteTopK runs WriteTopK on both runners, for int64 and string ids,
// on work items and on row chunks (one per query block, as the pipeline
// feeds it with a sparse output), retried, and compares with the
// brute-force top k, row for row (so the file order, by query then rank,
// is checked too); the files must be the same bytes whatever the runner or
// the chunks' shape.
func TestWriteTopK(t *testing.T) {
	ctx := context.Background()
	for _, str := range []bool{false, true} {
		shapes := []struct {
			name   string
			chunks []scores.Chunk
		}{{"items", testChunks(str)}, {"rows", testRowChunks(str)}}
		for _, k := range []int{1, 3, 50} {
			want := bruteTopK(shapes[0].chunks, k, testThreshold)
			if rows := bruteTopK(shapes[1].chunks, k, testThreshold); !slices.Equal(rows, want) {
				t.Fatalf("str=%v/k=%d: the brute-force top k of row chunks differs from that of work items", str, k)
			}
			var first map[string][]byte
			var firstRun string
			for _, shape := range shapes {
				for _, runner := range runners {
					chunks := shape.chunks
					name := fmt.Sprintf("str=%v/k=%d/%s/%s", str, k, shape.name, runner)
					t.Run(name, func(t *testing.T) {
						out := t.TempDir()
						start := time.Now()
						if err := runPipeline(t, runner, withRetries(chunks), func(s beam.Scope, col beam.PCollection) {
							WriteTopK(s, col, out, TopKConfig{K: k, Threshold: testThreshold, Expected: len(queryBlocks), Manifest: `{"k":1}`})
						}); err != nil {
							t.Fatal(err)
						}
						t.Logf("%s: %v", name, time.Since(start))
						got, err := ReadTopK(ctx, out)
						if err != nil {
							t.Fatal(err)
						}
						if len(got) != len(want) {
							t.Errorf("%d rows, want %d", len(got), len(want))
						}
						for i := range min(len(got), len(want)) {
							if got[i] != want[i] {
								t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
							}
						}

						// One file per query block; the same bytes on both runners.
						files := map[string][]byte{}
						entries, err := os.ReadDir(out)
						if err != nil {
							t.Fatal(err)
						}
						for _, e := range entries {
							files[e.Name()] = readAll(t, filepath.Join(out, e.Name()))
						}
						// The manifest, written last, counts them.
						m, err := ReadManifest(ctx, out)
						if err != nil || !m.Complete || m.Rows != int64(len(want)) || m.Parts != 2 || string(m.Parameters) != `{"k":1}` {
							t.Errorf("manifest %+v (%s), %v; want complete, %d rows, 2 parts", m, m.Parameters, err, len(want))
						}
						wantNames := []string{ManifestName, TopKPartName(0), TopKPartName(1)}
						if names := slices.Sorted(maps.Keys(files)); !slices.Equal(names, wantNames) {
							t.Errorf("files %v, want %v", names, wantNames)
						}
						idType := "int64"
						if str {
							idType = "utf8"
						}
						wantTypes := fmt.Sprintf("query:%s,rank:int32,target:%s,score:float32", idType, idType)
						if got := schemaTypes(partSchema(t, filepath.Join(out, TopKPartName(0)))); got != wantTypes {
							t.Errorf("columns %s, want %s", got, wantTypes)
						}
						if first == nil {
							first, firstRun = files, name
						} else if !maps.EqualFunc(first, files, bytes.Equal) {
							t.Errorf("files differ from those of %s", firstRun)
						}
					})
				}
			}
		}
	}
}

// TestTopKTestDataHasTies checks that the test data exercises what the
// tie-break decides: a tie at the k-th place, whose order differs between
// numeric and text order of int ids, and a tie across target blocks.
func TestTopKTestDataHasTies(t *testing.T) {
	rows := bruteTopK(testChunks(false), 2, testThreshold)
	// Query 0 (2^53+1) scores 0.75 against 3, 9, 12, 100: numeric order
	// keeps 3 and 9 (text order would keep 100 and 12).
	var got []string
	for _, r := range rows {
		if r.Query.Int == 1<<53+1 {
			got = append(got, fmt.Sprintf("%d:%s@%v", r.Rank, r.Target, r.Score))
		}
	}
	if want := []string{"1:3@0.75", "2:9@0.75"}; !slices.Equal(got, want) {
		t.Errorf("query 2^53+1 top 2 = %v, want %v", got, want)
	}
	rows = bruteTopK(testChunks(true), 2, testThreshold)
	got = nil
	for _, r := range rows {
		if r.Query.Str == "q-b" {
			got = append(got, fmt.Sprintf("%d:%s@%v", r.Rank, r.Target, r.Score))
		}
	}
	if want := []string{"1:100@0.75", "2:12@0.75"}; !slices.Equal(got, want) {
		t.Errorf("query q-b top 2 = %v, want %v", got, want)
	}
}

// TestTopKMerge: merging is order-independent, drops repeated targets and
// keeps k.
func TestTopKMerge(t *testing.T) {
	e := func(id int64, s float64) topkEntry { return topkEntry{Target: scoring.IntID(id), Score: s} }
	q := scoring.IntID(1 << 60)
	a := topkAcc{QB: 2, Query: q, Items: []topkEntry{e(5, 0.9), e(7, 0.5), e(1, 0.5)}}
	b := topkAcc{QB: 2, Query: q, Items: []topkEntry{e(5, 0.9), e(2, 0.5), e(9, 0.95)}}
	f := &topkMergeFn{K: 4}
	ab, ba := f.MergeAccumulators(a, b), f.MergeAccumulators(b, a)
	want := []topkEntry{e(9, 0.95), e(5, 0.9), e(1, 0.5), e(2, 0.5)}
	if !slices.Equal(ab.Items, want) || !slices.Equal(ba.Items, want) || ab.Query != q || ab.QB != 2 {
		t.Errorf("merge: %+v / %+v, want %v", ab, ba, want)
	}
	if z := f.MergeAccumulators(topkAcc{}, a); z.Query != q || z.QB != 2 {
		t.Errorf("merge with a zero accumulator: %+v", z)
	}
}

// TestWriteTopKThreshold: with a threshold above every score, each query
// block still gets a file, with no rows; with -Inf, every score but NaN
// ranks. Also on row chunks, where a query block whose every work item was
// skipped (all NaN) still gets its file, with no rows.
func TestWriteTopKThreshold(t *testing.T) {
	out := t.TempDir()
	chunks := testChunks(false)
	if err := runPipeline(t, "direct", chunks, func(s beam.Scope, col beam.PCollection) {
		WriteTopK(s, col, out, TopKConfig{K: 5, Threshold: 2, Expected: len(queryBlocks)})
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadTopK(context.Background(), out)
	if err != nil || len(rows) != 0 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for qb := range queryBlocks {
		if _, err := os.Stat(filepath.Join(out, TopKPartName(qb))); err != nil {
			t.Error(err)
		}
	}
	for _, runner := range runners { // -Inf: JSON cannot carry it; DoFns travel as JSON
		out = t.TempDir()
		if err := runPipeline(t, runner, chunks, func(s beam.Scope, col beam.PCollection) {
			WriteTopK(s, col, out, TopKConfig{K: 100, Threshold: math.Inf(-1), Expected: len(queryBlocks)})
		}); err != nil {
			t.Fatal(err)
		}
		rows, err = ReadTopK(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if math.IsNaN(r.Score) {
				t.Fatalf("%s: NaN ranked: %+v", runner, r)
			}
		}
		if want := bruteTopK(chunks, 100, math.Inf(-1)); !slices.Equal(rows, want) {
			t.Errorf("%s: %d rows, want %d", runner, len(rows), len(want))
		}
	}
	rowChunks := append(testRowChunks(false), skippedRowChunk(false))
	for _, runner := range runners {
		out = t.TempDir()
		if err := runPipeline(t, runner, rowChunks, func(s beam.Scope, col beam.PCollection) {
			WriteTopK(s, col, out, TopKConfig{K: 100, Threshold: math.Inf(-1), Expected: len(rowChunks)})
		}); err != nil {
			t.Fatal(err)
		}
		rows, err = ReadTopK(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteTopK(chunks, 100, math.Inf(-1)); len(want) == 0 || !slices.Equal(rows, want) {
			t.Errorf("%s, row chunks: %d rows, want %d", runner, len(rows), len(want))
		}
		m, err := ReadManifest(context.Background(), out)
		if err != nil || !m.Complete || m.Parts != len(rowChunks) || m.Rows != int64(len(rows)) {
			t.Errorf("%s, row chunks: manifest %+v, %v; want complete, %d parts, %d rows", runner, m, err, len(rowChunks), len(rows))
		}
		p := filepath.Join(out, TopKPartName(len(queryBlocks)))
		if n, err := PartRows(context.Background(), p); err != nil || n != 0 {
			t.Errorf("%s, row chunks: the skipped query block's file: %d rows, %v; want an empty file", runner, n, err)
		}
	}
}

// TestDuckDBReadsTopK reads a top-k output with DuckDB.
func TestDuckDBReadsTopK(t *testing.T) {
	out := t.TempDir()
	chunks := testChunks(false)
	if err := runPipeline(t, "direct", withRetries(chunks), func(s beam.Scope, col beam.PCollection) {
		WriteTopK(s, col, out, TopKConfig{K: 3, Threshold: testThreshold, Expected: len(queryBlocks)})
	}); err != nil {
		t.Fatal(err)
	}
	r := duckdb(t, filepath.Join(out, "topk-*.parquet"))
	want := bruteTopK(chunks, 3, testThreshold)
	var wantRows []string
	for _, w := range want {
		wantRows = append(wantRows, fmt.Sprintf("%s %s %v", w.Query, w.Target, w.Score))
	}
	slices.Sort(wantRows)
	wantTypes := map[string]string{"query": "BIGINT", "rank": "INTEGER", "target": "BIGINT", "score": "FLOAT"}
	if r.Count != len(want) || r.Duplicates != 0 || !maps.Equal(r.Types, wantTypes) {
		t.Errorf("DuckDB: %d rows (%d repeated pairs), types %v; want %d rows, types %v", r.Count, r.Duplicates, r.Types, len(want), wantTypes)
	}
	if got := duckdbRows(t, r); !slices.Equal(got, wantRows) {
		t.Errorf("DuckDB rows differ:\n got %v\nwant %v", got, wantRows)
	}
}

// TestWriteTopKIncomplete: when fewer top-k files are written than
// expected (a run killed while writing, or a lost block), the run fails and
// no manifest is written, so the output does not look complete.
func TestWriteTopKIncomplete(t *testing.T) {
	for _, shape := range []string{"items", "rows"} {
		for _, runner := range runners {
			t.Run(shape+"/"+runner, func(t *testing.T) {
				out := t.TempDir()
				chunks := testChunks(false)
				if shape == "rows" {
					chunks = testRowChunks(false)
				}
				var firstBlock []scores.Chunk
				for _, c := range chunks {
					if c.QB == 0 {
						firstBlock = append(firstBlock, c)
					}
				}
				err := runPipeline(t, runner, firstBlock, func(s beam.Scope, col beam.PCollection) {
					WriteTopK(s, col, out, TopKConfig{K: 3, Threshold: testThreshold, Expected: len(queryBlocks)})
				})
				want := fmt.Sprintf("1 of %d top-k files written", len(queryBlocks))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want one saying %q", err, want)
				}
				if _, err := ReadManifest(context.Background(), out); err == nil {
					t.Error("a manifest was written for an incomplete top-k output")
				}
			})
		}
	}
}
