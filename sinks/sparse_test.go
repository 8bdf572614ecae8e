package sinks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

func TestMain(m *testing.M) {
	// Prism logs every job step at INFO; keep warnings and errors. beam.Init
	// (in ptest.MainWithDefault) replaces slog's default logger with one at
	// beamlog.LogLevel, so set both.
	beamlog.LogLevel = "warn"
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ptest.MainWithDefault(m, "prism")
}

// runners are the Beam runners the sink tests run on.
var runners = []string{"direct", "prism"}

// testThreshold is the threshold of the sink tests; some scores equal it.
const testThreshold = 0.25

// Test ids. The int ids include values above 2^53 that float64 cannot hold
// (2^53+1, 2^63-1) and values whose numeric and text orders differ (9, 12,
// 100), so a float64 round trip or a text sort shows up as a wrong id or a
// wrong top-k order.
var (
	intQueries = []int64{1<<53 + 1, 1<<53 + 3, 7, 1<<62 + 5, 1<<53 + 2}
	intTargets = []int64{9, 12, 100, 1<<53 + 1, math.MaxInt64, 10_000_000_000_000_001, 3, 1<<60 + 7, 42}
	strQueries = []string{"q-b", "q-a", "Q", "q-é", "q-10"}
	strTargets = []string{"9", "12", "100", "t_α", "T", "t-0", "a", "zz", "t-1"}
)

// Block boundaries: query blocks of 3 and 2 queries, target blocks of 4, 3
// and 2 targets.
var (
	queryBlocks  = [][2]int{{0, 3}, {3, 5}}
	targetBlocks = [][2]int{{0, 4}, {4, 7}, {7, 9}}
)

func testIDs(str bool) (qs, ts []scoring.ID) {
	if str {
		for _, s := range strQueries {
			qs = append(qs, scoring.StrID(s))
		}
		for _, s := range strTargets {
			ts = append(ts, scoring.StrID(s))
		}
		return qs, ts
	}
	for _, v := range intQueries {
		qs = append(qs, scoring.IntID(v))
	}
	for _, v := range intTargets {
		ts = append(ts, scoring.IntID(v))
	}
	return qs, ts
}

// testScores is the full query × target score matrix: multiples of 1/8 in
// [-0.5, 1] (so ties are common, and some scores equal testThreshold), some
// NaN (pruned pairs). Query 0 scores best, 0.75, against targets 9, 12,
// 100 and 3 (spread over two target blocks), so the top-k tie-break is
// exercised, and
// work item (query block 1, target block 2) is all NaN (as a target block
// pruning skipped reads in a row chunk).
func testScores() [][]float64 {
	r := rand.New(rand.NewPCG(1, 2))
	m := make([][]float64, len(intQueries))
	for i := range m {
		m[i] = make([]float64, len(intTargets))
		for j := range m[i] {
			if r.Float64() < 0.15 {
				m[i][j] = math.NaN()
			} else {
				m[i][j] = float64(r.IntN(13)-4) / 8
			}
		}
	}
	m[0][0], m[0][1], m[0][2], m[0][6] = 0.75, 0.75, 0.75, 0.75
	m[0][3], m[0][4], m[0][5], m[0][7], m[0][8] = 0.5, 0.5, testThreshold, math.NaN(), -0.5
	m[1][5] = 0.1 // not a multiple of 1/8: rounds when stored as FLOAT
	for i := 3; i < 5; i++ {
		m[i][7], m[i][8] = math.NaN(), math.NaN()
	}
	return m
}

