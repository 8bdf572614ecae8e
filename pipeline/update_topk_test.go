package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
)

// sameTopKOutput fails unless two top-k outputs hold the same files, byte
// for byte (top-k files and manifest), and the same rows.
func sameTopKOutput(t *testing.T, got, want string) {
	t.Helper()
	g, w := localTree(t, got), localTree(t, want)
	for name := range g {
		if strings.HasPrefix(name, ".") {
			t.Errorf("%s left in the updated output", name)
		}
		if _, ok := w[name]; !ok && name != sinks.RunMarkerName {
			t.Errorf("%s: not in a fresh run's output", name)
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
	ctx := context.Background()
	gr, err := sinks.ReadTopK(ctx, filepath.Join(got, sinks.TopKDir))
	if err != nil {
		t.Fatal(err)
	}
	wr, err := sinks.ReadTopK(ctx, filepath.Join(want, sinks.TopKDir))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gr) != fmt.Sprint(wr) {
		t.Errorf("updated top-k rows differ from a fresh run's: %d rows, fresh %d", len(gr), len(wr))
	}
	if len(wr) == 0 {
		t.Errorf("fresh top-k output has no rows: the test tests nothing")
	}
}

// TestUpdateTopKEqualsFreshRun: an update of an earlier top-k output
// (--sink topk) to new inputs (neurons removed, changed, added) gives the
// output a fresh run on the new inputs gives, byte for byte; most queries
// are searched only against their earlier top k and the new or changed
// targets.
func TestUpdateTopKEqualsFreshRun(t *testing.T) {
	f := writeUpdateFiles(t)
	oldAll, newAll, keptAll, oldStr, newStr := f.oldAll, f.newAll, f.keptAll, f.oldStr, f.newStr
	oldQ, oldT, newQ, newT := f.oldQ, f.oldT, f.newQ, f.newT
	for _, tc := range []struct {
		name                              string
		queries, targets                  [2]string // earlier, new
		scores                            string
		threshold                         float64
		k, blockSize                      int
		wantNew, wantChanged, wantRemoved int
		dtype                             string
	}{
		{"allbyall-forward-k3", [2]string{oldAll, newAll}, [2]string{}, "forward", 0.1, 3, 8, 6, 3, 3, ""},
		{"allbyall-mean-k8-float64-str", [2]string{oldStr, newStr}, [2]string{}, "mean", 0, 8, 16, 6, 3, 3, "float64"},
		{"allbyall-removed-only-k2", [2]string{oldAll, keptAll}, [2]string{}, "max", -1, 2, 8, 0, 0, 6, ""},
		{"allbyall-default-blocks-k1", [2]string{oldAll, keptAll}, [2]string{}, "forward", 0.3, 1, 0, 0, 0, 6, ""},
		{"qt-min-k4", [2]string{oldQ, newQ}, [2]string{oldT, newT}, "min", 0, 4, 8, 0, 2, 2, ""},
		{"qt-forward-k40-all-rows", [2]string{oldQ, newQ}, [2]string{oldT, newT}, "forward", math.Inf(-1), 40, 8, 0, 2, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Sink, o.TopK, o.Scores, o.Threshold, o.BlockSize = "topk", tc.k, tc.scores, tc.threshold, tc.blockSize
			if tc.dtype != "" {
				o.DType = tc.dtype
			}
			fresh, upd := o, o
			fresh.Queries, fresh.Targets, fresh.Out = tc.queries[1], tc.targets[1], t.TempDir()
			full, fullCounters := runJobCounters(t, fresh)

			upd.Queries, upd.Targets, upd.Out = tc.queries[0], tc.targets[0], t.TempDir()
			runJob(t, "prism", upd)
			upd.Queries, upd.Targets, upd.Exists = tc.queries[1], tc.targets[1], "update"
			_, counters := runJobCounters(t, upd)
			sameTopKOutput(t, upd.Out, fresh.Out)

			sum := updateRecord(t, upd.Out, fresh.Out, [3]int{tc.wantNew, tc.wantChanged, tc.wantRemoved})
			scored, fullPairs := sum["pairs_scored"].(float64), sum["pairs_full_run"].(float64)
			if fullPairs != float64(len(full.Plan.Queries)*len(full.Plan.Targets)) || scored > fullPairs {
				t.Errorf("update searches %v of %v pairs", scored, fullPairs)
			}
			t.Logf("update searches at most %v of %v pairs; kernel searched %d (fresh run %d)", scored, fullPairs, counters["pairs_searched"], fullCounters["pairs_searched"])
			if tc.k < 8 && counters["pairs_searched"] >= fullCounters["pairs_searched"] {
				t.Errorf("the update searched %d pairs, a fresh run %d", counters["pairs_searched"], fullCounters["pairs_searched"])
			}

			// Again with the same inputs: nothing to do, nothing changes.
			before := localTree(t, upd.Out)
			runJob(t, "prism", upd)
			sameTopKOutput(t, upd.Out, fresh.Out)
			after := localTree(t, upd.Out)
			for name, b := range before {
				if name != sinks.RunMarkerName && !bytes.Equal(after[name], b) {
					t.Errorf("%s changed in an update with nothing to do", name)
				}
			}
		})
	}
}

