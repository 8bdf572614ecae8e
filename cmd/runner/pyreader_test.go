package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/scipytest"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// The tests of python/nblast_results.py, the Python reader shipped in the
// repository: Debian's /usr/bin/python3 imports it and reads real outputs
// of the scoring run (the golden neurons, each sink); what it returns is
// compared with what the Go readers (zarr.Open, ReadSparse, ReadTopK)
// read: ids exactly (as strings, and their dtype: int64 or object),
// values exactly (as the stored float32 / float64), in the same order.

// pyReaderScript calls nblast_results with the JSON keyword arguments in
// argv[2] and prints what it returned as JSON: ids as str(), scores as
// repr(float()) (exact for float32 and float64), dtypes as pandas names.
const pyReaderScript = `
import json, sys
sys.dont_write_bytecode = True  # no python/__pycache__ in the work tree
sys.path.insert(0, sys.argv[1])
import nblast_results as nr
kw = json.loads(sys.argv[2])
call = kw.pop("call")
def cell(v):
    return repr(float(v)) if isinstance(v, float) or type(v).__name__.startswith("float") else str(v)
try:
    if call == "read":
        df = nr.read(**kw)
        if kw.get("what") in ("scores", "scores_reverse", "smart_mask"):
            res = {"index": [str(v) for v in df.index], "index_dtype": str(df.index.dtype),
                   "index_name": df.index.name, "columns_name": df.columns.name,
                   "columns": [str(v) for v in df.columns], "columns_dtype": str(df.columns.dtype),
                   "dtypes": sorted({str(t) for t in df.dtypes}), "complete": df.attrs.get("complete"),
                   "values": [[repr(float(v)) for v in row] for row in df.to_numpy()]}
        else:
            res = {"columns": list(df.columns), "dtypes": {c: str(t) for c, t in df.dtypes.items()},
                   "rows": [[cell(v) for v in row] for row in df.itertuples(index=False, name=None)]}
    else:
        m, q, t = nr.to_sparse(**kw)
        c = m.tocoo()
        res = {"format": m.format, "dtype": str(m.dtype), "shape": list(m.shape),
               "qids": [str(v) for v in q], "qdtype": str(q.dtype), "tids": [str(v) for v in t],
               "tdtype": str(t.dtype), "entries": [[int(i), int(j), repr(float(v))] for i, j, v in zip(c.row, c.col, c.data)]}
except nr.IncompleteOutputError as e:
    res = {"error": "incomplete", "message": str(e)}
except nr.OutputError as e:
    res = {"error": "output", "message": str(e)}
print(json.dumps(res))
`

// pyResult is what pyReaderScript printed.
type pyResult struct {
	Error, Message string

	// read, dense
	Index, Columns []string
	IndexDType     string `json:"index_dtype"`
	ColumnsDType   string `json:"columns_dtype"`
	IndexName      string `json:"index_name"`
	ColumnsName    string `json:"columns_name"`
	Complete       *bool
	Values         [][]string
	DTypesDense    []string `json:"-"`
	DTypes         json.RawMessage
	Rows           [][]string // read, long
	Format, DType  string     // to_sparse
	Shape          []int
	QIDs, TIDs     []string
	QDType         string `json:"qdtype"`
	TDType         string `json:"tdtype"`
	Entries        [][3]any
	longDTypes     map[string]string
}

// pyHas reports whether /usr/bin/python3 imports module.
func pyHas(module string) bool {
	return exec.Command("/usr/bin/python3", "-c", "import "+module).Run() == nil
}

// pyReader runs pyReaderScript with kw (and "call").
func pyReader(t *testing.T, kw map[string]any) pyResult {
	t.Helper()
	dir, err := filepath.Abs("../../python")
	if err != nil {
		t.Fatal(err)
	}
	arg, err := json.Marshal(kw)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", pyReaderScript, dir, string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("nblast_results %s: %v\n%s", arg, err, stderr.String())
	}
	var r pyResult
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("nblast_results output: %v\n%s", err, b)
	}
	if len(r.DTypes) > 0 && r.DTypes[0] == '{' {
		if err := json.Unmarshal(r.DTypes, &r.longDTypes); err != nil {
			t.Fatal(err)
		}
	} else if len(r.DTypes) > 0 {
		if err := json.Unmarshal(r.DTypes, &r.DTypesDense); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func parseScore(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("score %q: %v", s, err)
	}
	return f
}