// testChunks cuts the score matrix into work items, one per (query block,
// target block), as transforms.Score makes them.
func testChunks(str bool) []scores.Chunk {
	qs, ts := testIDs(str)
	m := testScores()
	var out []scores.Chunk
	for qb, q := range queryBlocks {
		for tb, t := range targetBlocks {
			c := scores.Chunk{QB: qb, TB: tb, Rows: q[1] - q[0], Cols: t[1] - t[0],
				Queries: qs[q[0]:q[1]], Targets: ts[t[0]:t[1]]}
			for i := q[0]; i < q[1]; i++ {
				for j := t[0]; j < t[1]; j++ {
					c.Values = append(c.Values, m[i][j])
					if math.IsNaN(m[i][j]) {
						c.Pruned++
					}
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// testRowChunks joins each query block's work items of testChunks into one
// row chunk, as transforms.Score makes them for the sparse output
// (ScoreConfig.Row): TB -1, every target in plan order, Values row-major
// over all targets. Query block 1's last target block is all NaN, as a
// target block pruning skipped holds.
func testRowChunks(str bool) []scores.Chunk {
	var out []scores.Chunk
	for _, c := range testChunks(str) {
		if c.TB == 0 {
			out = append(out, scores.Chunk{QB: c.QB, TB: -1, Rows: c.Rows, Queries: c.Queries})
		}
		r := &out[len(out)-1]
		if r.QB != c.QB || r.Rows != c.Rows {
			panic("testChunks are not in (query block, target block) order")
		}
		r.Targets = append(r.Targets, c.Targets...)
		r.Cols += c.Cols
		r.Pruned += c.Pruned
	}
	// Values, row by row: the row of query i is its rows of every target
	// block, in block order.
	chunks := testChunks(str)
	for k := range out {
		r := &out[k]
		for i := range r.Rows {
			for _, c := range chunks {
				if c.QB == r.QB {
					r.Values = append(r.Values, c.Values[i*c.Cols:(i+1)*c.Cols]...)
				}
			}
		}
	}
	return out
}

// skippedRowChunk is the row chunk of a query block (2, after those of
// testRowChunks) whose every work item pruning skipped: two queries of
// their own against every target, all NaN. Its part has no rows.
func skippedRowChunk(str bool) scores.Chunk {
	_, ts := testIDs(str)
	qs := []scoring.ID{scoring.IntID(1<<53 + 7), scoring.IntID(-8)}
	if str {
		qs = []scoring.ID{scoring.StrID("q-skipped"), scoring.StrID("")}
	}
	c := scores.Chunk{QB: len(queryBlocks), TB: -1, Rows: len(qs), Cols: len(ts), Queries: qs, Targets: ts}
	for range c.Rows * c.Cols {
		c.Values = append(c.Values, math.NaN())
	}
	return c
}

// bruteSparse is the sparse output's rows in file order, from the score
// matrix: queries in plan order, then targets in plan order (parts are
// named by query block, so name order is query block order).
func bruteSparse(str bool, threshold float64, float64Score bool) []SparseRow {
	qs, ts := testIDs(str)
	var rows []SparseRow
	for i, row := range testScores() {
		for j, v := range row {
			if v >= threshold {
				rows = append(rows, SparseRow{qs[i], ts[j], storedScore(v, float64Score)})
			}
		}
	}
	return rows
}

// TestRowChunksFixture: the row chunks are the score matrix, one per query
// block (so the sparse tests check what the pipeline feeds the sink).
func TestRowChunksFixture(t *testing.T) {
	qs, ts := testIDs(true)
	m := testScores()
	rcs := testRowChunks(true)
	if len(rcs) != len(queryBlocks) {
		t.Fatalf("%d row chunks, want %d", len(rcs), len(queryBlocks))
	}
	pruned := 0
	for qb, c := range rcs {
		q := queryBlocks[qb]
		if c.QB != qb || c.TB != -1 || c.Rows != q[1]-q[0] || c.Cols != len(ts) || !slices.Equal(c.Queries, qs[q[0]:q[1]]) ||
			!slices.Equal(c.Targets, ts) || len(c.Values) != c.Rows*c.Cols {
			t.Fatalf("row chunk %d: %+v", qb, c)
		}
		for i := range c.Rows {
			for j := range c.Cols {
				if v, w := c.Values[i*c.Cols+j], m[q[0]+i][j]; v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
					t.Errorf("row chunk %d [%d,%d] = %v, want %v", qb, i, j, v, w)
				}
				if math.IsNaN(m[q[0]+i][j]) {
					pruned++
				}
			}
		}
		pruned -= c.Pruned
	}
	if pruned != 0 {
		t.Errorf("row chunks' Pruned off by %d", pruned)
	}
}

// withRetries returns the chunks plus copies of two of them, as a retried
// or duplicated element (a work item, or a query block's row chunk)
// delivers them.
func withRetries(chunks []scores.Chunk) []scores.Chunk {
	return append(slices.Clone(chunks), chunks[1], chunks[len(chunks)-2])
}

// runPipeline builds a pipeline that creates chunks and applies write to
// them, and runs it on runner.
func runPipeline(t *testing.T, runner string, chunks []scores.Chunk, write func(s beam.Scope, col beam.PCollection)) error {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	write(s, beam.CreateList(s, chunks))
	// A hung job fails the test binary with the reason, not at go test's
	// -timeout.
	name := t.Name()
	defer time.AfterFunc(2*time.Minute, func() { panic(name + ": the job did not finish within 2m") }).Stop()
	_, err := beam.Run(context.Background(), runner, p)
	return err
}

// stored is what a score reads back as.
func storedScore(v float64, float64Score bool) float64 {
	if float64Score {
		return v
	}
	return float64(float32(v))
}

// expectedSparse filters the chunks at the threshold, brute force.
func expectedSparse(chunks []scores.Chunk, threshold float64, float64Score bool) []SparseRow {
	var rows []SparseRow
	for _, c := range chunks {
		for i := 0; i < c.Rows; i++ {
			for j := 0; j < c.Cols; j++ {
				v := c.Values[i*c.Cols+j]
				if !math.IsNaN(v) && v >= threshold {
					rows = append(rows, SparseRow{c.Queries[i], c.Targets[j], storedScore(v, float64Score)})
				}
			}
		}
	}
	return rows
}

func compareIDs(a, b scoring.ID) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

func sortSparse(rows []SparseRow) {
	slices.SortFunc(rows, func(a, b SparseRow) int {
		return cmp.Or(compareIDs(a.Query, b.Query), compareIDs(a.Target, b.Target), cmp.Compare(a.Score, b.Score))
	})
}

func diffSparse(t *testing.T, got, want []SparseRow) {
	t.Helper()
	sortSparse(got)
	sortSparse(want)
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
			return
		}
	}
}

// testManifest is the caller's manifest, with an id above 2^53 that must
// survive exactly.
const testManifest = `{"scores": "mean", "threshold": 0.25, "max_dist": null,
	"normalized": true, "version": "test", "seed_id": 12345678901234567891}`

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// partSchema reads the Arrow schema of a Parquet file.
func partSchema(t *testing.T, p string) *arrow.Schema {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(readAll(t, p)), file.WithReadProps(parquet.NewReaderProperties(memory.DefaultAllocator)))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func schemaTypes(sc *arrow.Schema) string {
	var s []string
	for _, f := range sc.Fields() {
		s = append(s, f.Name+":"+f.Type.String())
	}
	return strings.Join(s, ",")
}

// TestWriteSparse runs WriteSparse on both runners, for int64 and string
// ids and both score types, with retried query blocks (row chunks), and
// checks the rows (and their order: by query, then target, in plan order),
// the part files (one per query block: names, bytes, types), and the
// manifest.
func TestWriteSparse(t *testing.T) {
	for _, runner := range runners {
		for _, tc := range []struct {
			str, float64Score bool
		}{{false, false}, {true, false}, {false, true}} {
			name := fmt.Sprintf("%s/str=%v/float64=%v", runner, tc.str, tc.float64Score)
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				out := t.TempDir()
				chunks := append(testRowChunks(tc.str), skippedRowChunk(tc.str))
				cfg := SparseConfig{Threshold: testThreshold, Float64: tc.float64Score, Manifest: testManifest}
				start := time.Now()
				if err := runPipeline(t, runner, withRetries(chunks), func(s beam.Scope, col beam.PCollection) {
					WriteSparse(s, col, out, cfg, len(chunks))
				}); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %v", name, time.Since(start))

				got, err := ReadSparse(ctx, out)
				if err != nil {
					t.Fatal(err)
				}
				// Row for row, in file order: parts in query block order,
				// each row-major (query, then target, in plan order).
				want := bruteSparse(tc.str, testThreshold, tc.float64Score)
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("rows in file order differ: got %d, want %d\n got %v\nwant %v", len(got), len(want), got, want)
				}
				diffSparse(t, got, expectedSparse(chunks, testThreshold, tc.float64Score))

				// One part per query block, named from QB, with the
				// bytes EncodeSparsePart gives (so a rewrite is identical),
				// and nothing else left behind.
				entries, err := os.ReadDir(out)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				var wantNames []string
				var lastPart time.Time
				for _, c := range chunks {
					wantNames = append(wantNames, PartName(c.QB))
					p := filepath.Join(out, PartName(c.QB))
					data, _, err := EncodeSparsePart(c, testThreshold, tc.float64Score)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(readAll(t, p), data) {
						t.Errorf("%s: bytes differ from EncodeSparsePart's", p)
					}
					st, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					if st.ModTime().After(lastPart) {
						lastPart = st.ModTime()
					}
					idType, scoreType := "int64", "float32"
					if tc.str {
						idType = "utf8"
					}
					if tc.float64Score {
						scoreType = "float64"
					}
					wantTypes := fmt.Sprintf("query:%s,target:%s,score:%s", idType, idType, scoreType)
					if got := schemaTypes(partSchema(t, p)); got != wantTypes {
						t.Errorf("%s: columns %s, want %s", p, got, wantTypes)
					}
				}
				wantNames = append(wantNames, ManifestName)
				slices.Sort(wantNames)
				if !slices.Equal(names, wantNames) {
					t.Errorf("files %v, want %v", names, wantNames)
				}

				m, err := ReadManifest(ctx, out)
				if err != nil {
					t.Fatal(err)
				}
				if !m.Complete || m.Rows != int64(len(want)) || m.Parts != len(chunks) {
					t.Errorf("manifest %+v, want complete, %d rows, %d parts", m, len(want), len(chunks))
				}
				if string(m.Parameters) != compactJSON(t, testManifest) {
					t.Errorf("manifest parameters %s, want %s", m.Parameters, compactJSON(t, testManifest))
				}
				st, err := os.Stat(filepath.Join(out, ManifestName))
				if err != nil {
					t.Fatal(err)
				}
				if st.ModTime().Before(lastPart) {
					t.Errorf("manifest written at %v, before the last part (%v)", st.ModTime(), lastPart)
				}
			})
		}
	}
}

