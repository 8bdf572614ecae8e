package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/gcstest"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// Real outputs for the export and inspect tests, each made once per test
// binary by the scoring run's own code (run, in process, on prism) from
// the golden data set (17 neurons, int64 ids above 2^53), or from the same
// neurons with string ids.
var (
	fixtureMu   sync.Mutex
	fixtureDirs = map[string]string{}
)

// fixtureSpecs are the outputs; block size 5 gives 4 × 4 work items.
var fixtureSpecs = map[string]func(o *pipeline.Options){
	// dense: OUT/scores, OUT/scores_reverse (--scores both takes no --topk)
	"dense": func(o *pipeline.Options) { o.Scores = "both" },
	// sparse + top-k, FLOAT scores
	"sparse": func(o *pipeline.Options) { o.Sink, o.TopK = "sparse", 5 },
	// top-k only
	"topk": func(o *pipeline.Options) { o.Sink, o.TopK = "topk", 3 },
	// string ids (some needing quotes), sparse with every pair (negative
	// scores too) as DOUBLE, + top-k
	"strings": func(o *pipeline.Options) {
		o.Sink, o.TopK, o.DType, o.Threshold = "sparse", 4, "float64", math.Inf(-1)
	},
}

// fixture returns the output directory of spec name, making it on first
// use. Outputs live beside the test binaries (binDir), removed by TestMain.
func fixture(t *testing.T, name string) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if d, ok := fixtureDirs[name]; ok {
		return d
	}
	root := filepath.Join(binDir, "outputs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if name == "strings" {
		stringIDInput(t, root)
	}
	o := fixtureOptions(t, name, filepath.Join(root, name))
	runQuiet(t, o)
	fixtureDirs[name] = o.Out
	return o.Out
}

// fixtureOptions are the options of fixture name's run, writing to out.
func fixtureOptions(t *testing.T, name, out string) pipeline.Options {
	o := pipeline.Defaults()
	o.Queries = goldenInput(t)
	if name == "strings" {
		o.Queries = filepath.Join(binDir, "outputs", "golden_string_ids.parquet")
	}
	o.Out, o.BlockSize = out, 5
	fixtureSpecs[name](&o)
	return o
}

// runQuiet runs a scoring job in process, on prism, its INFO logs muted.
func runQuiet(t *testing.T, o pipeline.Options) {
	t.Helper()
	// As main does before a run (a no-op here: no --worker flag).
	beam.Init()
	// Prism logs every job step at INFO.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	defer slog.SetDefault(prev)
	timer := time.AfterFunc(3*time.Minute, func() { panic(fmt.Sprintf("%s: the run writing %s did not finish within 3m", t.Name(), o.Out)) })
	err := run(context.Background(), o)
	timer.Stop()
	if err != nil {
		t.Fatalf("scoring run writing %s: %v", o.Out, err)
	}
}

// stringIDs renames the golden neurons (by their name in the meta table)
// for the string-id fixture; two need quoting in CSV, one looks numeric.
var stringIDs = map[string]string{"A_jitter": `A_jitter, "v2"`, "B": "B\tTab", "C": "007"}