// sameScore: exactly the stored value (float32 scores compare as float32
// when the reader returned float64, as from a bare CSV).
func sameScore(got, want float64, bits int) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if bits == 32 {
		return float32(got) == float32(want)
	}
	return got == want
}

func idDType(intIDs bool) string {
	if intIDs {
		return "int64"
	}
	return "object"
}

// checkDense compares nblast_results.read(out, what=name) with the array
// as zarr.Open reads it.
func checkDense(t *testing.T, r pyResult, out, name string, intIDs bool) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("nblast_results: %s: %s", r.Error, r.Message)
	}
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, name)
	queries, err := results.AttrIDs(z.Attrs["queries"], path, "queries")
	if err != nil {
		t.Fatal(err)
	}
	targets, err := results.AttrIDs(z.Attrs["targets"], path, "targets")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Index, "\n") != strings.Join(idStrings(queries), "\n") || strings.Join(r.Columns, "\n") != strings.Join(idStrings(targets), "\n") {
		t.Fatalf("ids: index %q columns %q; .zattrs queries %v targets %v", r.Index, r.Columns, queries, targets)
	}
	if r.IndexDType != idDType(intIDs) || r.ColumnsDType != idDType(intIDs) || r.IndexName != "query" || r.ColumnsName != "target" {
		t.Errorf("index %s (%s), columns %s (%s); want %s, query / target", r.IndexDType, r.IndexName, r.ColumnsDType, r.ColumnsName, idDType(intIDs))
	}
	wantDType := map[string]string{"float32": "float32", "float64": "float64", "float16": "float16", "bool": "bool"}[z.DType]
	if len(r.DTypesDense) != 1 || r.DTypesDense[0] != wantDType {
		t.Errorf("value dtypes %v, want %s (the array's %s)", r.DTypesDense, wantDType, z.DType)
	}
	want, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Values) != z.Shape[0] {
		t.Fatalf("%d rows, the array has %d", len(r.Values), z.Shape[0])
	}
	for i, row := range r.Values {
		if len(row) != z.Shape[1] {
			t.Fatalf("row %d: %d columns, the array has %d", i, len(row), z.Shape[1])
		}
		for j, s := range row {
			got := parseScore(t, s)
			w := want[i*z.Shape[1]+j]
			if !(got == w || math.IsNaN(got) && math.IsNaN(w)) {
				t.Fatalf("[%d, %d] (%s, %s): nblast_results %v, Go reader %v", i, j, queries[i], targets[j], got, w)
			}
		}
	}
}

// TestPyReaderDense reads real dense outputs with nblast_results.read:
// int64 ids above 2^53 (scores and scores_reverse) and non-ASCII string
// ids, through zarr-python and through runner export's CSV.
func TestPyReaderDense(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	pythonZarr(t)
	requirePandas(t)
	bin := binary(t, ".")
	in, _ := nonASCIIInput(t)
	strOut := filepath.Join(t.TempDir(), "kc-out")
	runStep(t, "run", nil, nil, "--queries", in, "--out", strOut)
	smartOut := filepath.Join(t.TempDir(), "smart-out")
	runStep(t, "smart run", nil, nil, "--queries", goldenInput(t), "--out", smartOut, "--smart", "--smart_t", "50")
	for _, tc := range []struct {
		name, out, what string
		intIDs          bool
	}{
		{"int64/scores", fixture(t, "dense"), "scores", true},
		{"int64/scores_reverse", fixture(t, "dense"), "scores_reverse", true},
		{"strings/scores", strOut, "scores", false},
		{"smart/scores", smartOut, "scores", true},
		{"smart/smart_mask", smartOut, "smart_mask", true},
	} {
		for _, engine := range []string{"zarr", "csv", "auto"} {
			t.Run(tc.name+"/"+engine, func(t *testing.T) {
				if tc.what == "smart_mask" && engine == "csv" {
					r := pyReader(t, map[string]any{"call": "read", "out": tc.out, "what": tc.what, "engine": engine, "runner": bin})
					if r.Error != "output" || !strings.Contains(r.Message, "zarr") {
						t.Fatalf("smart_mask through the CSV route: %q %q, want an OutputError naming zarr", r.Error, r.Message)
					}
					return
				}
				r := pyReader(t, map[string]any{"call": "read", "out": tc.out, "what": tc.what, "engine": engine, "runner": bin})
				checkDense(t, r, tc.out, tc.what, tc.intIDs)
				if r.Complete == nil || !*r.Complete {
					t.Errorf("DataFrame.attrs complete %v, want true", r.Complete)
				}
			})
		}
	}
}