// TestWriteSparseRerun writes the same output twice, the second time over
// a damaged part, as a resumed or retried run does: every file comes back
// with the same bytes and no row is duplicated.
func TestWriteSparseRerun(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	chunks := testRowChunks(false)
	cfg := SparseConfig{Threshold: testThreshold, Manifest: testManifest}
	write := func(runner string) map[string][]byte {
		t.Helper()
		if err := runPipeline(t, runner, withRetries(chunks), func(s beam.Scope, col beam.PCollection) {
			WriteSparse(s, col, out, cfg, len(chunks))
		}); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		entries, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			got[e.Name()] = readAll(t, filepath.Join(out, e.Name()))
		}
		return got
	}
	first := write("direct")
	if err := os.WriteFile(filepath.Join(out, PartName(1)), []byte("half a part"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := write("prism")
	if len(first) != len(chunks)+1 || len(second) != len(first) {
		t.Fatalf("%d files, then %d, want %d", len(first), len(second), len(chunks)+1)
	}
	for name, b := range first {
		if !bytes.Equal(second[name], b) {
			t.Errorf("%s: bytes differ between runs", name)
		}
	}
	rows, err := ReadSparse(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteSparse(false, testThreshold, false); !slices.Equal(rows, want) {
		t.Errorf("after the rerun: %d rows, want %d in file order", len(rows), len(want))
	}
}

// TestWriteSparseIncomplete: when fewer parts are written than expected,
// the run fails and no manifest is written.
func TestWriteSparseIncomplete(t *testing.T) {
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			out := t.TempDir()
			chunks := testRowChunks(true)
			err := runPipeline(t, runner, chunks[1:], func(s beam.Scope, col beam.PCollection) {
				WriteSparse(s, col, out, SparseConfig{Threshold: testThreshold}, len(chunks))
			})
			want := fmt.Sprintf("%d of %d sparse parts written", len(chunks)-1, len(chunks))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one saying %q", err, want)
			}
			if _, err := ReadManifest(context.Background(), out); err == nil {
				t.Error("a manifest was written for an incomplete output")
			}
		})
	}
}

