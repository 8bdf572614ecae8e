package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/internal/gcstest"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// cloneDotprops copies d deeply.
func cloneDotprops(d *scoring.Dotprops) *scoring.Dotprops {
	return &scoring.Dotprops{ID: d.ID, Points: slices.Clone(d.Points), Vectors: slices.Clone(d.Vectors), Alpha: slices.Clone(d.Alpha)}
}

// updateSets returns an earlier and a new set of synthetic neurons: the
// new one drops 3 of the earlier's, changes 3 (one moved, one with a
// single point moved, one with only a tangent vector turned, which the
// neuron index does not see) and adds 6.
func updateSets() (old, now []*scoring.Dotprops) {
	all := synth.Generate(66, 5)
	old = all[:60]
	for i, d := range old {
		switch i {
		case 4, 17, 42: // removed
		case 9: // moved by 1.5 µm
			c := cloneDotprops(d)
			for k := range c.Points {
				c.Points[k][0] += 1.5
			}
			now = append(now, c)
		case 23: // one point moved
			c := cloneDotprops(d)
			c.Points[len(c.Points)/2][1] += 0.7
			now = append(now, c)
		case 31: // one tangent turned (coordinates unchanged)
			c := cloneDotprops(d)
			v := c.Vectors[3]
			v[0] += 0.05
			n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
			c.Vectors[3] = [3]float64{v[0] / n, v[1] / n, v[2] / n}
			now = append(now, c)
		default:
			now = append(now, d)
		}
	}
	return old, append(now, all[60:]...)
}

// sameSparseOutput fails unless two sparse outputs hold the same parts,
// byte for byte, and the same manifest.
func sameSparseOutput(t *testing.T, got, want string) {
	t.Helper()
	g, w := localTree(t, got), localTree(t, want)
	for name := range g {
		if strings.HasPrefix(name, ".") {
			t.Errorf("%s left in the updated output", name)
		}
	}
	for name, b := range w {
		if name == sinks.RunMarkerName || name == sinks.OwnerName {
			continue
		}
		if !bytes.Equal(g[name], b) {
			t.Errorf("%s differs from a fresh run's (%d bytes, fresh %d)", name, len(g[name]), len(b))
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok && name != sinks.RunMarkerName {
			t.Errorf("%s: not in a fresh run's output", name)
		}
	}
	// The rows, as a reader sees them (readSparse checks the manifest).
	gr, wr := readSparse(t, got), readSparse(t, want)
	if len(gr) != len(wr) {
		t.Errorf("updated output has %d rows, fresh %d", len(gr), len(wr))
	}
	for k, v := range wr {
		if gv, ok := gr[k]; !ok || gv != v {
			t.Errorf("%v: updated %v (%t), fresh %v", k, gv, ok, v)
		}
	}
}

// runRecord reads OUT's run marker.
func runRecord(t *testing.T, out string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, sinks.RunMarkerName))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// updateRecord checks the run record of the updated output upd against a
// fresh run's (fresh): the same fingerprint, the fresh run's digests, and
// the update's summary counting the queries new, changed and removed as
// want says; it returns the summary.
func updateRecord(t *testing.T, upd, fresh string, want [3]int) map[string]any {
	t.Helper()
	rec, frec := runRecord(t, upd), runRecord(t, fresh)
	if rec["fingerprint"] != frec["fingerprint"] {
		t.Errorf("updated fingerprint %v, fresh %v", rec["fingerprint"], frec["fingerprint"])
	}
	if frec["neurons"] == nil {
		t.Errorf("%s: the run recorded no digests", fresh)
	}
	sum, _ := rec["update"].(map[string]any)
	q, _ := sum["queries"].(map[string]any)
	if q["new"] != float64(want[0]) || q["changed"] != float64(want[1]) || q["removed"] != float64(want[2]) {
		t.Errorf("update summary %v, want queries %d new, %d changed, %d removed", sum, want[0], want[1], want[2])
	}
	return sum
}

// updateFiles writes updateSets' neurons as the input files of the
// update tests: old and new all-by-all sets, the old set with only
// removals, both with string ids (non-ASCII too), and queries × targets
// sides (earlier queries 0-29, targets 20-59; the new inputs change both).
type updateFiles struct {
	oldAll, newAll, keptAll, oldStr, newStr, oldQ, oldT, newQ, newT string
}