// checkLong compares a long table (sparse or top-k) with the rows the Go
// reader reads, in order.
func checkLong(t *testing.T, r pyResult, want []wantRow, rank bool, bits int, intIDs bool, scoreDType string) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("nblast_results: %s: %s", r.Error, r.Message)
	}
	cols := []string{"query", "target", "score"}
	if rank {
		cols = []string{"query", "rank", "target", "score"}
	}
	if strings.Join(r.Columns, ",") != strings.Join(cols, ",") {
		t.Fatalf("columns %v, want %v", r.Columns, cols)
	}
	d := r.longDTypes
	if d["query"] != idDType(intIDs) || d["target"] != idDType(intIDs) || d["score"] != scoreDType || (rank && d["rank"] != "int64") {
		t.Errorf("dtypes %v, want ids %s, rank int64, score %s", d, idDType(intIDs), scoreDType)
	}
	if len(r.Rows) != len(want) || len(want) == 0 {
		t.Fatalf("%d rows, the output holds %d", len(r.Rows), len(want))
	}
	for i, w := range want {
		row := r.Rows[i]
		q, tg, s := row[0], row[1], row[2]
		if rank {
			if row[1] != strconv.Itoa(w.rank) {
				t.Fatalf("row %d: rank %s, want %d", i, row[1], w.rank)
			}
			tg, s = row[2], row[3]
		}
		if q != w.ids[0].String() || tg != w.ids[1].String() {
			t.Fatalf("row %d: ids %q, %q; want %q, %q", i, q, tg, w.ids[0], w.ids[1])
		}
		if got := parseScore(t, s); !sameScore(got, w.score, bits) || (scoreDType != "float64" || bits == 64) && got != w.score {
			t.Fatalf("row %d: score %v, stored %v (%d-bit)", i, got, w.score, bits)
		}
	}
}

