package pipeline_test

import (
	"bytes"
	"context"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// denseByID reads every array of the dense output at out as a map from
// (query, target) to the value's bits, with the array's ids, checking
// that it is complete.
func denseByID(t *testing.T, out string, arrays []string) (vals []map[[2]scoring.ID]uint64, queries, targets []scoring.ID, attrs map[string]any) {
	t.Helper()
	ctx := context.Background()
	for k, name := range arrays {
		z, err := zarr.Open(ctx, out, name)
		if err != nil {
			t.Fatal(err)
		}
		if !z.Complete() {
			t.Errorf("%s/%s is not marked complete", out, name)
		}
		p := filepath.Join(out, name)
		q, err := results.AttrIDs(z.Attrs["queries"], p, "queries")
		if err != nil {
			t.Fatal(err)
		}
		tg, err := results.AttrIDs(z.Attrs["targets"], p, "targets")
		if err != nil {
			t.Fatal(err)
		}
		all, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != z.Shape[0] || len(tg) != z.Shape[1] {
			t.Fatalf("%s: %d queries, %d targets for shape %v", p, len(q), len(tg), z.Shape)
		}
		m := make(map[[2]scoring.ID]uint64, len(all))
		for i, qi := range q {
			for j, tj := range tg {
				v := all[i*len(tg)+j]
				if math.IsNaN(v) {
					t.Errorf("%s: (%s, %s) is NaN", p, qi, tj)
				}
				m[[2]scoring.ID{qi, tj}] = math.Float64bits(v)
			}
		}
		vals = append(vals, m)
		if k == 0 {
			queries, targets, attrs = q, tg, z.Attrs
		}
	}
	return vals, queries, targets, attrs
}

// sameDenseValues fails unless the dense outputs got and want hold the
// same ids and, pair by pair, the same values (bit for bit) in every
// array; their orders may differ. It returns got's attributes.
func sameDenseValues(t *testing.T, got, want string, arrays []string) map[string]any {
	t.Helper()
	g, gq, gt, attrs := denseByID(t, got, arrays)
	w, wq, wt, _ := denseByID(t, want, arrays)
	if len(gq) != len(wq) || len(gt) != len(wt) {
		t.Fatalf("updated output is %dx%d, fresh %dx%d", len(gq), len(gt), len(wq), len(wt))
	}
	for k := range w {
		bad := 0
		for key, v := range w[k] {
			if gv, ok := g[k][key]; !ok || gv != v {
				if bad++; bad <= 5 {
					t.Errorf("%s %v: updated %v (%t), fresh %v", arrays[k], key, math.Float64frombits(gv), ok, math.Float64frombits(v))
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d values differ", arrays[k], bad, len(w[k]))
		}
	}
	for name := range localTree(t, got) {
		if strings.HasPrefix(name, sinks.UpdateDir) || strings.HasPrefix(name, ".staging") {
			t.Errorf("%s left in the updated output", name)
		}
	}
	return attrs
}

// TestUpdateDenseEqualsFreshRun: an update of an earlier dense output to
// new inputs (neurons removed, changed, added) holds, pair by pair, the
// values a fresh run on the new inputs gives, bit for bit, in the
// update's order (the earlier order, then the new neurons), which its
// attributes list; only the pairs of new or changed neurons are scored.
// An updated output can be updated again.
func TestUpdateDenseEqualsFreshRun(t *testing.T) {
	f := writeUpdateFiles(t)
	for _, tc := range []struct {
		name                              string
		queries, targets                  []string // earlier, (intermediate,) new
		scores, dtype                     string
		blockSize                         int
		wantNew, wantChanged, wantRemoved int
	}{
		{"allbyall-forward", []string{f.oldAll, f.newAll}, nil, "forward", "", 8, 6, 3, 3},
		{"allbyall-mean-str-ids-float64", []string{f.oldStr, f.newStr}, nil, "mean", "float64", 16, 6, 3, 3},
		// The default block size follows the number of neurons (8 for
		// 60, then 7 for 54): the chunks change shape.
		{"allbyall-removed-only-default-blocks", []string{f.oldAll, f.keptAll}, nil, "max", "", 0, 0, 0, 6},
		{"qt-both-float16", []string{f.oldQ, f.newQ}, []string{f.oldT, f.newT}, "both", "float16", 8, 0, 2, 2},
		// Updated twice: the second starts from the update's order (and
		// chunks of 7, the default block size for 54 neurons).
		{"allbyall-min-twice-default-blocks", []string{f.oldAll, f.keptAll, f.newAll}, nil, "min", "", 0, 12, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Sink, o.Scores, o.BlockSize = "zarr", tc.scores, tc.blockSize
			if tc.dtype != "" {
				o.DType = tc.dtype
			}
			arrays := pipeline.ScoreArrays(tc.scores)
			at := func(sides []string, i int) string {
				if sides == nil {
					return ""
				}
				return sides[i]
			}
			last := len(tc.queries) - 1
			fresh, upd := o, o
			fresh.Queries, fresh.Targets, fresh.Out = tc.queries[last], at(tc.targets, last), t.TempDir()
			full := runJob(t, "prism", fresh)

			upd.Queries, upd.Targets, upd.Out = tc.queries[0], at(tc.targets, 0), t.TempDir()
			runJob(t, "prism", upd)
			upd.Exists = "update"
			var job *pipeline.Job
			var counters map[string]int64
			for i := 1; i <= last; i++ {
				upd.Queries, upd.Targets = tc.queries[i], at(tc.targets, i)
				job, counters = runJobCounters(t, upd)
			}
			attrs := sameDenseValues(t, upd.Out, fresh.Out, arrays)
			if attrs[sinks.AttrOrder] != sinks.OrderUpdate {
				t.Errorf("attrs[%q] = %v, want %q", sinks.AttrOrder, attrs[sinks.AttrOrder], sinks.OrderUpdate)
			}
			sum := updateRecord(t, upd.Out, fresh.Out, [3]int{tc.wantNew, tc.wantChanged, tc.wantRemoved})
			if fp := runRecord(t, fresh.Out)["fingerprint"]; attrs["fingerprint"] != fp {
				t.Errorf("updated array's fingerprint %v, the fresh run's %v", attrs["fingerprint"], fp)
			}
			// The kernel computed exactly the pairs with a new or changed
			// neuron.
			scored, fullPairs := sum["pairs_scored"].(float64), sum["pairs_full_run"].(float64)
			computed := counters["pairs_scored"] - counters["pairs_pruned"]
			if float64(computed) != scored || fullPairs != float64(len(full.Plan.Queries)*len(full.Plan.Targets)) {
				t.Errorf("the kernel computed %d pairs, the update needs %v of %v", computed, scored, fullPairs)
			}
			if tc.wantNew+tc.wantChanged > 0 && !(scored > 0 && scored < fullPairs/2) {
				t.Errorf("update scored %v of %v pairs", scored, fullPairs)
			}
			t.Logf("update scored %v of %v pairs; block size %d (fresh %d)", scored, fullPairs, job.Plan.BlockSize, full.Plan.BlockSize)

			// Again with the same inputs: nothing to do, nothing changes.
			before := localTree(t, upd.Out)
			if job := runJob(t, "prism", upd); len(job.Items) != 0 {
				t.Errorf("second update scores %d work items", len(job.Items))
			}
			for name, b := range before {
				if name != sinks.RunMarkerName && !bytes.Equal(localTree(t, upd.Out)[name], b) {
					t.Errorf("%s changed in an update with nothing to do", name)
				}
			}
			// A resume of the updated output finds it complete.
			res := upd
			res.Exists = "resume"
			if job := runJob(t, "prism", res); len(job.Items) != 0 {
				t.Errorf("resume of an updated output scores %d work items", len(job.Items))
			}
		})
	}
}

// TestUpdateDenseInterrupted: an update of a dense output cut short before
// its commit point leaves the earlier output complete and unchanged, and
// the next update does it all again; one committed but not switched in is
// finished by --exists resume (and --exists update). A resume cannot
// rescore a missing chunk of an updated output, and says so.
func TestUpdateDenseInterrupted(t *testing.T) {
	ctx := context.Background()
	old, now := updateSets()
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	o := pipeline.Defaults()
	o.Sink, o.Scores, o.BlockSize = "zarr", "mean", 8
	arrays := pipeline.ScoreArrays(o.Scores)
	fresh := o
	fresh.Queries, fresh.Out = newIn, t.TempDir()
	runJob(t, "prism", fresh)

	o.Queries, o.Out = oldIn, t.TempDir()
	runJob(t, "prism", o)
	earlierOut := t.TempDir()
	copyTree(t, o.Out, earlierOut)
	earlier := localTree(t, o.Out)
	o.Queries, o.Exists = newIn, "update"
	// Prepared, never run (killed while scoring).
	updateNeverRun(t, o, earlier)
	runJob(t, "prism", o)
	sameDenseValues(t, o.Out, fresh.Out, arrays)
	updated := localTree(t, o.Out)

	// Committed, switch cut short: the earlier output with its array
	// marked incomplete and a chunk replaced, the work area whole (the
	// update's arrays and the commit point), made by hand.
	for _, finish := range []string{"resume", "update"} {
		t.Run(finish, func(t *testing.T) {
			out := t.TempDir()
			copyTree(t, earlierOut, out)
			if err := sinks.StartUpdate(ctx, out, sinks.UpdateSpec{Record: updated[sinks.RunMarkerName], Arrays: arrays}); err != nil {
				t.Fatal(err)
			}
			work := sinks.UpdateZarrDir(out)
			copyTree(t, o.Out, work)
			os.Remove(filepath.Join(work, sinks.RunMarkerName))
			if err := os.WriteFile(filepath.Join(work, sinks.ManifestName), []byte(`{"complete":true}`), 0o644); err != nil {
				t.Fatal(err)
			}
			attrs, err := zarr.ReadAttrs(ctx, out, sinks.ScoresArray)
			if err != nil {
				t.Fatal(err)
			}
			attrs["complete"] = false
			zarr.WriteAttrs(ctx, out, sinks.ScoresArray, attrs)
			os.WriteFile(filepath.Join(out, sinks.ScoresArray, "0.0"), updated[filepath.Join(sinks.ScoresArray, "0.0")], 0o644)
			if src, _ := openSource(t, out); src == results.Complete {
				t.Errorf("an output mid-switch reads as complete")
			}
			p := o
			p.Out, p.Exists = out, finish
			if job := runJob(t, "prism", p); finish == "resume" && len(job.Items) != 0 {
				t.Errorf("resume of a committed update scores %d work items", len(job.Items))
			}
			g := localTree(t, out)
			for name, b := range updated {
				if name != sinks.OwnerName && name != sinks.RunMarkerName && !bytes.Equal(g[name], b) {
					t.Errorf("%s: not the update's after the switch was finished", name)
				}
			}
			for name := range g {
				if _, ok := updated[name]; !ok {
					t.Errorf("%s: left after the switch was finished", name)
				}
			}
		})
	}

	// A chunk of the updated output lost: resume refuses, update too
	// (the output is damaged), both saying what to do.
	os.Remove(filepath.Join(o.Out, sinks.ScoresArray, "1.0"))
	res := o
	res.Exists = "resume"
	if _, err := pipeline.Prepare(ctx, res); err == nil || !strings.Contains(firstLine(err), "was made by --exists update") {
		t.Errorf("resume of an updated output with a chunk lost: err = %v", err)
	}
	os.Remove(filepath.Join(o.Out, sinks.OwnerName))
	if _, err := pipeline.Prepare(ctx, o); err == nil || !strings.Contains(firstLine(err), "is damaged") {
		t.Errorf("update of an updated output with a chunk lost: err = %v", err)
	}
}

// openSource is the verdict every reader gives on the dense output at out.
func openSource(t *testing.T, out string) (results.Status, string) {
	t.Helper()
	ctx := context.Background()
	r, err := results.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.Source(sinks.ScoresArray)
	if err != nil {
		t.Fatal(err)
	}
	st, why, err := src.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, why
}

// TestUpdateDenseOnGCS: an update of a dense output on gs:// (fake GCS;
// the grid shrinks from 8×8 to 7×7 chunks, so the switch removes chunks
// too) leaves the objects a local update of the same output leaves,
// byte for byte.
func TestUpdateDenseOnGCS(t *testing.T) {
	ctx, oldIn, newIn := gcsUpdateInputs(t)
	o := pipeline.Defaults()
	o.Sink, o.Scores, o.BlockSize = "zarr", "mean", 8
	local := o
	local.Queries, local.Out = oldIn, t.TempDir()
	runJob(t, "prism", local)
	local.Queries, local.Exists = newIn, "update"
	runJob(t, "prism", local)
	o.Queries, o.Out = "gs://bkt/in/old.parquet", "gs://bkt/out"
	runJob(t, "prism", o)
	o.Queries, o.Exists = "gs://bkt/in/new.parquet", "update"
	runJob(t, "prism", o)
	want, got := localTree(t, local.Out), gcsTree(t, ctx, o.Out)
	delete(want, sinks.OwnerName)
	delete(got, sinks.OwnerName)
	if w, g := slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)); !slices.Equal(w, g) {
		t.Fatalf("gs:// output holds %q, the local update's %q", g, w)
	}
	chunks := 0
	for name, b := range want {
		if name == sinks.RunMarkerName {
			continue // names the inputs' paths
		}
		if !strings.HasPrefix(name, ".") && !strings.Contains(name, "/.") {
			chunks++
		}
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s: not the local update's bytes", name)
		}
	}
	if chunks != 49 {
		t.Errorf("%d chunks, want 7×7", chunks)
	}
}