func writeUpdateFiles(t *testing.T) updateFiles {
	t.Helper()
	old, now := updateSets()
	dir := t.TempDir()
	write := func(name string, dps []*scoring.Dotprops) string {
		return writeDotprops(t, filepath.Join(dir, name), dps)
	}
	var kept []*scoring.Dotprops
	for i, d := range old {
		if i%10 != 3 {
			kept = append(kept, d)
		}
	}
	strIDs := func(dps []*scoring.Dotprops) []*scoring.Dotprops {
		out := make([]*scoring.Dotprops, len(dps))
		for i, d := range dps {
			c := *d
			c.ID = scoring.StrID(fmt.Sprintf("KC-γ-%d", d.ID.Int%1000))
			out[i] = &c
		}
		return out
	}
	return updateFiles{
		oldAll: write("old.parquet", old), newAll: write("new.parquet", now), keptAll: write("kept.parquet", kept),
		oldStr: write("oldstr.parquet", strIDs(old)), newStr: write("newstr.parquet", strIDs(now)),
		oldQ: write("oldq.parquet", old[:30]), oldT: write("oldt.parquet", old[20:]),
		newQ: write("newq.parquet", now[:28]), newT: write("newt.parquet", now[18:]),
	}
}

// TestUpdateEqualsFreshRun: an update of an earlier sparse output to new
// inputs (neurons removed, changed, added) gives the output a fresh run on
// the new inputs gives, byte for byte, scoring only the pairs of new or
// changed neurons; all-by-all and queries × targets, in modes that need
// one direction and both.
func TestUpdateEqualsFreshRun(t *testing.T) {
	f := writeUpdateFiles(t)
	oldAll, newAll, keptAll, oldStr, newStr := f.oldAll, f.newAll, f.keptAll, f.oldStr, f.newStr
	oldQ, oldT, newQ, newT := f.oldQ, f.oldT, f.newQ, f.newT
	for _, tc := range []struct {
		name                              string
		queries, targets                  [2]string // earlier, new
		scores                            string
		threshold                         float64
		blockSize                         int
		wantNew, wantChanged, wantRemoved int
		dtype                             string
	}{
		{"allbyall-str-ids-float64", [2]string{oldStr, newStr}, [2]string{}, "mean", 0.1, 8, 6, 3, 3, "float64"},
		{"allbyall-forward", [2]string{oldAll, newAll}, [2]string{}, "forward", 0.2, 8, 6, 3, 3, ""},
		{"allbyall-mean", [2]string{oldAll, newAll}, [2]string{}, "mean", 0.1, 16, 6, 3, 3, ""},
		{"allbyall-removed-only", [2]string{oldAll, keptAll}, [2]string{}, "max", 0.2, 8, 0, 0, 6, ""},
		// The default block size follows the number of neurons (8 for
		// 60, then 7 for 54).
		{"allbyall-default-blocks", [2]string{oldAll, keptAll}, [2]string{}, "forward", 0.3, 0, 0, 0, 6, ""},
		{"qt-min", [2]string{oldQ, newQ}, [2]string{oldT, newT}, "min", 0, 8, 0, 2, 2, ""},
		{"qt-max-all-rows", [2]string{oldQ, newQ}, [2]string{oldT, newT}, "max", math.Inf(-1), 8, 0, 2, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Sink, o.Scores, o.Threshold, o.BlockSize = "sparse", tc.scores, tc.threshold, tc.blockSize
			if tc.dtype != "" {
				o.DType = tc.dtype
			}
			fresh, upd := o, o
			fresh.Queries, fresh.Targets, fresh.Out = tc.queries[1], tc.targets[1], t.TempDir()
			full := runJob(t, "prism", fresh)

			upd.Queries, upd.Targets, upd.Out = tc.queries[0], tc.targets[0], t.TempDir()
			earlier := runJob(t, "prism", upd)
			upd.Queries, upd.Targets, upd.Exists = tc.queries[1], tc.targets[1], "update"
			job, counters := runJobCounters(t, upd)
			if tc.blockSize == 0 && earlier.Plan.BlockSize == job.Plan.BlockSize {
				t.Errorf("the default block size stayed %d", job.Plan.BlockSize)
			}
			sameSparseOutput(t, upd.Out, fresh.Out)

			// The run marker is a fresh run's (same fingerprint), with
			// the update's summary.
			sum := updateRecord(t, upd.Out, fresh.Out, [3]int{tc.wantNew, tc.wantChanged, tc.wantRemoved})
			scored, fullPairs := sum["pairs_scored"].(float64), sum["pairs_full_run"].(float64)
			if !(scored > 0 && scored < fullPairs/2) && tc.wantNew+tc.wantChanged > 0 || fullPairs != float64(len(full.Plan.Queries)*len(full.Plan.Targets)) {
				t.Errorf("update scored %v of %v pairs", scored, fullPairs)
			}
			if job.Pairs(job.Items) >= full.Pairs(full.Items) {
				t.Errorf("update's work items hold %d pairs, a fresh run's %d", job.Pairs(job.Items), full.Pairs(full.Items))
			}
			// The kernel computed only those pairs (and those of the one
			// work item that mixes new or changed neurons with others on
			// both sides), less the pruned ones.
			computed := counters["pairs_scored"] - counters["pairs_pruned"]
			if bs := int64(job.Plan.BlockSize); computed > int64(scored)+bs*bs {
				t.Errorf("the kernel computed %d pairs, the update needs %v", computed, scored)
			}
			t.Logf("update needs %v of %v pairs, computed %d; work items: %d pairs (fresh %d)", scored, fullPairs, computed, job.Pairs(job.Items), full.Pairs(full.Items))

			// Again with the same inputs: nothing to do, nothing changes.
			before := localTree(t, upd.Out)
			job = runJob(t, "prism", upd)
			if len(job.Items) != 0 {
				t.Errorf("second update scores %d work items", len(job.Items))
			}
			sameSparseOutput(t, upd.Out, fresh.Out)
			after := localTree(t, upd.Out)
			for name, b := range before {
				if name != sinks.RunMarkerName && !bytes.Equal(after[name], b) {
					t.Errorf("%s changed in an update with nothing to do", name)
				}
			}
		})
	}
}