// stringIDInput writes the golden neurons with string ids (their names,
// some changed by stringIDs) to dir and returns the file.
func stringIDInput(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	names, err := results.ReadNames(ctx, "../../testdata/golden_synthetic.meta.csv")
	if err != nil {
		t.Fatal(err)
	}
	dps, err := dotprops.ReadDotpropsFile(ctx, goldenInput(t), dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dps {
		name, ok := names[d.ID.String()]
		if !ok {
			t.Fatalf("neuron %s has no name in the meta table", d.ID)
		}
		if s, ok := stringIDs[name]; ok {
			name = s
		}
		d.ID = scoring.StrID(name)
	}
	var buf bytes.Buffer
	if err := dotprops.WriteDotpropsParquet(&buf, dps); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "golden_string_ids.parquet")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyOutput copies an output directory to a fresh one the test may
// change.
func copyOutput(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// export runs runExport and returns its stdout and stderr.
func export(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = runExport(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

// pandasFrame is a CSV read back by pandas.read_csv: ids as exact
// strings, scores as Python's repr (shortest round-trip) of pandas' float
// under the default parser and under float_precision="round_trip".
type pandasFrame struct {
	Columns  []string          `json:"columns"`
	DTypes   map[string]string `json:"dtypes"`
	Rows     [][]string        `json:"rows"`
	ScoresRT []string          `json:"scores_rt"`
}

const pandasScript = `
import json, sys
import pandas as pd
path, sep = sys.argv[1], sys.argv[2]
df = pd.read_csv(path, sep=sep)
rt = pd.read_csv(path, sep=sep, float_precision="round_trip")
def cell(v):
    if isinstance(v, float):
        return repr(v)
    return str(v)
print(json.dumps({
    "columns": list(df.columns),
    "dtypes": {c: str(t) for c, t in df.dtypes.items()},
    "rows": [[cell(v) for v in row] for row in df.itertuples(index=False, name=None)],
    "scores_rt": [repr(float(v)) for v in rt["score"]],
}))
`

// requirePandas skips the test without Debian's python3-pandas, unless
// NBLAST_REQUIRE_PANDAS=1.
func requirePandas(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import pandas").Run(); err != nil {
		if os.Getenv("NBLAST_REQUIRE_PANDAS") == "1" {
			t.Fatalf("NBLAST_REQUIRE_PANDAS=1 but /usr/bin/python3 cannot import pandas: %v", err)
		}
		t.Skipf("/usr/bin/python3 cannot import pandas (%v): skipping the pandas check (apt-get install python3-pandas, or set NBLAST_REQUIRE_PANDAS=1 to make this a failure)", err)
	}
}

func readWithPandas(t *testing.T, path, sep string) pandasFrame {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", pandasScript, path, sep)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("pandas.read_csv(%s): %v\n%s", path, err, stderr.String())
	}
	var f pandasFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("pandas output: %v\n%s", err, b)
	}
	return f
}

// wantRow is a row as the Parquet output holds it.
type wantRow struct {
	ids   []scoring.ID // query, target
	rank  int          // 0 for sparse
	score float64
}

func sparseWant(t *testing.T, dir string) []wantRow {
	t.Helper()
	rows, err := sinks.ReadSparse(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []wantRow
	for _, r := range rows {
		out = append(out, wantRow{ids: []scoring.ID{r.Query, r.Target}, score: r.Score})
	}
	return out
}

func topkWant(t *testing.T, dir string) []wantRow {
	t.Helper()
	rows, err := sinks.ReadTopK(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []wantRow
	for _, r := range rows {
		out = append(out, wantRow{ids: []scoring.ID{r.Query, r.Target}, rank: r.Rank, score: r.Score})
	}
	return out
}

// checkFrame compares what pandas read with the Parquet rows, in order:
// ids exactly (as strings: int64 ids keep every digit), ranks, and scores
// that read back as the stored value (float32 for FLOAT, float64 for
// DOUBLE; for DOUBLE under float_precision="round_trip", as pandas' default
// parser is not always correctly rounded).
func checkFrame(t *testing.T, f pandasFrame, want []wantRow, rank bool, bits int, intIDs bool) {
	t.Helper()
	cols := []string{"query", "target", "score"}
	if rank {
		cols = []string{"query", "rank", "target", "score"}
	}
	if strings.Join(f.Columns, ",") != strings.Join(cols, ",") {
		t.Fatalf("pandas columns %v, want %v", f.Columns, cols)
	}
	idType := "object"
	if intIDs {
		idType = "int64"
	}
	if f.DTypes["query"] != idType || f.DTypes["target"] != idType || f.DTypes["score"] != "float64" {
		t.Errorf("pandas dtypes %v, want ids %s, score float64", f.DTypes, idType)
	}
	if len(f.Rows) != len(want) || len(want) == 0 {
		t.Fatalf("pandas read %d rows, the output holds %d", len(f.Rows), len(want))
	}
	defaultOff := 0
	for i, w := range want {
		row := f.Rows[i]
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
		got, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := strconv.ParseFloat(f.ScoresRT[i], 64)
		if err != nil {
			t.Fatal(err)
		}
		if bits == 32 {
			if float32(got) != float32(w.score) || float32(rt) != float32(w.score) {
				t.Fatalf("row %d: pandas read %v (round_trip %v), stored FLOAT %v", i, got, rt, float32(w.score))
			}
		} else {
			if rt != w.score {
				t.Fatalf("row %d: pandas (round_trip) read %v, stored DOUBLE %v", i, rt, w.score)
			}
			if got != w.score {
				defaultOff++
			}
		}
	}
	if defaultOff > 0 {
		t.Logf("pandas' default float parser read %d of %d DOUBLE scores 1 ulp off (float_precision=\"round_trip\" reads them all exactly)", defaultOff, len(want))
	}
}

// TestExportReadByPandas exports real sparse and top-k outputs (int64 ids
// above 2^53 with FLOAT scores; string ids, some with a comma, quotes, a
// tab or digits only, with DOUBLE scores) as CSV and TSV, and reads them
// back with pandas.read_csv: same rows in the same order, exact ids,
// scores that read back as the stored values.
func TestExportReadByPandas(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	requirePandas(t)
	for _, tc := range []struct {
		fixture, what string
		bits          int
		intIDs        bool
	}{
		{"sparse", "sparse", 32, true},
		{"sparse", "topk", 32, true},
		{"strings", "sparse", 64, false},
		{"strings", "topk", 32, false}, // top-k scores are FLOAT whatever --dtype
	} {
		for _, format := range []string{"csv", "tsv"} {
			t.Run(tc.fixture+"/"+tc.what+"/"+format, func(t *testing.T) {
				out := fixture(t, tc.fixture)
				to := filepath.Join(t.TempDir(), "scores."+format)
				args := []string{"--out", out, "--what", tc.what, "--to", to}
				if format == "tsv" && tc.what == "sparse" {
					args = args[:len(args)-2] // default --to: stdout
				}
				stdout, stderr, err := export(t, args...)
				if err != nil {
					t.Fatal(err)
				}
				if format == "tsv" && tc.what == "sparse" {
					// --format from the extension does not apply to stdout.
					stdout2, _, err := export(t, append(args, "--format", "tsv")...)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.HasPrefix(stdout, "query,target,score\n") {
						t.Fatalf("stdout without --format is not CSV: %.40q", stdout)
					}
					if err := os.WriteFile(to, []byte(stdout2), 0o644); err != nil {
						t.Fatal(err)
					}
				} else if stdout != "" {
					t.Fatalf("--to %s, yet %d bytes on stdout", to, len(stdout))
				}
				var want []wantRow
				if tc.what == "sparse" {
					want = sparseWant(t, out)
				} else {
					want = topkWant(t, filepath.Join(out, "topk"))
				}
				if format == "csv" && !strings.Contains(stderr, fmt.Sprintf("export: %d rows of the", len(want))) {
					t.Errorf("summary line %q does not count %d rows", stderr, len(want))
				}
				sep := ","
				if format == "tsv" {
					sep = "\t"
				}
				checkFrame(t, readWithPandas(t, to, sep), want, tc.what == "topk", tc.bits, tc.intIDs)
				// Shortest representation: FLOAT 0.1 is "0.1", not 0.10000000149.
				text, _ := os.ReadFile(to)
				for _, line := range strings.Split(string(text), "\n")[1:] {
					if i := strings.LastIndexAny(line, ",\t"); i >= 0 {
						v := line[i+1:]
						f, _ := strconv.ParseFloat(v, 64)
						if strconv.FormatFloat(f, 'g', -1, tc.bits) != v {
							t.Fatalf("score %q is not the shortest %d-bit representation", v, tc.bits)
						}
					}
				}
				if tc.fixture == "strings" && tc.what == "sparse" {
					for _, id := range stringIDs {
						if !strings.Contains(string(text), id) && !strings.Contains(string(text), strings.ReplaceAll(id, `"`, `""`)) {
							t.Errorf("id %q not in the export", id)
						}
					}
				}
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(to), ".*tmp-*")); len(left) > 0 {
					t.Errorf("temporary files left: %v", left)
				}
			})
		}
	}
}

// TestExportDenseScores exports the dense arrays as long rows and checks
// every value against the matrix (and with pandas, when it is there).
func TestExportDenseScores(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	out := fixture(t, "dense")
	ctx := context.Background()
	for _, name := range []string{"scores", "scores_reverse"} {
		z, err := zarr.Open(ctx, out, name)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		qs, _ := results.AttrIDs(z.Attrs["queries"], name, "queries")
		ts, _ := results.AttrIDs(z.Attrs["targets"], name, "targets")
		want := map[[2]string]float64{}
		for i, q := range qs {
			for j, tg := range ts {
				want[[2]string{q.String(), tg.String()}] = vals[i*z.Shape[1]+j]
			}
		}
		to := filepath.Join(t.TempDir(), name+".csv")
		if _, _, err := export(t, "--out", out, "--what", name, "--to", to); err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(to)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
		if lines[0] != "query,target,score" || len(lines)-1 != len(want) {
			t.Fatalf("%s: header %q and %d rows, want %d rows", name, lines[0], len(lines)-1, len(want))
		}
		seen := map[[2]string]bool{}
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			key := [2]string{f[0], f[1]}
			w, ok := want[key]
			v, err := strconv.ParseFloat(f[2], 32)
			if !ok || seen[key] || err != nil || float32(v) != float32(w) {
				t.Fatalf("%s: row %q: want %v (known %v, repeated %v)", name, l, w, ok, seen[key])
			}
			seen[key] = true
		}
		if name == "scores" && exec.Command("/usr/bin/python3", "-c", "import pandas").Run() == nil {
			f := readWithPandas(t, to, ",")
			if len(f.Rows) != len(want) || f.DTypes["query"] != "int64" {
				t.Errorf("pandas read %d rows (dtypes %v), want %d", len(f.Rows), f.DTypes, len(want))
			}
		}
	}
	// Default --what on a dense output is the forward scores.
	stdout, _, err := export(t, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout, "\n"); !strings.HasPrefix(stdout, "query,target,score\n") || n != 17*17+1 {
		t.Errorf("default export of a dense output: %d lines, %.60q", n, stdout)
	}
}