// TestPyReaderSparseTopK reads real sparse and top-k outputs (int64 ids
// with FLOAT scores; string ids, some with a comma, quotes, a tab or digits
// only, with DOUBLE sparse scores) with nblast_results.read through every
// route Debian has: the runner binary (runner=), a CSV the user exported
// (csv=, with OUT for the types and without), and pyarrow / duckdb when
// importable.
func TestPyReaderSparseTopK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	requirePandas(t)
	bin := binary(t, ".")
	for _, tc := range []struct {
		fixture, what string
		bits          int
		intIDs        bool
	}{
		{"sparse", "sparse", 32, true},
		{"sparse", "topk", 32, true},
		{"topk", "topk", 32, true},
		{"strings", "sparse", 64, false},
		{"strings", "topk", 32, false},
	} {
		out := fixture(t, tc.fixture)
		var want []wantRow
		if tc.what == "sparse" {
			want = sparseWant(t, out)
		} else {
			want = topkWant(t, filepath.Join(out, "topk"))
		}
		scoreDType := "float32"
		if tc.bits == 64 {
			scoreDType = "float64"
		}
		csvFile := filepath.Join(t.TempDir(), tc.fixture+"-"+tc.what+".csv")
		if _, _, err := export(t, "--out", out, "--what", tc.what, "--to", csvFile); err != nil {
			t.Fatal(err)
		}
		name := tc.fixture + "/" + tc.what
		t.Run(name+"/runner", func(t *testing.T) {
			checkLong(t, pyReader(t, map[string]any{"call": "read", "out": out, "what": tc.what, "runner": bin, "engine": "csv"}), want, tc.what == "topk", tc.bits, tc.intIDs, scoreDType)
		})
		t.Run(name+"/runner-default-what", func(t *testing.T) {
			if tc.what == "topk" && tc.fixture != "topk" {
				t.Skip("the default of an output with both is sparse")
			}
			t.Setenv("NBLAST_RUNNER", bin)
			checkLong(t, pyReader(t, map[string]any{"call": "read", "out": out, "engine": "csv"}), want, tc.what == "topk", tc.bits, tc.intIDs, scoreDType)
		})
		t.Run(name+"/csv-with-out", func(t *testing.T) {
			checkLong(t, pyReader(t, map[string]any{"call": "read", "out": out, "what": tc.what, "csv": csvFile}), want, tc.what == "topk", tc.bits, tc.intIDs, scoreDType)
		})
		t.Run(name+"/csv-alone", func(t *testing.T) {
			// Without OUT: ids that all read as integers are int64 ("007"
			// keeps the string fixture's ids str), scores float64 (of the
			// shortest FLOAT text: the same float32).
			checkLong(t, pyReader(t, map[string]any{"call": "read", "out": nil, "what": tc.what, "csv": csvFile}), want, tc.what == "topk", tc.bits, tc.intIDs, "float64")
		})
		for _, engine := range []string{"pyarrow", "duckdb"} {
			t.Run(name+"/"+engine, func(t *testing.T) {
				if !pyHas(engine) {
					t.Skipf("/usr/bin/python3 cannot import %s (Debian packages neither pyarrow nor duckdb for Python): the %s route is not tested here", engine, engine)
				}
				checkLong(t, pyReader(t, map[string]any{"call": "read", "out": out, "what": tc.what, "engine": engine}), want, tc.what == "topk", tc.bits, tc.intIDs, scoreDType)
			})
		}
	}
}