// runJobCounters runs a job on prism and returns it with its nblast
// counters.
func runJobCounters(t *testing.T, o pipeline.Options) (*pipeline.Job, map[string]int64) {
	t.Helper()
	defer withDeadline(t, o.Out)()
	ctx := context.Background()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := beam.Run(ctx, "prism", job.Pipeline)
	if err != nil {
		t.Fatalf("prism run: %v", err)
	}
	if err := job.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	c, ok := pipeline.Counters(res)
	if !ok {
		t.Fatal("prism reported no counters")
	}
	return job, c
}

// TestUpdateRefused: an update with other options, of another sink, or of
// an incomplete output is refused, saying why on its first line, and
// leaves the output as it was.
func TestUpdateRefused(t *testing.T) {
	ctx := context.Background()
	old, now := updateSets()
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Sink, o.Threshold, o.BlockSize = oldIn, t.TempDir(), "sparse", 0.2, 16
	runJob(t, "prism", o)
	before := localTree(t, o.Out)
	o.Queries, o.Exists = newIn, "update"
	for _, tc := range []struct {
		name string
		set  func(o *pipeline.Options)
		want string
	}{
		{"threshold", func(o *pipeline.Options) { o.Threshold = 0.3 }, "--exists update: " + o.Out + " was made with other options: --threshold was 0.2, now 0.3"},
		{"scores", func(o *pipeline.Options) { o.Scores = "mean" }, "--scores was forward, now mean"},
		{"normalized", func(o *pipeline.Options) { o.Normalized = false }, "--normalized was true, now false"},
		{"targets", func(o *pipeline.Options) { o.Targets = newIn }, "all-by-all (--targets omitted) was true, now false"},
		{"zarr", func(o *pipeline.Options) { o.Sink = "zarr" }, "--sink was sparse, now zarr"},
		{"topk", func(o *pipeline.Options) { o.TopK = 3 }, "--exists update: only --sink sparse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := o
			tc.set(&o)
			_, err := pipeline.Prepare(ctx, o)
			if err == nil || !strings.Contains(firstLine(err), tc.want) {
				t.Fatalf("err = %v, want a first line with %q", err, tc.want)
			}
		})
	}
	// An output whose run did not finish.
	os.Remove(filepath.Join(o.Out, sinks.ManifestName))
	if _, err := pipeline.Prepare(ctx, o); err == nil || !strings.Contains(firstLine(err), "is not complete") {
		t.Fatalf("update of an incomplete output: err = %v", err)
	}
	os.WriteFile(filepath.Join(o.Out, sinks.ManifestName), before[sinks.ManifestName], 0o644)
	after := localTree(t, o.Out)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed by a refused update", name)
		}
	}
}