// TestUpdateTopKInterrupted: an update cut short before its commit point
// leaves the earlier output complete, and the next update gives the fresh
// output; one committed but not switched in is finished by --exists
// resume (and --exists update).
func TestUpdateTopKInterrupted(t *testing.T) {
	ctx := context.Background()
	old, now := updateSets()
	dir := t.TempDir()
	oldIn, newIn := writeDotprops(t, filepath.Join(dir, "old.parquet"), old), writeDotprops(t, filepath.Join(dir, "new.parquet"), now)
	o := pipeline.Defaults()
	o.Sink, o.TopK, o.Threshold, o.BlockSize = "topk", 4, 0.1, 8
	fresh := o
	fresh.Queries, fresh.Out = newIn, t.TempDir()
	runJob(t, "prism", fresh)

	o.Queries, o.Out = oldIn, t.TempDir()
	runJob(t, "prism", o)
	earlier := localTree(t, o.Out)
	o.Queries, o.Exists = newIn, "update"
	// Prepared, never run (killed while scoring).
	updateNeverRun(t, o, earlier)
	runJob(t, "prism", o)
	sameTopKOutput(t, o.Out, fresh.Out)

	// Committed, switch cut short: OUT/topk's manifest and a file gone,
	// the work area whole. Made by hand from the fresh output.
	for _, finish := range []string{"resume", "update"} {
		t.Run(finish, func(t *testing.T) {
			out := t.TempDir()
			copyTree(t, fresh.Out, out)
			work := sinks.UpdateTopKDir(out)
			copyTree(t, filepath.Join(fresh.Out, sinks.TopKDir), work)
			rec, _ := os.ReadFile(filepath.Join(fresh.Out, sinks.RunMarkerName))
			if err := sinks.StartUpdate(ctx, out, sinks.UpdateSpec{Record: rec}); err != nil {
				t.Fatal(err)
			}
			copyTree(t, filepath.Join(fresh.Out, sinks.TopKDir), work) // StartUpdate cleared it
			os.Remove(filepath.Join(out, sinks.TopKDir, sinks.ManifestName))
			os.Remove(filepath.Join(out, sinks.TopKDir, sinks.TopKPartName(0)))
			os.WriteFile(filepath.Join(out, sinks.RunMarkerName), earlier[sinks.RunMarkerName], 0o644)
			p := o
			p.Out, p.Exists = out, finish
			runJob(t, "prism", p)
			sameTopKOutput(t, out, fresh.Out)
		})
	}
}

// copyTree copies the files of src (not its subdirectories) into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() {
			if !strings.HasPrefix(e.Name(), ".") {
				copyTree(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpdateTopKRefused: --sink sparse with --topk, and --sink topk
// without pruning, are refused on their first line.
func TestUpdateTopKRefused(t *testing.T) {
	ctx := context.Background()
	old, _ := updateSets()
	in := writeDotprops(t, filepath.Join(t.TempDir(), "old.parquet"), old)
	for _, tc := range []struct {
		name string
		set  func(o *pipeline.Options)
		want string
	}{
		{"sparse-topk", func(o *pipeline.Options) { o.Sink, o.TopK = "sparse", 3 }, "--exists update: only --sink sparse (without --topk), --sink topk and --sink zarr"},
		{"no-prune", func(o *pipeline.Options) { o.Sink, o.TopK, o.Prune = "topk", 3, false }, "--exists update: --sink topk is updated by the exact k-NN search, which needs --prune"},
		{"smart", func(o *pipeline.Options) { o.Sink, o.TopK, o.Smart = "topk", 3, true }, "--exists update: --smart cannot be updated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Queries, o.Out, o.Exists = in, t.TempDir(), "update"
			tc.set(&o)
			_, err := pipeline.Prepare(ctx, o)
			if err == nil || !strings.Contains(firstLine(err), tc.want) {
				t.Fatalf("err = %v, want a first line with %q", err, tc.want)
			}
		})
	}
}

// TestUpdateTopKOnGCS: an update of a top-k output on gs:// (inputs and
// output) leaves the objects a local fresh run writes, the same bytes.
func TestUpdateTopKOnGCS(t *testing.T) {
	ctx, _, newIn := gcsUpdateInputs(t)
	o := pipeline.Defaults()
	o.Sink, o.TopK, o.Scores, o.Threshold, o.BlockSize = "topk", 5, "mean", 0.1, 8
	local := o
	local.Queries, local.Out = newIn, t.TempDir()
	runJob(t, "prism", local)
	o.Queries, o.Out = "gs://bkt/in/old.parquet", "gs://bkt/out"
	runJob(t, "prism", o)
	o.Queries, o.Exists = "gs://bkt/in/new.parquet", "update"
	runJob(t, "prism", o)
	want, got := localTree(t, local.Out), gcsTree(t, ctx, o.Out)
	if w, g := slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)); !slices.Equal(w, g) {
		t.Fatalf("gs:// output holds %q, a local fresh run's %q", g, w)
	}
	files := 0
	for name, b := range want {
		if strings.HasPrefix(name, sinks.TopKDir+"/") {
			files++
			if !bytes.Equal(got[name], b) {
				t.Errorf("%s: not a fresh run's bytes", name)
			}
		}
	}
	if files != 8 { // 7 files and the manifest
		t.Errorf("%d files under topk/, want 8", files)
	}
}
