package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/interrupt"
	"github.com/nblast-go/nblast/internal/progress"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/sinks"
)

// The runner's side of the Python wrapper (python/nblast_go): .npz inputs
// of `runner dotprops`, --progress json, Ctrl-C; and the wrapper's own
// tests against navis (TestPythonPackage).

const goldenParquet = "../../testdata/golden_synthetic.dotprops.parquet"

// writeNPZOf writes dotprops Parquet's neurons as a neurons .npz (what
// nblast_go writes: ids, offsets, points, vectors, alpha).
func writeNPZOf(t *testing.T, parquet, out string) {
	t.Helper()
	dps, err := dotprops.ReadDotpropsFile(context.Background(), parquet, dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	offsets := []int64{0}
	var pts, vecs [][3]float64
	var alpha []float64
	for _, d := range dps {
		ids = append(ids, d.ID.Int)
		pts = append(pts, d.Points...)
		vecs = append(vecs, d.Vectors...)
		alpha = append(alpha, d.Alpha...)
		offsets = append(offsets, int64(len(pts)))
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := npz.NewWriter(f)
	for _, a := range []struct {
		name string
		v    any
	}{{"ids", ids}, {"offsets", offsets}, {"points", pts}, {"vectors", vecs}, {"alpha", alpha}} {
		if err := w.Write(a.name+".npy", a.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// An .npz of dotprops becomes the Parquet file that the one writer makes
// of the same neurons, byte for byte: vectors and alpha as given, not
// recomputed, ids and order kept.
func TestDotpropsNPZ(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "golden.npz")
	writeNPZOf(t, goldenParquet, in)
	out := filepath.Join(dir, "golden.parquet")
	stderr, err := runDotpropsT(t, "--in", in, "--out", out, "--progress", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "dotprops: 17 neurons, 15318 points, from 1 .npz files") {
		t.Errorf("summary: %s", stderr)
	}
	var last progress.Event
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, progress.JSONPrefix) {
			var e struct{ Progress progress.Event }
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			last = e.Progress
		}
	}
	if last.Stage != "dotprops" || last.Done != 17 || last.Unit != "neurons" || last.ItemsTotal != 1 {
		t.Errorf("last progress event %+v, want 17 neurons of 1 file", last)
	}
	dps, err := dotprops.ReadDotpropsFile(context.Background(), goldenParquet, dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := dotprops.WriteDotpropsParquet(&want, dps); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("runner dotprops of the .npz (%d bytes) differs from WriteDotpropsParquet of its neurons (%d bytes)", len(got), want.Len())
	}
	// A bad --progress is refused.
	if _, err := runDotpropsT(t, "--in", in, "--out", out+"2", "--progress", "bar"); err == nil || !strings.Contains(err.Error(), "--progress") {
		t.Errorf("--progress bar: %v", err)
	}
}

// progressEvents returns the JSON progress events among a run's stderr
// lines, and the other lines.
func progressEvents(t *testing.T, stderr []byte) (events []progress.Event, other []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, progress.JSONPrefix) {
			other = append(other, line)
			continue
		}
		var e struct{ Progress progress.Event }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("progress line %q: %v", line, err)
		}
		events = append(events, e.Progress)
	}
	return events, other
}

// --progress json: JSON lines only (no line redrawn with \r), counts
// that never go back within a stage, and a last scoring event at the
// total; --progress none: no progress at all.
func TestProgressJSON(t *testing.T) {
	runner := binary(t, ".")
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(runner, "--queries", goldenParquet, "--out", out, "--block_size", "3", "--progress", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("a progress line drawn in place with --progress json:\n%q", stderr.String())
	}
	events, other := progressEvents(t, stderr.Bytes())
	if len(events) == 0 {
		t.Fatalf("no progress events:\n%s", stderr.String())
	}
	var prev progress.Event
	for _, e := range events {
		if e.Stage == prev.Stage && e.Done < prev.Done {
			t.Errorf("%s count went back: %+v after %+v", e.Stage, e, prev)
		}
		if prev.Stage == "scoring" && e.Stage != "scoring" {
			t.Errorf("stage %s after scoring", e.Stage)
		}
		prev = e
	}
	if prev.Stage != "scoring" || prev.Done != prev.Total || prev.Total != 17*17 || prev.Unit != "pairs" || prev.Items != prev.ItemsTotal {
		t.Errorf("last event %+v, want scoring of all 289 pairs", prev)
	}
	if !strings.Contains(strings.Join(other, "\n"), "done: ") {
		t.Errorf("the run's summary is missing:\n%s", strings.Join(other, "\n"))
	}

	cmd = exec.Command(runner, "--queries", goldenParquet, "--out", out, "--exists", "overwrite", "--progress", "none")
	stderr.Reset()
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if ev, _ := progressEvents(t, stderr.Bytes()); len(ev) > 0 || strings.ContainsAny(stderr.String(), "\r") || strings.Contains(stderr.String(), "ETA") {
		t.Errorf("--progress none reported progress:\n%s", stderr.String())
	}
}