// TestUpdateOfNothingIsAFreshRun: --exists update into an empty OUT is a
// fresh run.
func TestUpdateOfNothingIsAFreshRun(t *testing.T) {
	_, now := updateSets()
	in := writeDotprops(t, filepath.Join(t.TempDir(), "new.parquet"), now[:20])
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Sink, o.Threshold, o.BlockSize = in, t.TempDir(), "sparse", 0.2, 8
	fresh := o
	fresh.Out = t.TempDir()
	runJob(t, "prism", fresh)
	o.Exists = "update"
	runJob(t, "prism", o)
	sameSparseOutput(t, o.Out, fresh.Out)
}

// updateNeverRun prepares the update o of an output (earlier: its files)
// and does not run it, as when it is killed while scoring: the output
// must stay as it was, and a resume is refused, saying to run the update
// again.
func updateNeverRun(t *testing.T, o pipeline.Options, earlier map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	job, err := pipeline.Prepare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	job.Release(ctx)
	got := localTree(t, o.Out)
	for name, b := range earlier {
		if g, ok := got[name]; name != sinks.OwnerName && (!ok || !bytes.Equal(g, b)) {
			t.Errorf("%s changed by an update that never ran", name)
		}
	}
	r := o
	r.Exists = "resume"
	if _, err := pipeline.Prepare(ctx, r); err == nil || !strings.Contains(err.Error(), "run the update again with --exists update") {
		t.Errorf("resume after an update cut short: err = %v", err)
	}
	os.Remove(filepath.Join(o.Out, sinks.OwnerName))
}

// TestUpdateInterrupted: an update cut short before its commit point
// leaves the earlier output complete and readable, and the next update
// does it all again; one cut short after it (its new parts laid out, the
// switch begun) reads as incomplete, and --exists resume (or update)
// finishes the switch without scoring anything.
func TestUpdateInterrupted(t *testing.T) {
	ctx := context.Background()
	old, now := updateSets()
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Sink, o.Threshold, o.BlockSize = oldIn, t.TempDir(), "sparse", 0.2, 8
	runJob(t, "prism", o)
	before := localTree(t, o.Out)

	// Killed while scoring: prepared, never run.
	o.Queries, o.Exists = newIn, "update"
	updateNeverRun(t, o, before)
	readSparse(t, o.Out) // complete, manifest and all
	fresh := o
	fresh.Exists, fresh.Out = "fail", t.TempDir()
	runJob(t, "prism", fresh)
	runJob(t, "prism", o)
	sameSparseOutput(t, o.Out, fresh.Out)

	// Cut short after the commit point: the same inputs in blocks of 16
	// lay the output out again without scoring (so the merge alone, run
	// here, makes the new parts); then the switch stops after removing
	// the manifest and one old part.
	for _, exists := range []string{"resume", "update"} {
		t.Run(exists, func(t *testing.T) {
			o := o
			o.BlockSize = 16
			job, err := pipeline.Prepare(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(job.Items) != 0 {
				t.Fatalf("a new block size alone: %d work items to score", len(job.Items))
			}
			job.Cleanup(ctx)
			if err := sinks.MergeSparseUpdate(ctx, o.Out); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(o.Out, sinks.ManifestName))
			os.Remove(filepath.Join(o.Out, sinks.PartName(1)))
			if _, err := sinks.ReadManifest(ctx, o.Out); err == nil {
				t.Fatal("a switch cut short reads as complete")
			}
			o.Exists = exists
			job = runJob(t, "prism", o)
			if len(job.Items) != 0 {
				t.Errorf("finishing the switch scored %d work items", len(job.Items))
			}
			fresh := fresh
			fresh.BlockSize, fresh.Out = 16, t.TempDir()
			runJob(t, "prism", fresh)
			sameSparseOutput(t, o.Out, fresh.Out)
			if rec, want := runRecord(t, o.Out), runRecord(t, fresh.Out); rec["fingerprint"] != want["fingerprint"] {
				t.Errorf("fingerprint %v, fresh %v", rec["fingerprint"], want["fingerprint"])
			}
			o.BlockSize = 8 // back, for the next case
			o.Exists = "update"
			runJob(t, "prism", o)
		})
	}
}