// TestPyReaderToSparse checks nblast_results.to_sparse: a CSR matrix
// holding exactly the output's pairs, with its row and column ids.
func TestPyReaderToSparse(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	requirePandas(t)
	scipytest.Require(t, "scipy.sparse")
	bin := binary(t, ".")
	type cell struct{ q, t string }
	check := func(t *testing.T, r pyResult, want map[cell]float64, bits int, intIDs bool) {
		t.Helper()
		if r.Error != "" {
			t.Fatalf("nblast_results: %s: %s", r.Error, r.Message)
		}
		dt := "float32"
		if bits == 64 {
			dt = "float64"
		}
		if r.Format != "csr" || r.DType != dt || r.QDType != idDType(intIDs) || r.TDType != idDType(intIDs) {
			t.Errorf("format %s dtype %s ids %s, %s; want csr, %s, %s", r.Format, r.DType, r.QDType, r.TDType, dt, idDType(intIDs))
		}
		if len(r.Shape) != 2 || r.Shape[0] != len(r.QIDs) || r.Shape[1] != len(r.TIDs) {
			t.Fatalf("shape %v for %d query and %d target ids", r.Shape, len(r.QIDs), len(r.TIDs))
		}
		if len(r.Entries) != len(want) {
			t.Fatalf("%d stored entries, the output holds %d pairs", len(r.Entries), len(want))
		}
		for _, e := range r.Entries {
			i, _ := strconv.Atoi(string(e[0].(json.Number)))
			j, _ := strconv.Atoi(string(e[1].(json.Number)))
			c := cell{r.QIDs[i], r.TIDs[j]}
			w, ok := want[c]
			if !ok {
				t.Fatalf("entry (%s, %s) is not in the output", c.q, c.t)
			}
			if got := parseScore(t, e[2].(string)); got != w {
				t.Fatalf("(%s, %s): %v, stored %v", c.q, c.t, got, w)
			}
			delete(want, c)
		}
	}
	for _, tc := range []struct {
		fixture, what string
		bits          int
		intIDs        bool
	}{
		{"sparse", "sparse", 32, true},
		{"sparse", "topk", 32, true},
		{"strings", "sparse", 64, false},
	} {
		t.Run(tc.fixture+"/"+tc.what, func(t *testing.T) {
			out := fixture(t, tc.fixture)
			want := map[cell]float64{}
			if tc.what == "sparse" {
				for _, r := range sparseWant(t, out) {
					want[cell{r.ids[0].String(), r.ids[1].String()}] = r.score
				}
			} else {
				for _, r := range topkWant(t, filepath.Join(out, "topk")) {
					want[cell{r.ids[0].String(), r.ids[1].String()}] = r.score
				}
			}
			check(t, pyReader(t, map[string]any{"call": "to_sparse", "out": out, "what": tc.what, "runner": bin, "engine": "csv"}), want, tc.bits, tc.intIDs)
		})
	}
	t.Run("dense/scores", func(t *testing.T) {
		pythonZarr(t)
		out := fixture(t, "dense")
		ctx := context.Background()
		z, err := zarr.Open(ctx, out, "scores")
		if err != nil {
			t.Fatal(err)
		}
		q, _ := results.AttrIDs(z.Attrs["queries"], out, "queries")
		tg, _ := results.AttrIDs(z.Attrs["targets"], out, "targets")
		vals, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		want := map[cell]float64{}
		for i := range q {
			for j := range tg {
				want[cell{q[i].String(), tg[j].String()}] = vals[i*len(tg)+j]
			}
		}
		r := pyReader(t, map[string]any{"call": "to_sparse", "out": out, "what": "scores"})
		check(t, r, want, 32, true)
		if strings.Join(r.QIDs, " ") != strings.Join(idStrings(q), " ") || strings.Join(r.TIDs, " ") != strings.Join(idStrings(tg), " ") {
			t.Errorf("ids %v, %v; .zattrs %v, %v", r.QIDs, r.TIDs, q, tg)
		}
	})
}