// Ctrl-C (SIGINT) stops a scoring run: it exits with status 130 saying
// how to resume, releases OUT (no owner lock left), and --exists resume
// finishes the result.
func TestInterruptReleasesOutput(t *testing.T) {
	runner := binary(t, ".")
	dir := t.TempDir()
	in := filepath.Join(dir, "s.parquet")
	if b, err := exec.Command(runner, "synth", "--n", "400", "--out", in).CombinedOutput(); err != nil {
		t.Fatalf("synth: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(runner, "--queries", in, "--out", out, "--block_size", "50")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	chunk := regexp.MustCompile(`^\d+\.\d+$`)
	deadline := time.Now().Add(2 * time.Minute)
	for scored := false; !scored && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		names, _ := os.ReadDir(filepath.Join(out, "scores"))
		for _, n := range names {
			scored = scored || chunk.MatchString(n.Name())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != interrupt.ExitStatus {
		if err == nil {
			t.Skip("the run finished before it could be interrupted")
		}
		t.Fatalf("exit %v, want status %d\n%s", err, interrupt.ExitStatus, stderr.String())
	}
	if !strings.Contains(stderr.String(), "runner: interrupted: "+out+" is not complete; run the same command with --exists resume") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, sinks.OwnerName)); !os.IsNotExist(err) {
		t.Errorf("the owner lock is left after Ctrl-C: %v", err)
	}
	if b, err := exec.Command(runner, "--queries", in, "--out", out, "--block_size", "50", "--exists", "resume").CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	} else if !regexp.MustCompile(`\d+ work items were already done`).Match(b) {
		t.Errorf("the resumed run redid everything:\n%s", tail(b, 2000))
	}
}

// TestPythonPackage runs python/tests (nblast_go against navis 1.12 from
// ../shared/anchors/navis) with this build's runner. They skip, noting
// it in the skip log that `make test` counts, without navis or the
// reference data; NBLAST_REQUIRE_NAVIS=1 (CI) makes a skip a failure.
func TestPythonPackage(t *testing.T) {
	shared := reference.Dir(t)
	lib := reference.NavisLib(t, "pandas", "zarr", "dask.dataframe", "scipy.sparse", "tqdm")
	runner := binary(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, reference.Python, "-m", "unittest", "discover", "-v", "-s", "tests")
	cmd.Dir = "../../python"
	cmd.Env = append(os.Environ(), "NBLAST_RUNNER="+runner, "NBLAST_NAVIS_LIB="+lib, "NBLAST_SHARED_TESTDATA="+shared, "PYTHONDONTWRITEBYTECODE=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests: %v\n%s", err, tail(b, 20000))
	}
	ran := regexp.MustCompile(`(?m)^Ran (\d+) tests? `).FindSubmatch(b)
	skipped := regexp.MustCompile(`(?m)^OK \(skipped=(\d+)\)`).FindSubmatch(b)
	switch {
	case ran == nil:
		t.Fatalf("no unittest summary:\n%s", tail(b, 4000))
	case skipped != nil && os.Getenv(reference.NavisRequireEnv) == "1":
		t.Fatalf("NBLAST_REQUIRE_NAVIS=1 but %s of %s Python tests skipped:\n%s", skipped[1], ran[1], tail(b, 4000))
	case skipped != nil:
		t.Logf("python tests: %s ran, %s skipped:\n%s", ran[1], skipped[1], tail(b, 1000))
	default:
		t.Logf("python tests: %s ran, none skipped", ran[1])
	}
}

// A scoring run reads a .npz of dotprops (what nblast_go writes) as it
// reads the Parquet file of the same neurons: the same plan, the same
// scores to the bit, in the same order (its export byte-identical); a
// .npz of point clouds is refused with advice.
func TestScoringReadsNPZ(t *testing.T) {
	runner := binary(t, ".")
	dir := t.TempDir()
	npzDir := filepath.Join(dir, "npz")
	if err := os.Mkdir(npzDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeNPZOf(t, goldenParquet, filepath.Join(npzDir, "part-00000.npz"))
	exports := map[string][]byte{}
	for name, in := range map[string]string{"parquet": goldenParquet, "npz": npzDir} {
		out := filepath.Join(dir, "out-"+name)
		if b, err := exec.Command(runner, "--queries", in, "--out", out, "--dtype", "float64", "--block_size", "5").CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		b, err := exec.Command(runner, "export", "--out", out).Output()
		if err != nil {
			t.Fatalf("export %s: %v", name, err)
		}
		exports[name] = b
	}
	if len(exports["npz"]) < 17*17*10 || !bytes.Equal(exports["npz"], exports["parquet"]) {
		t.Errorf("the run on the .npz exports %d bytes, on the Parquet file %d: want the same bytes", len(exports["npz"]), len(exports["parquet"]))
	}

	clouds := filepath.Join(dir, "clouds.npz")
	f, err := os.Create(clouds)
	if err != nil {
		t.Fatal(err)
	}
	w := npz.NewWriter(f)
	for _, a := range []struct {
		name string
		v    any
	}{{"ids", []int64{1, 2}}, {"offsets", []int64{0, 2, 4}}, {"points", [][3]float64{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 2, 0}}}} {
		if err := w.Write(a.name+".npy", a.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(runner, "--queries", clouds, "--out", filepath.Join(dir, "out-clouds")).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "clouds.npz: no vectors array") || !strings.Contains(string(b), "runner dotprops --in") {
		t.Errorf("a .npz of point clouds: %v\n%s", err, b)
	}
}
