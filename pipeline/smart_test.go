package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// smartOptions are navis.nblast_smart(x, x, t=50, criterion='percentile')
// as the runner's flags: --smart --smart_t 50 (max_dist auto by default).
func smartOptions(in, out string, bs int) pipeline.Options {
	o := pipeline.Defaults()
	o.Queries, o.Out = in, out
	o.Smart, o.SmartT = true, 50
	o.DType = "float64"
	o.BlockSize = bs
	return o
}

// TestSmartMatchesNavis runs --smart --smart_t 50 through the whole
// pipeline (prism) on the golden and navis' example neurons and compares
// OUT/scores (1e-6) and OUT/smart_mask (exact) with navis' smart_p50 and
// smart_p50_mask, read back through the project's Zarr reader; blocks are
// small, so each row's percentile spans several target blocks.
func TestSmartMatchesNavis(t *testing.T) {
	dir := reference.Dir(t)
	for _, set := range reference.Sets {
		t.Run(set.Name, func(t *testing.T) {
			bs := 5
			if set.Name == "examples" {
				bs = 2
			}
			o := smartOptions(filepath.Join(dir, set.Parquet), t.TempDir(), bs)
			job := runJob(t, "prism", o)
			if job.Score.MaxDist != 42 {
				t.Errorf("max_dist %v, want auto (42)", job.Score.MaxDist)
			}
			checkSmart(t, dir, set, o.Out)
		})
	}
}

func checkSmart(t *testing.T, dir string, set reference.Set, out string) {
	t.Helper()
	got, _ := readMatrix(t, out, "scores")
	want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, "smart_p50")))
	if err != nil {
		t.Fatal(err)
	}
	compare(t, reference.Mode{Name: "smart_p50", Normalized: true}, got, want)
	mask, z := readMatrix(t, out, sinks.MaskArray)
	if z.DType != "bool" {
		t.Errorf("%s dtype %s, want bool", sinks.MaskArray, z.DType)
	}
	wantMask, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, "smart_p50_mask")))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, q := range wantMask.Queries {
		for j, tg := range wantMask.Targets {
			w := wantMask.Values[i][j]
			if g := mask[q][tg]; g != w {
				t.Errorf("mask %s → %s: %v, navis %v", q, tg, g, w)
			}
			if w == 1 {
				n++
			}
		}
	}
	for _, name := range []string{"scores", sinks.MaskArray} {
		z, err := zarr.Open(context.Background(), out, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := fmt.Sprint(z.Attrs[sinks.AttrRescored]); r != fmt.Sprint(n) {
			t.Errorf("%s attrs: %s = %s, navis rescored %d", name, sinks.AttrRescored, r, n)
		}
		if z.Attrs["smart"] != true || z.Attrs["smart_criterion"] != "percentile" {
			t.Errorf("%s attrs: smart %v, criterion %v", name, z.Attrs["smart"], z.Attrs["smart_criterion"])
		}
	}
}

// smartPython reads OUT/scores and OUT/smart_mask with zarr-python as a
// navis user would and compares them with navis' CSVs (pandas-free:
// csv module); it prints the mask's numpy dtype and "ok".
const smartPython = `
import sys, csv, zarr, numpy as np
out, ws, wm = sys.argv[1:4]
g = zarr.open_group(out, mode="r")
s, m = g["scores"][:], g["smart_mask"][:]
qs = [str(x) for x in g["scores"].attrs["queries"]]
ts = [str(x) for x in g["scores"].attrs["targets"]]
def load(p):
    r = list(csv.reader(open(p)))
    return {x[0]: dict(zip(r[0][1:], map(float, x[1:]))) for x in r[1:]}
S, M = load(ws), load(wm)
bad = [(q, t) for i, q in enumerate(qs) for j, t in enumerate(ts)
       if abs(s[i, j] - S[q][t]) > 1e-6 or bool(m[i, j]) != bool(M[q][t])]
assert m.dtype == np.bool_, m.dtype
assert g["smart_mask"].attrs["smart_rescored"] == int(m.sum())
print(m.dtype, "mismatches", len(bad), bad[:5])
print("ok" if not bad else "FAIL")
`