// TestPyReaderIncomplete: an output whose run did not finish (no
// _manifest.json; .zattrs complete: false) raises IncompleteOutputError
// with a message that says so, on every route; allow_incomplete reads
// what was written.
func TestPyReaderIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	requirePandas(t)
	bin := binary(t, ".")
	sparse := copyOutput(t, fixture(t, "sparse"))
	for _, p := range []string{filepath.Join(sparse, sinks.ManifestName), filepath.Join(sparse, "topk", sinks.ManifestName)} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	expectIncomplete := func(t *testing.T, kw map[string]any, mention string) {
		t.Helper()
		r := pyReader(t, kw)
		if r.Error != "incomplete" || !strings.Contains(r.Message, mention) || !strings.Contains(r.Message, "incomplete") {
			t.Fatalf("%v: got error %q %q, want IncompleteOutputError mentioning %q", kw, r.Error, r.Message, mention)
		}
	}
	for _, what := range []string{"sparse", "topk"} {
		for _, engine := range []string{"csv", "pyarrow", "duckdb"} {
			t.Run(what+"/"+engine, func(t *testing.T) {
				if engine != "csv" && !pyHas(engine) {
					t.Skipf("/usr/bin/python3 cannot import %s: not tested", engine)
				}
				expectIncomplete(t, map[string]any{"call": "read", "out": sparse, "what": what, "runner": bin, "engine": engine}, sinks.ManifestName)
				// allow_incomplete: the parts written.
				var want []wantRow
				if what == "sparse" {
					want = sparseWant(t, sparse)
				} else {
					want = topkWant(t, filepath.Join(sparse, "topk"))
				}
				r := pyReader(t, map[string]any{"call": "read", "out": sparse, "what": what, "runner": bin, "engine": engine, "allow_incomplete": true})
				checkLong(t, r, want, what == "topk", 32, true, "float32")
			})
		}
		t.Run(what+"/csv-file", func(t *testing.T) {
			// A CSV exported before: OUT's manifest is still checked.
			expectIncomplete(t, map[string]any{"call": "read", "out": sparse, "what": what, "csv": filepath.Join(t.TempDir(), "x.csv")}, sinks.ManifestName)
		})
	}
	t.Run("sparse/manifest-false", func(t *testing.T) {
		out := copyOutput(t, fixture(t, "sparse"))
		p := filepath.Join(out, sinks.ManifestName)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte(`"complete": true`), []byte(`"complete": false`), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		expectIncomplete(t, map[string]any{"call": "read", "out": out, "what": "sparse", "runner": bin}, "complete: false")
	})
	t.Run("dense", func(t *testing.T) {
		pythonZarr(t)
		dense := copyOutput(t, fixture(t, "dense"))
		p := filepath.Join(dense, "scores", ".zattrs")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		nb := bytes.Replace(b, []byte(`"complete": true`), []byte(`"complete": false`), 1)
		if bytes.Equal(nb, b) {
			t.Fatalf("%s has no \"complete\": true", p)
		}
		if err := os.WriteFile(p, nb, 0o644); err != nil {
			t.Fatal(err)
		}
		// One chunk never written.
		if err := os.Remove(filepath.Join(dense, "scores", "1.2")); err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"zarr", "csv"} {
			expectIncomplete(t, map[string]any{"call": "read", "out": dense, "what": "scores", "runner": bin, "engine": engine}, "complete: false")
			r := pyReader(t, map[string]any{"call": "read", "out": dense, "what": "scores", "runner": bin, "engine": engine, "allow_incomplete": true})
			checkDense(t, r, dense, "scores", true) // the missing chunk: NaN on both sides
			if r.Complete == nil || *r.Complete {
				t.Errorf("%s: attrs complete %v, want false", engine, r.Complete)
			}
			nan := 0
			for _, row := range r.Values {
				for _, s := range row {
					if math.IsNaN(parseScore(t, s)) {
						nan++
					}
				}
			}
			if nan != 25 {
				t.Errorf("%s: %d NaN cells, want the 25 of the missing chunk", engine, nan)
			}
		}
	})
	t.Run("csv-short", func(t *testing.T) {
		// A CSV missing a row of the complete output it is read with.
		out := fixture(t, "sparse")
		text, _, err := export(t, "--out", out, "--what", "sparse")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
		short := filepath.Join(t.TempDir(), "short.csv")
		if err := os.WriteFile(short, []byte(strings.Join(lines[:len(lines)-1], "")), 0o644); err != nil {
			t.Fatal(err)
		}
		r := pyReader(t, map[string]any{"call": "read", "out": out, "what": "sparse", "csv": short})
		if r.Error != "output" || !strings.Contains(r.Message, sinks.ManifestName+" says") {
			t.Fatalf("a CSV one row short: %q %q, want an OutputError comparing with the manifest's rows", r.Error, r.Message)
		}
	})
	t.Run("no-runner", func(t *testing.T) {
		r := pyReader(t, map[string]any{"call": "read", "out": fixture(t, "sparse"), "what": "sparse", "runner": filepath.Join(t.TempDir(), "no-such-runner"), "engine": "csv"})
		if r.Error != "output" || !strings.Contains(r.Message, "runner=") || !strings.Contains(r.Message, "csv=") {
			t.Fatalf("without a runner: %q %q, want an OutputError saying runner= or csv=", r.Error, r.Message)
		}
	})
	t.Run("no-output", func(t *testing.T) {
		r := pyReader(t, map[string]any{"call": "read", "out": fixture(t, "dense"), "what": "sparse", "runner": bin})
		if r.Error != "output" || !strings.Contains(r.Message, "no sparse output") {
			t.Fatalf("a dense-only OUT read as sparse: %q %q", r.Error, r.Message)
		}
	})
}
