package sinks

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/zarr"
)

// TestZarrUpdateSwitch: a committed update of a dense output (its arrays
// and the commit point in OUT/.update/zarr) is switched into OUT, the
// array changing shape (5×5 in 3×3 chunks of 2×2 → 3×4 in 2×2 chunks);
// cut short after any step of the switch, FinishZarrUpdate finishes it,
// and finishing a finished one does nothing.
func TestZarrUpdateSwitch(t *testing.T) {
	ctx := context.Background()
	array := func(dir string, shape [2]int, base float64) (zarr.ArraySpec, []float64) {
		t.Helper()
		spec := zarr.ArraySpec{Name: ScoresArray, Shape: shape, Chunks: [2]int{2, 2}, DType: "float32",
			Attrs: map[string]any{"base": base}}
		if err := zarr.Create(ctx, dir, []zarr.ArraySpec{spec}); err != nil {
			t.Fatal(err)
		}
		all := make([]float64, shape[0]*shape[1])
		for i := range all {
			all[i] = base + float64(i)
		}
		for ci := 0; ci*2 < shape[0]; ci++ {
			for cj := 0; cj*2 < shape[1]; cj++ {
				rows, cols := min(2, shape[0]-ci*2), min(2, shape[1]-cj*2)
				var vals []float64
				for r := range rows {
					for c := range cols {
						vals = append(vals, all[(ci*2+r)*shape[1]+cj*2+c])
					}
				}
				data, err := zarr.EncodeChunk(spec, rows, cols, vals)
				if err != nil {
					t.Fatal(err)
				}
				if err := zarr.WriteChunk(ctx, dir, spec, ci, cj, data); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := zarr.MarkComplete(ctx, dir, spec); err != nil {
			t.Fatal(err)
		}
		return spec, all
	}
	spec := UpdateSpec{Record: []byte(`{"new":"marker"}`), Arrays: []string{ScoresArray}}
	var want map[string][]byte // the new array's files, by name under OUT
	var newVals []float64
	setup := func() string {
		out := t.TempDir()
		array(out, [2]int{5, 5}, 100)
		os.WriteFile(filepath.Join(out, RunMarkerName), []byte(`{"old":"marker"}`), 0o644)
		if err := StartUpdate(ctx, out, spec); err != nil {
			t.Fatal(err)
		}
		work := UpdateZarrDir(out)
		_, newVals = array(work, [2]int{3, 4}, 0)
		want = map[string][]byte{}
		for name, b := range treeOf(t, work) {
			if strings.HasPrefix(name, ScoresArray+"/") {
				want[name] = b
			}
		}
		if err := files.WriteJSON(ctx, filepath.Join(work, ManifestName), Manifest{Complete: true, Parts: 4, Parameters: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if ok, err := ZarrUpdatePending(ctx, out); err != nil || !ok {
			t.Fatalf("pending: %t, %v", ok, err)
		}
		return out
	}
	put := func(out, name string) { os.WriteFile(filepath.Join(out, name), want[name], 0o644) }
	// The switch's steps, as FinishZarrUpdate does them.
	steps := []func(out string){
		func(out string) {
			attrs, _ := zarr.ReadAttrs(ctx, out, ScoresArray)
			attrs["complete"] = false
			zarr.WriteAttrs(ctx, out, ScoresArray, attrs)
		},
		func(out string) { put(out, ScoresArray+"/0.0"); put(out, ScoresArray+"/0.1") },
		func(out string) { put(out, ScoresArray+"/1.0"); put(out, ScoresArray+"/1.1") },
		func(out string) {
			for _, k := range []string{"0.2", "1.2", "2.0", "2.1", "2.2"} {
				os.Remove(filepath.Join(out, ScoresArray, k))
			}
		},
		func(out string) { put(out, ScoresArray+"/.zarray") },
		func(out string) { os.WriteFile(filepath.Join(out, RunMarkerName), spec.Record, 0o644) },
		func(out string) { put(out, ScoresArray+"/.zattrs") },
	}
	for k := 0; k <= len(steps); k++ {
		out := setup()
		for _, step := range steps[:k] {
			step(out)
		}
		done, err := FinishZarrUpdate(ctx, out, RunOwner{})
		if err != nil || !done {
			t.Fatalf("cut after %d steps: %t, %v", k, done, err)
		}
		got := treeOf(t, out)
		names := slices.Sorted(maps.Keys(got))
		wantNames := []string{".zgroup", RunMarkerName}
		for name := range want {
			wantNames = append(wantNames, name)
		}
		slices.Sort(wantNames)
		if strings.Join(names, " ") != strings.Join(wantNames, " ") {
			t.Errorf("cut after %d steps: files %v, want %v", k, names, wantNames)
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("cut after %d steps: %s is not the update's", k, name)
			}
		}
		if !bytes.Equal(got[RunMarkerName], spec.Record) {
			t.Errorf("cut after %d steps: run marker %q", k, got[RunMarkerName])
		}
		z, err := zarr.Open(ctx, out, ScoresArray)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := z.Read(ctx, 0, 3, 0, 4)
		if err != nil || !z.Complete() || !slices.Equal(vals, newVals) {
			t.Errorf("cut after %d steps: complete %t, values %v (%v), want %v", k, z.Complete(), vals, err, newVals)
		}
		if again, err := FinishZarrUpdate(ctx, out, RunOwner{}); err != nil || again {
			t.Errorf("finishing a finished update: %t, %v", again, err)
		}
	}
	// A work area without its commit point is not switched in.
	out := setup()
	os.Remove(filepath.Join(UpdateZarrDir(out), ManifestName))
	if done, err := FinishZarrUpdate(ctx, out, RunOwner{}); err != nil || done {
		t.Errorf("uncommitted update: %t, %v", done, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, RunMarkerName)); string(b) != `{"old":"marker"}` {
		t.Errorf("uncommitted update switched the run marker: %q", b)
	}
	// A damaged work area (a chunk missing) is refused, naming it.
	out = setup()
	os.Remove(filepath.Join(UpdateZarrDir(out), ScoresArray, "1.1"))
	if _, err := FinishZarrUpdate(ctx, out, RunOwner{}); err == nil || !strings.Contains(err.Error(), "holds 3 of its 4 chunks") {
		t.Errorf("damaged work area: %v", err)
	}
}
