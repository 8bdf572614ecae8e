package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/parquettest"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/zarr"
)

func TestMain(m *testing.M) {
	// Prism logs every job step at INFO; keep warnings and errors.
	// (beam.Init resets slog from beamlog.LogLevel, so set both.)
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	beamlog.LogLevel = "warn"
	ptest.MainWithDefault(m, "prism")
}

// jobDeadline bounds every job a test runs: a job that hangs fails the
// test binary with the reason instead of hanging until go test's -timeout.
const jobDeadline = 3 * time.Minute

// withDeadline aborts the test binary, naming the test and the output, if
// stop is not called within jobDeadline (a Beam run has no context that
// stops a hung job everywhere).
func withDeadline(t testing.TB, out string) (stop func()) {
	name := t.Name()
	timer := time.AfterFunc(jobDeadline, func() {
		panic(fmt.Sprintf("%s: the job writing %s did not finish within %v", name, out, jobDeadline))
	})
	return func() { timer.Stop() }
}

// runJob prepares and runs a job on the named runner.
func runJob(t *testing.T, runner string, o pipeline.Options) *pipeline.Job {
	t.Helper()
	defer withDeadline(t, o.Out)()
	ctx := context.Background()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := beam.Run(ctx, runner, job.Pipeline); err != nil {
		t.Fatalf("%s run: %v", runner, err)
	}
	if err := job.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	return job
}

// readMatrix reads a whole array back through our Zarr reader, keyed by
// query and target id.
func readMatrix(t *testing.T, out, name string) (map[string]map[string]float64, *zarr.Reader) {
	t.Helper()
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, name)
	if err != nil {
		t.Fatal(err)
	}
	if !z.Complete() {
		t.Fatalf("%s/%s is not marked complete", out, name)
	}
	vals, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	qs, ts := z.Attrs["queries"].([]any), z.Attrs["targets"].([]any)
	m := map[string]map[string]float64{}
	for i, q := range qs {
		row := map[string]float64{}
		for j, tg := range ts {
			row[fmt.Sprint(tg)] = vals[i*z.Shape[1]+j]
		}
		m[fmt.Sprint(q)] = row
	}
	return m, z
}

// TestPipelineMatchesNavis runs the whole pipeline on prism for every
// reference set and mode and compares the Zarr read back with navis.
func TestPipelineMatchesNavis(t *testing.T) {
	dir := reference.Dir(t)
	for _, set := range reference.Sets {
		for _, mode := range reference.Modes {
			if mode.Golden && set.Name != "golden" {
				continue
			}
			t.Run(set.Name+"/"+mode.Name, func(t *testing.T) {
				in := filepath.Join(dir, set.Parquet)
				o := pipeline.Defaults()
				o.Queries, o.Out = in, t.TempDir()
				if !mode.AllByAll {
					o.Targets = in // navis.nblast(x, x): the diagonal is computed
				}
				o.Scores = mode.Scores.String()
				o.Normalized, o.UseAlpha = mode.Normalized, mode.UseAlpha
				if mode.AutoDist {
					o.MaxDist = "auto"
				}
				o.DType = "float64"
				if mode.Float32 {
					o.DType = "float32"
				}
				o.BlockSize = 5 // several blocks, an uneven last one
				runJob(t, "prism", o)
				got, _ := readMatrix(t, o.Out, "scores")
				want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, mode.Name)))
				if err != nil {
					t.Fatal(err)
				}
				compare(t, mode, got, want)
			})
		}
	}
}

func compare(t *testing.T, mode reference.Mode, got map[string]map[string]float64, want *reference.Scores) {
	t.Helper()
	if len(got) != len(want.Queries) {
		t.Fatalf("%d rows, navis has %d", len(got), len(want.Queries))
	}
	for i, q := range want.Queries {
		for j, tg := range want.Targets {
			g, ok := got[q][tg]
			if !ok {
				t.Fatalf("no score for %s → %s", q, tg)
			}
			w := want.Values[i][j]
			tol := 1e-6
			if !mode.Normalized {
				tol = 1e-6 * math.Abs(want.Values[i][i])
			}
			if mode.Float32 {
				tol = float64(math.Nextafter32(float32(w), float32(math.Inf(1))) - float32(w))
			}
			if d := math.Abs(g - w); !(d <= tol) {
				t.Errorf("%s → %s: %.17g, navis %.17g", q, tg, g, w)
			}
		}
	}
}

// TestDirectRunnerAndBoth runs scores=both on the direct runner and checks
// the reverse array is the transposed forward one.
func TestDirectRunnerAndBoth(t *testing.T) {
	dir := reference.Dir(t)
	in := filepath.Join(dir, "golden/synthetic.dotprops.str_ids.parquet")
	o := pipeline.Defaults()
	o.Queries, o.Targets, o.Out, o.Scores, o.BlockSize, o.DType = in, in, t.TempDir(), "both", 4, "float64"
	runJob(t, "direct", o)
	fwd, _ := readMatrix(t, o.Out, "scores")
	rev, _ := readMatrix(t, o.Out, "scores_reverse")
	want, err := reference.LoadScores(filepath.Join(dir, "golden/scores/fwd_norm.csv"))
	if err != nil {
		t.Fatal(err)
	}
	compare(t, reference.Modes[1], fwd, want)
	for q, row := range fwd {
		for tg, v := range row {
			if rev[tg][q] != v {
				t.Fatalf("reverse[%s][%s] = %v, forward[%s][%s] = %v", tg, q, rev[tg][q], q, tg, v)
			}
		}
	}
}