// TestExportDefaultsAndStdout: --what and --to defaults.
func TestExportDefaultsAndStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	for fx, header := range map[string]string{"sparse": "query,target,score", "topk": "query,rank,target,score"} {
		out := fixture(t, fx)
		stdout, stderr, err := export(t, "--out", out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if lines[0] != header || len(lines) < 2 {
			t.Errorf("%s: default export starts %q, want header %q and rows", fx, lines[0], header)
		}
		if !strings.Contains(stderr, fmt.Sprintf("export: %d rows", len(lines)-1)) || !strings.Contains(stderr, "to stdout (csv)") {
			t.Errorf("%s: summary %q", fx, stderr)
		}
	}
}

// TestExportRefusesIncomplete: without a manifest, export refuses (first
// line naming OUT, saying the run did not finish and how to resume),
// writes nothing, and exports the rows so far with --allow_incomplete.
func TestExportRefusesIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	for _, what := range []string{"sparse", "topk"} {
		out := copyOutput(t, fixture(t, "sparse"))
		dir := out
		if what == "topk" {
			dir = filepath.Join(out, "topk")
		}
		want := len(sparseWant(t, out))
		if what == "topk" {
			want = len(topkWant(t, dir))
		}
		os.Remove(filepath.Join(dir, sinks.ManifestName))
		tmp := t.TempDir()
		to := filepath.Join(tmp, "x.csv")
		if err := os.WriteFile(to, []byte("previous\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := export(t, "--out", out, "--what", what, "--to", to)
		if err == nil {
			t.Fatalf("%s: an output without a manifest was exported", what)
		}
		first := strings.SplitN(err.Error(), "\n", 2)[0]
		for _, s := range []string{out, "incomplete", "did not finish", "--exists resume", "--allow_incomplete"} {
			if !strings.Contains(first, s) {
				t.Errorf("%s: first line %q does not say %q", what, first, s)
			}
		}
		if b, _ := os.ReadFile(to); string(b) != "previous\n" {
			t.Errorf("%s: refused export changed --to", what)
		}
		stdout, _, err := export(t, "--out", out, "--what", what, "--allow_incomplete")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(stdout, "\n") - 1; n != want {
			t.Errorf("%s --allow_incomplete: %d rows, want %d", what, n, want)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 1 {
			t.Errorf("files left: %v", left)
		}
	}
}

// TestExportFailsAtomically: a failure while streaming (a corrupt part, a
// manifest whose row count disagrees) leaves --to as it was and no
// temporary file.
func TestExportFailsAtomically(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	src := fixture(t, "sparse")
	corrupt := copyOutput(t, src)
	if err := os.WriteFile(filepath.Join(corrupt, sinks.PartName(0)), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	miscounted := copyOutput(t, src)
	mp := filepath.Join(miscounted, sinks.ManifestName)
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	m["rows"] = m["rows"].(float64) + 1
	b, _ = json.Marshal(m)
	os.WriteFile(mp, b, 0o644)
	for name, tc := range map[string]struct{ out, says string }{
		"corrupt part": {corrupt, sinks.PartName(0)},
		"row count":    {miscounted, "says"},
	} {
		tmp := t.TempDir()
		to := filepath.Join(tmp, "x.csv")
		_, _, err := export(t, "--out", tc.out, "--to", to)
		if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "nothing written to "+to) {
			t.Errorf("%s: err %v", name, err)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%s: files left: %v", name, left)
		}
	}
}

// TestExportErrors: what an output lacks, and bad flags.
func TestExportErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	dense := fixture(t, "dense")
	for _, tc := range []struct {
		args []string
		says []string
	}{
		{[]string{"--out", dense, "--what", "sparse"}, []string{"no sparse output", "zarr.open_array", "--what scores"}},
		{[]string{"--out", fixture(t, "topk"), "--what", "scores"}, []string{"no dense array scores"}},
		{[]string{"--out", t.TempDir()}, []string{"no NBLAST output found", "looked for"}},
		{[]string{"--out", dense, "--what", "matrix"}, []string{"--what"}},
		{[]string{"--out", dense, "--format", "xlsx"}, []string{"--format"}},
		{[]string{"--what", "sparse"}, []string{"--out is required"}},
	} {
		_, _, err := export(t, tc.args...)
		for _, s := range tc.says {
			if err == nil || !strings.Contains(err.Error(), s) {
				t.Errorf("export %q: err %v, want it to say %q", tc.args, err, s)
			}
		}
	}
	// --help prints usage, is no error.
	_, stderr, err := export(t, "--help")
	if err != nil || !strings.Contains(stderr, "usage: runner export") {
		t.Errorf("--help: %v, %q", err, stderr)
	}
}

// TestExportToGCS: --to gs://… writes the same table as stdout, as one
// object.
func TestExportToGCS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	sparse := fixture(t, "sparse")
	gcstest.Start(t, "bkt")
	want, _, err := export(t, "--out", sparse)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := export(t, "--out", sparse, "--to", "gs://bkt/x/scores.csv"); err != nil {
		t.Fatal(err)
	}
	got, err := files.ReadFile(context.Background(), "gs://bkt/x/scores.csv")
	if err != nil || string(got) != want {
		t.Errorf("gs:// table differs from stdout's (%d vs %d bytes), %v", len(got), len(want), err)
	}
}
