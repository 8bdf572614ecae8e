package sinks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// TestTopKUpdateSwitch: a committed update of a top-k output (files and
// manifest in OUT/.update/topk) is switched into OUT/topk; cut short after
// any step of the switch, FinishTopKUpdate finishes it, and finishing a
// finished one does nothing.
func TestTopKUpdateSwitch(t *testing.T) {
	ctx := context.Background()
	write := func(dir string, qb int, rows []TopKRow) []byte {
		t.Helper()
		data, err := EncodeRankedRows(rows, false, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := files.WriteFile(ctx, filepath.Join(dir, TopKPartName(qb)), data); err != nil {
			t.Fatal(err)
		}
		return data
	}
	row := func(q, r, x int64, s float64) TopKRow {
		return TopKRow{Query: scoring.IntID(q), Rank: int(r), Target: scoring.IntID(x), Score: s}
	}
	spec := UpdateSpec{Record: []byte(`{"new":"marker"}`)}
	newParts := map[string][]byte{}
	var manifest []byte
	setup := func() string {
		out := t.TempDir()
		topk := filepath.Join(out, TopKDir)
		// The earlier output: three files.
		for qb := range 3 {
			write(topk, qb, []TopKRow{row(int64(qb), 1, 9, 0.5)})
		}
		if err := files.WriteJSON(ctx, filepath.Join(topk, ManifestName), Manifest{Complete: true, Rows: 3, Parts: 3, Parameters: []byte(`{"old":true}`)}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(out, RunMarkerName), []byte(`{"old":"marker"}`), 0o644)
		if err := StartUpdate(ctx, out, spec); err != nil {
			t.Fatal(err)
		}
		// The update's: two files, then the commit point.
		work := UpdateTopKDir(out)
		newParts[TopKPartName(0)] = write(work, 0, []TopKRow{row(1, 1, 2, 0.75), row(1, 2, 3, 0.5)})
		newParts[TopKPartName(1)] = write(work, 1, []TopKRow{row(7, 1, 1, 0.25)})
		if err := files.WriteJSON(ctx, filepath.Join(work, ManifestName), Manifest{Complete: true, Rows: 3, Parts: 2, Parameters: []byte(`{"new":true}`)}); err != nil {
			t.Fatal(err)
		}
		manifest, _ = os.ReadFile(filepath.Join(work, ManifestName))
		if ok, err := TopKUpdatePending(ctx, out); err != nil || !ok {
			t.Fatalf("pending: %t, %v", ok, err)
		}
		return out
	}
	// The switch's steps, as FinishTopKUpdate does them.
	steps := []func(out string){
		func(out string) { os.Remove(filepath.Join(out, TopKDir, ManifestName)) },
		func(out string) {
			for qb := range 3 {
				os.Remove(filepath.Join(out, TopKDir, TopKPartName(qb)))
			}
		},
		func(out string) { os.WriteFile(filepath.Join(out, RunMarkerName), spec.Record, 0o644) },
		func(out string) {
			os.WriteFile(filepath.Join(out, TopKDir, TopKPartName(0)), newParts[TopKPartName(0)], 0o644)
		},
		func(out string) {
			os.WriteFile(filepath.Join(out, TopKDir, TopKPartName(1)), newParts[TopKPartName(1)], 0o644)
		},
		func(out string) { os.WriteFile(filepath.Join(out, TopKDir, ManifestName), manifest, 0o644) },
	}
	for k := 0; k <= len(steps); k++ {
		out := setup()
		for _, step := range steps[:k] {
			step(out)
		}
		done, err := FinishTopKUpdate(ctx, out, RunOwner{})
		if err != nil || !done {
			t.Fatalf("cut after %d steps: %t, %v", k, done, err)
		}
		got := treeOf(t, out)
		var names []string
		for name := range got {
			names = append(names, name)
		}
		slices.Sort(names)
		want := []string{RunMarkerName, TopKDir + "/" + ManifestName, TopKDir + "/" + TopKPartName(0), TopKDir + "/" + TopKPartName(1)}
		slices.Sort(want)
		if strings.Join(names, " ") != strings.Join(want, " ") {
			t.Errorf("cut after %d steps: files %v, want %v", k, names, want)
		}
		if !bytes.Equal(got[RunMarkerName], spec.Record) {
			t.Errorf("cut after %d steps: run marker %q", k, got[RunMarkerName])
		}
		if !bytes.Equal(got[TopKDir+"/"+ManifestName], manifest) {
			t.Errorf("cut after %d steps: manifest %q, want %q", k, got[TopKDir+"/"+ManifestName], manifest)
		}
		for name, b := range newParts {
			if !bytes.Equal(got[TopKDir+"/"+name], b) {
				t.Errorf("cut after %d steps: %s is not the update's", k, name)
			}
		}
		rows, err := ReadTopK(ctx, filepath.Join(out, TopKDir))
		if err != nil || len(rows) != 3 {
			t.Errorf("cut after %d steps: rows %v, %v", k, rows, err)
		}
		if again, err := FinishTopKUpdate(ctx, out, RunOwner{}); err != nil || again {
			t.Errorf("finishing a finished update: %t, %v", again, err)
		}
	}
	// A work area without its commit point is not switched in.
	out := setup()
	os.Remove(filepath.Join(UpdateTopKDir(out), ManifestName))
	if done, err := FinishTopKUpdate(ctx, out, RunOwner{}); err != nil || done {
		t.Errorf("uncommitted update: %t, %v", done, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, RunMarkerName)); string(b) != `{"old":"marker"}` {
		t.Errorf("uncommitted update switched the run marker: %q", b)
	}
}