// TestWriteSparseNoChunks: no query blocks, nothing expected: an empty but
// complete output.
func TestWriteSparseNoChunks(t *testing.T) {
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			out := t.TempDir()
			if err := runPipeline(t, runner, []scores.Chunk{}, func(s beam.Scope, col beam.PCollection) {
				WriteSparse(s, col, out, SparseConfig{}, 0)
			}); err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Complete || m.Rows != 0 || m.Parts != 0 || string(m.Parameters) != "{}" {
				t.Errorf("manifest %+v", m)
			}
		})
	}
}

// TestWriteSparseNoThreshold: a threshold of -Inf (which JSON cannot
// carry, and DoFns travel as JSON) keeps every score but NaN.
func TestWriteSparseNoThreshold(t *testing.T) {
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			out := t.TempDir()
			chunks := testRowChunks(false)
			if err := runPipeline(t, runner, chunks, func(s beam.Scope, col beam.PCollection) {
				WriteSparse(s, col, out, SparseConfig{Threshold: math.Inf(-1)}, len(chunks))
			}); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSparse(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedSparse(chunks, math.Inf(-1), false)
			if n := len(intQueries) * len(intTargets); len(want) >= n || len(want) < n/2 {
				t.Fatalf("test data: %d non-NaN scores of %d", len(want), n)
			}
			if want := bruteSparse(false, math.Inf(-1), false); !slices.Equal(got, want) {
				t.Errorf("%d rows, want %d in file order (by query, then target)", len(got), len(want))
			}
			diffSparse(t, got, want) // sorts got
		})
	}
}