// TestSmartZarrPython: the golden --smart output read by Debian's
// zarr-python equals navis' matrix and mask (the mask a numpy bool array).
func TestSmartZarrPython(t *testing.T) {
	dir := reference.Dir(t)
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import zarr").CombinedOutput(); err != nil {
		msg := "skipping: " + python + " cannot import zarr (apt-get install python3-zarr python3-numcodecs): " + strings.TrimSpace(string(out))
		if os.Getenv("NBLAST_REQUIRE_PYTHON_ZARR") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	set := reference.Sets[0]
	o := smartOptions(filepath.Join(dir, set.Parquet), t.TempDir(), 4)
	o.DType = "float32" // the default; 1e-6 still holds for normalised scores
	runJob(t, "prism", o)
	out, err := exec.Command(python, "-c", smartPython, o.Out,
		filepath.Join(dir, fmt.Sprintf(set.Scores, "smart_p50")), filepath.Join(dir, fmt.Sprintf(set.Scores, "smart_p50_mask"))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("zarr-python: %v\n%s", err, out)
	}
	t.Logf("zarr-python: %s", strings.TrimSpace(string(out)))
}

// TestSmartResume: a work item whose mask chunk is missing is scored
// again on --exists resume (the pre-score still spans the whole row), and
// the result equals navis'.
func TestSmartResume(t *testing.T) {
	dir := reference.Dir(t)
	set := reference.Sets[0]
	o := smartOptions(filepath.Join(dir, set.Parquet), t.TempDir(), 5)
	runJob(t, "prism", o)
	for _, p := range []string{filepath.Join(o.Out, sinks.MaskArray, "1.2"), filepath.Join(o.Out, sinks.MaskArray, "3.0")} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	o.Exists = "resume"
	job := runJob(t, "prism", o)
	if len(job.Items) != 2 || job.Done != job.Total-2 {
		t.Fatalf("resume scored %d items (%d done of %d), want the 2 whose mask chunk was missing", len(job.Items), job.Done, job.Total)
	}
	checkSmart(t, dir, set, o.Out)
}

// TestSmartRefused: --smart with settings navis' nblast_smart lacks, or
// with a t its criterion refuses, fails before any work with the flag named.
func TestSmartRefused(t *testing.T) {
	in := "../testdata/golden_synthetic.dotprops.parquet"
	for _, c := range []struct {
		set  func(*pipeline.Options)
		want string
	}{
		{func(o *pipeline.Options) { o.Scores = "both" }, "--scores both"},
		{func(o *pipeline.Options) { o.SmartCriterion = "top" }, "--smart_criterion"},
		{func(o *pipeline.Options) { o.SmartT = 100 }, "--smart_t"},
		{func(o *pipeline.Options) { o.SmartCriterion, o.SmartT = "N", 18 }, "between 0 and 17"},
		{func(o *pipeline.Options) { o.SmartCriterion, o.SmartT = "N", 2.5 }, "whole number"},
	} {
		o := smartOptions(in, t.TempDir(), 0)
		c.set(&o)
		_, err := pipeline.Prepare(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", o, err, c.want)
		}
	}
}

// TestSmartSparse: --smart with the sparse sink (no pruning: every
// pre-score decides its row's selection) keeps exactly navis' smart_p50
// scores >= --threshold, on the examples with several target blocks.
func TestSmartSparse(t *testing.T) {
	dir := reference.Dir(t)
	set := reference.Sets[1]
	for _, thr := range []float64{math.Inf(-1), 0.1} {
		o := smartOptions(filepath.Join(dir, set.Parquet), t.TempDir(), 2)
		o.Sink, o.Threshold = "sparse", thr
		if o.Pruning() {
			t.Fatal("a --smart run prunes")
		}
		runJob(t, "prism", o)
		got := readSparse(t, o.Out)
		want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, "smart_p50")))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, q := range want.Queries {
			for j, tg := range want.Targets {
				w := want.Values[i][j]
				g, ok := got[sparseKey{q, tg}]
				if w >= thr+1e-6 && !ok || ok && math.Abs(g-w) > 1e-6 {
					t.Errorf("threshold %v: %s → %s: %v (kept %v), navis %v", thr, q, tg, g, ok, w)
				}
				if ok {
					n++
				}
			}
		}
		if n != len(got) {
			t.Errorf("threshold %v: %d rows, %d of them navis pairs", thr, len(got), n)
		}
	}
}