// gcsUpdateInputs starts a fake GCS with bucket bkt and writes the
// earlier and the new inputs of the gs:// update tests (updateSets, the
// new set cut to 50 neurons) locally and to gs://bkt/in/old.parquet and
// gs://bkt/in/new.parquet; ctx ends with the test (2 minutes at most).
func gcsUpdateInputs(t *testing.T) (ctx context.Context, oldIn, newIn string) {
	t.Helper()
	gcstest.Start(t, "bkt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	old, now := updateSets()
	now = append(now[:44:44], now[57:]...) // 50 neurons: 7 blocks of 8, the earlier 8
	dir := t.TempDir()
	oldIn, newIn = writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	upload(t, ctx, oldIn, "gs://bkt/in/old.parquet")
	upload(t, ctx, newIn, "gs://bkt/in/new.parquet")
	return ctx, oldIn, newIn
}

// TestUpdateOnGCS: an update of a gs:// output from gs:// inputs leaves
// what a fresh local run on the new inputs writes, and no work area.
func TestUpdateOnGCS(t *testing.T) {
	ctx, _, newIn := gcsUpdateInputs(t)
	o := pipeline.Defaults()
	o.Sink, o.Scores, o.Threshold, o.BlockSize = "sparse", "mean", 0.1, 8
	local := o
	local.Queries, local.Out = newIn, t.TempDir()
	runJob(t, "prism", local)
	o.Queries, o.Out = "gs://bkt/in/old.parquet", "gs://bkt/out"
	runJob(t, "prism", o)
	o.Queries, o.Exists = "gs://bkt/in/new.parquet", "update"
	runJob(t, "prism", o)
	sameOutput(t, ctx, local.Out, o.Out, true, nil) // the same objects: no work area left
}

// TestUpdateAlpha: alpha is part of a neuron's digest only with
// --use_alpha (without it, it changes no score).
func TestUpdateAlpha(t *testing.T) {
	old, _ := updateSets()
	now := slices.Clone(old)
	c := cloneDotprops(now[5])
	c.Alpha[0] = c.Alpha[0] / 2
	now[5] = c
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	for _, alpha := range []bool{false, true} {
		o := pipeline.Defaults()
		o.Queries, o.Out, o.Sink, o.Threshold, o.BlockSize, o.UseAlpha = oldIn, t.TempDir(), "sparse", 0.1, 8, alpha
		runJob(t, "prism", o)
		o.Queries, o.Exists = newIn, "update"
		job := runJob(t, "prism", o)
		q := runRecord(t, o.Out)["update"].(map[string]any)["queries"].(map[string]any)
		if want := map[bool]float64{false: 0, true: 1}[alpha]; q["changed"] != want || (len(job.Items) > 0) != alpha {
			t.Errorf("--use_alpha=%t: %v changed, %d work items", alpha, q["changed"], len(job.Items))
		}
		fresh := o
		fresh.Exists, fresh.Out = "fail", t.TempDir()
		runJob(t, "prism", fresh)
		sameSparseOutput(t, o.Out, fresh.Out)
	}
}

// TestUpdateReusesScoredRows: an update cut short after scoring (here its
// merge fails on a damaged part of the earlier output) leaves the earlier
// output as it was; run again, it scores nothing and merges the rows it
// scored before.
func TestUpdateReusesScoredRows(t *testing.T) {
	ctx := context.Background()
	old, now := updateSets()
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	o := pipeline.Defaults()
	o.Queries, o.Out, o.Sink, o.Scores, o.Threshold, o.BlockSize = oldIn, t.TempDir(), "sparse", "min", 0.1, 8
	runJob(t, "prism", o)
	part := filepath.Join(o.Out, sinks.PartName(3))
	good, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	o.Queries, o.Exists = newIn, "update"
	func() {
		defer withDeadline(t, o.Out)()
		job, err := pipeline.Prepare(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer job.Release(ctx)
		if _, err := beam.Run(ctx, "prism", job.Pipeline); err == nil || !strings.Contains(err.Error(), sinks.PartName(3)) {
			t.Fatalf("update of a damaged output: err = %v", err)
		}
	}()
	if m, err := sinks.ReadManifest(ctx, o.Out); err != nil || !m.Complete {
		t.Fatalf("the earlier output is no longer complete: %+v, %v", m, err)
	}
	os.WriteFile(part, good, 0o644)
	job := runJob(t, "prism", o)
	if len(job.Items) != 0 {
		t.Errorf("the rerun scores %d work items, want the earlier rows reused", len(job.Items))
	}
	fresh := o
	fresh.Exists, fresh.Out = "fail", t.TempDir()
	runJob(t, "prism", fresh)
	sameSparseOutput(t, o.Out, fresh.Out)
}