func TestWriteSparseBadManifest(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "not valid JSON") {
			t.Errorf("panic %v, want one about invalid JSON", r)
		}
	}()
	_, s := beam.NewPipelineWithRoot()
	WriteSparse(s, beam.CreateList(s, testRowChunks(false)), t.TempDir(), SparseConfig{Manifest: "{oops"}, len(queryBlocks))
}

func TestPartNameAndExists(t *testing.T) {
	ctx := context.Background()
	if got := PartName(3); got != "part-00003.parquet" {
		t.Errorf("PartName(3) = %q", got)
	}
	if got := PartName(123456); got != "part-123456.parquet" {
		t.Errorf("PartName(123456) = %q", got)
	}
	out := t.TempDir()
	c := testRowChunks(false)[1]
	if parts, err := WrittenParts(ctx, out); len(parts) != 0 || err != nil {
		t.Fatalf("before writing: %v, %v", parts, err)
	}
	data, rows, err := EncodeSparsePart(c, testThreshold, false)
	if err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Fatal("test data: query block 1 has no row at the threshold")
	}
	if err := os.WriteFile(filepath.Join(out, PartName(c.QB)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A temporary file of an interrupted write is not a part.
	if err := os.WriteFile(filepath.Join(out, PartName(c.QB+1)+".tmp-0123abcd"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	parts, err := WrittenParts(ctx, out)
	if err != nil || len(parts) != 1 || parts[c.QB] != filepath.Join(out, PartName(c.QB)) {
		t.Fatalf("after writing: %v, %v", parts, err)
	}
	if n, err := PartRows(ctx, parts[c.QB]); n != rows || err != nil {
		t.Fatalf("PartRows = %d, %v; want %d", n, err, rows)
	}
	// A name PartName does not give (unpadded, or an older version's
	// per-work-item part) would be read with the others: resume refuses.
	for _, name := range []string{"part-2.parquet", "part-00002-00001.parquet"} {
		bad := filepath.Join(out, name)
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := WrittenParts(ctx, out)
		if err == nil || !strings.HasPrefix(err.Error(), bad+": ") || !strings.Contains(err.Error(), "--exists overwrite") {
			t.Errorf("with %s: err = %v, want one naming the file and advising --exists overwrite", name, err)
		}
		if err := os.Remove(bad); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadSparse(ctx, out)
	if err != nil || int64(len(got)) != rows {
		t.Fatalf("read %d rows (%v), want %d", len(got), err, rows)
	}
}

// TestEncodeSparsePartEmpty: a query block with no score at the threshold
// (here every work item skipped, all NaN) still gets a valid part, with the
// columns' types.
func TestEncodeSparsePartEmpty(t *testing.T) {
	c := skippedRowChunk(true)
	data, rows, err := EncodeSparsePart(c, math.Inf(-1), false)
	if err != nil || rows != 0 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	p := filepath.Join(t.TempDir(), "part.parquet")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := schemaTypes(partSchema(t, p)); got != "query:utf8,target:utf8,score:float32" {
		t.Errorf("columns %s", got)
	}
	bad := c
	bad.Queries = []scoring.ID{scoring.StrID("a"), scoring.IntID(1)}
	if _, _, err := EncodeSparsePart(bad, 0, false); err == nil || !strings.Contains(err.Error(), "mix") {
		t.Errorf("mixed id kinds: error %v", err)
	}
	short := testRowChunks(false)[0]
	short.Values = short.Values[:len(short.Values)-1]
	if _, _, err := EncodeSparsePart(short, 0, false); err == nil || !strings.Contains(err.Error(), "query block 0") {
		t.Errorf("values short of Rows x Cols: error %v", err)
	}
}

// duckdbResult is what testdata/duckdb/check.mjs prints.
type duckdbResult struct {
	Version       string
	Count         int
	Sum, Min, Max float64
	Duplicates    int
	QueryMin      string `json:"query_min"`
	QueryMax      string `json:"query_max"`
	TargetMin     string `json:"target_min"`
	TargetMax     string `json:"target_max"`
	Types         map[string]string
	Rows          [][3]any
}

// duckdb runs testdata/duckdb/check.mjs on the files matching pattern. It
// skips the test when node or @duckdb/node-api is missing, unless
// NBLAST_REQUIRE_DUCKDB=1.
func duckdb(t *testing.T, pattern string) duckdbResult {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		msg := "DuckDB cross-check not run: " + why + "; to run it, install Node.js >= 18 and run: npm ci --prefix sinks/testdata/duckdb"
		if os.Getenv("NBLAST_REQUIRE_DUCKDB") == "1" {
			t.Fatal("NBLAST_REQUIRE_DUCKDB=1: " + msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	dir := filepath.Join("testdata", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		missing("@duckdb/node-api is not installed in " + dir)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(node, filepath.Join(dir, "check.mjs"), pattern, "--rows")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node check.mjs %s: %v\n%s", pattern, err, stderr.String())
	}
	var r duckdbResult
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("check.mjs output: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("check.mjs printed more than one JSON value")
	}
	return r
}

// duckdbRows turns check.mjs's rows into text, as "query target score".
func duckdbRows(t *testing.T, r duckdbResult) []string {
	t.Helper()
	var out []string
	for _, row := range r.Rows {
		q, okq := row[0].(string)
		tg, okt := row[1].(string)
		s, oks := row[2].(float64)
		if !okq || !okt || !oks {
			t.Fatalf("check.mjs row %v: want [text, text, number]", row)
		}
		out = append(out, fmt.Sprintf("%s %s %v", q, tg, s))
	}
	slices.Sort(out)
	return out
}

// TestDuckDBReadsSparse writes sparse outputs on the direct runner and
// reads them with DuckDB (read_parquet('OUT/part-*.parquet')): same rows,
// ids exact (int64 above 2^53; strings), the column types of the contract,
// the empty part readable.
func TestDuckDBReadsSparse(t *testing.T) {
	for _, tc := range []struct {
		str, float64Score bool
		types             map[string]string
	}{
		{false, false, map[string]string{"query": "BIGINT", "target": "BIGINT", "score": "FLOAT"}},
		{true, true, map[string]string{"query": "VARCHAR", "target": "VARCHAR", "score": "DOUBLE"}},
	} {
		t.Run(fmt.Sprintf("str=%v/float64=%v", tc.str, tc.float64Score), func(t *testing.T) {
			out := t.TempDir()
			chunks := append(testRowChunks(tc.str), skippedRowChunk(tc.str)) // the last part has no rows
			cfg := SparseConfig{Threshold: testThreshold, Float64: tc.float64Score, Manifest: testManifest}
			if err := runPipeline(t, "direct", withRetries(chunks), func(s beam.Scope, col beam.PCollection) {
				WriteSparse(s, col, out, cfg, len(chunks))
			}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r := duckdb(t, filepath.Join(out, "part-*.parquet"))
			t.Logf("%s: DuckDB check in %v", r.Version, time.Since(start))

			want := expectedSparse(chunks, testThreshold, tc.float64Score)
			var sum float64
			mn, mx := math.Inf(1), math.Inf(-1)
			var wantRows []string
			for _, w := range want {
				sum += w.Score
				mn, mx = min(mn, w.Score), max(mx, w.Score)
				wantRows = append(wantRows, fmt.Sprintf("%s %s %v", w.Query, w.Target, w.Score))
			}
			slices.Sort(wantRows)
			if r.Count != len(want) || r.Duplicates != 0 {
				t.Errorf("DuckDB: %d rows (%d repeated pairs), want %d rows", r.Count, r.Duplicates, len(want))
			}
			if math.Abs(r.Sum-sum) > 1e-9*math.Max(1, math.Abs(sum)) || r.Min != mn || r.Max != mx {
				t.Errorf("DuckDB: sum %v min %v max %v, want %v %v %v", r.Sum, r.Min, r.Max, sum, mn, mx)
			}
			if !maps.Equal(r.Types, tc.types) {
				t.Errorf("DuckDB column types %v, want %v", r.Types, tc.types)
			}
			if got := duckdbRows(t, r); !slices.Equal(got, wantRows) {
				t.Errorf("DuckDB rows differ:\n got %v\nwant %v", got, wantRows)
			}
			qs, _ := testIDs(tc.str)
			if !tc.str && (r.QueryMax != fmt.Sprint(int64(1<<62+5)) || r.QueryMin != "7") {
				t.Errorf("DuckDB query ids %s..%s, want 7..%d (exact int64)", r.QueryMin, r.QueryMax, qs[3].Int)
			}
		})
	}
}