// TestShippedDemoData runs on the project's own copy of the golden set, so
// the pipeline is exercised in a clone without ../shared.
func TestShippedDemoData(t *testing.T) {
	o := pipeline.Defaults()
	o.Queries, o.Out = "../testdata/golden_synthetic.dotprops.parquet", t.TempDir()
	job := runJob(t, "prism", o)
	got, z := readMatrix(t, o.Out, "scores")
	if z.DType != "float32" || len(got) != 17 || job.Plan.BlockSize != 3 {
		t.Fatalf("dtype %s, %d rows, block size %d", z.DType, len(got), job.Plan.BlockSize)
	}
	for q, row := range got {
		if row[q] != 1 {
			t.Errorf("all-by-all diagonal of %s = %v, want exactly 1", q, row[q])
		}
		for tg, v := range row {
			if math.IsNaN(v) || v > 1 {
				t.Errorf("%s → %s = %v", q, tg, v)
			}
		}
	}
	for _, key := range []string{"scores", "normalized", "use_alpha", "smat", "max_dist", "version", "fingerprint"} {
		if _, ok := z.Attrs[key]; !ok {
			t.Errorf(".zattrs lacks %q", key)
		}
	}
}

// writeDotprops writes neurons to a Parquet file in dir.
func writeDotprops(t testing.TB, path string, dps []*scoring.Dotprops) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dotprops.WriteDotpropsParquet(f, dps); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeRaw writes one neuron in navis' layout without any validation (the
// project's writer refuses bad data), to make bad inputs.
func writeRaw(t *testing.T, path string, d *scoring.Dotprops) string {
	t.Helper()
	d.Alpha = nil
	return parquettest.WriteRaw(t, path, []*scoring.Dotprops{d}, nil)
}

func smallNeuron(id int64, shift float64) *scoring.Dotprops {
	d := &scoring.Dotprops{ID: scoring.IntID(id)}
	for i := range 20 {
		d.Points = append(d.Points, [3]float64{float64(i) + shift, shift, 0})
		d.Vectors = append(d.Vectors, [3]float64{1, 0, 0})
		d.Alpha = append(d.Alpha, 0.9)
	}
	return d
}

// TestBadInput: each bad input fails with a clear error and leaves no
// result marked complete.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dup := filepath.Join(tmp, "dup")
	os.Mkdir(dup, 0o755)
	good := writeDotprops(t, filepath.Join(dup, "good.parquet"), []*scoring.Dotprops{smallNeuron(1, 0), smallNeuron(2, 3)})
	conflict := writeDotprops(t, filepath.Join(dup, "conflict.parquet"), []*scoring.Dotprops{smallNeuron(2, 7)})
	nan := smallNeuron(3, 0)
	nan.Points[4][1] = math.NaN()
	nanFile := writeRaw(t, filepath.Join(tmp, "nan.parquet"), nan)
	notParquet := filepath.Join(tmp, "table.parquet")
	os.WriteFile(notParquet, []byte("neuron,x,y,z\n1,2,3,4\n"), 0o644)
	empty := writeRaw(t, filepath.Join(tmp, "empty.parquet"), &scoring.Dotprops{ID: scoring.IntID(9)})

	for _, tc := range []struct {
		name    string
		queries string
		targets string
		want    []string
	}{
		{"not parquet", notParquet, "", []string{notParquet}},
		{"NaN coordinate", nanFile, "", []string{nanFile, "neuron 3"}},
		{"empty file", empty, "", []string{empty}},
		{"no such file", filepath.Join(tmp, "missing.parquet"), "", []string{"missing.parquet"}},
		{"duplicate ids with different data", good, conflict, nil}, // targets only: fine
		{"duplicate across query files", dup, "", []string{"neuron 2", "different coordinates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Queries, o.Targets, o.Out = tc.queries, tc.targets, filepath.Join(t.TempDir(), "out")
			err := runErr(t, ctx, o)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if z, zerr := zarr.Open(ctx, o.Out, "scores"); zerr == nil && z.Complete() {
				t.Error("a failed run left a result marked complete")
			}
		})
	}
}

// runErr prepares and runs a job on prism, returning the first error.
func runErr(t *testing.T, ctx context.Context, o pipeline.Options) error {
	defer withDeadline(t, o.Out)()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		return err
	}
	_, err = beam.Run(ctx, "prism", job.Pipeline)
	return err
}

func TestExistingOutput(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	in := writeDotprops(t, filepath.Join(tmp, "in.parquet"), []*scoring.Dotprops{smallNeuron(1, 0), smallNeuron(2, 3)})
	o := pipeline.Defaults()
	o.Queries, o.Out = in, filepath.Join(tmp, "out")
	runJob(t, "prism", o)
	_, err := pipeline.Prepare(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "--exists overwrite") {
		t.Fatalf("second run into the same --out: err = %v", err)
	}
	o.Exists = "overwrite"
	runJob(t, "prism", o)
	o.Exists, o.Scores = "resume", "mean"
	if _, err := pipeline.Prepare(ctx, o); err == nil || !strings.Contains(err.Error(), "--scores was forward, now mean") {
		t.Fatalf("resume with other options: err = %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*pipeline.Options)
		want string
	}{
		{"no queries", func(o *pipeline.Options) { o.Queries = "" }, "--queries is required"},
		{"no out", func(o *pipeline.Options) { o.Out = "" }, "--out is required"},
		{"scores", func(o *pipeline.Options) { o.Scores = "average" }, "--scores"},
		{"max_dist", func(o *pipeline.Options) { o.MaxDist = "-3" }, "--max_dist"},
		{"dtype", func(o *pipeline.Options) { o.DType = "int8" }, "--dtype"},
		{"block_size", func(o *pipeline.Options) { o.BlockSize = -1 }, "--block_size"},
		{"exists", func(o *pipeline.Options) { o.Exists = "skip" }, "--exists"},
	} {
		o := pipeline.Defaults()
		o.Queries, o.Out = "q.parquet", "out"
		tc.edit(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
