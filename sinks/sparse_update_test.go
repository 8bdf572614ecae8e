package sinks

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

// writeTestPart writes the part of rows (query, target, score) under dir
// as query block qb, the queries and targets in the order given.
func writeTestPart(t *testing.T, dir string, qb int, queries, targets []int64, rows [][3]float64) {
	t.Helper()
	c := scores.Chunk{QB: qb, TB: -1, Rows: len(queries), Cols: len(targets)}
	qi, ti := map[int64]int{}, map[int64]int{}
	for i, q := range queries {
		c.Queries = append(c.Queries, scoring.IntID(q))
		qi[q] = i
	}
	for j, x := range targets {
		c.Targets = append(c.Targets, scoring.IntID(x))
		ti[x] = j
	}
	c.Values = make([]float64, c.Rows*c.Cols)
	for i := range c.Values {
		c.Values[i] = math.NaN()
	}
	for _, r := range rows {
		c.Values[qi[int64(r[0])]*c.Cols+ti[int64(r[1])]] = r[2]
	}
	data, _, err := EncodeSparsePart(c, math.Inf(-1), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.WriteFile(context.Background(), filepath.Join(dir, PartName(qb)), data); err != nil {
		t.Fatal(err)
	}
}

// treeOf reads every file under dir, by relative path.
func treeOf(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeTree(t *testing.T, dir string, tree map[string][]byte) {
	t.Helper()
	for name, b := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSparseUpdateMergeAndSwitch: the merge keeps the earlier rows of
// unchanged neurons and the new rows of new or changed ones, laid out by
// the new plan; the switch, cut short at any step and run again, ends
// with the new output in place and the work area gone.
func TestSparseUpdateMergeAndSwitch(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	// Earlier all-by-all of 1, 2, 3 (blocks of 2): 3 is removed, 2
	// changed, 4 new.
	writeTestPart(t, out, 0, []int64{1, 2}, []int64{1, 2, 3}, [][3]float64{{1, 1, 1}, {1, 2, 0.5}, {1, 3, 0.25}, {2, 1, 0.4}, {2, 2, 1}})
	writeTestPart(t, out, 1, []int64{3}, []int64{1, 2, 3}, [][3]float64{{3, 1, 0.3}, {3, 3, 1}})
	if err := files.WriteJSON(ctx, filepath.Join(out, ManifestName), Manifest{Complete: true, Rows: 7, Parts: 2, Parameters: []byte(`{"old":true}`)}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, RunMarkerName), []byte("old record\n"), 0o644)
	spec := UpdateSpec{Queries: []scoring.ID{scoring.IntID(4), scoring.IntID(1), scoring.IntID(2)}, BlockSize: 2,
		DropQueries: []string{"3", "2"}, DropTargets: []string{"3", "2"},
		AffectedQueries: []scoring.ID{scoring.IntID(2), scoring.IntID(4)}, AffectedTargets: []scoring.ID{scoring.IntID(2), scoring.IntID(4)},
		Manifest: []byte(`{"new":true}`), Record: []byte("new record\n")}
	if err := StartUpdate(ctx, out, spec); err != nil {
		t.Fatal(err)
	}
	// The update's job scored its blocks (2, 4) and (1) against all; (1,
	// 1) is an unaffected pair its mixed work item scored again.
	delta := UpdateDeltaDir(out)
	writeTestPart(t, delta, 0, []int64{2, 4}, []int64{2, 4, 1}, [][3]float64{{2, 2, 1}, {2, 4, 0.125}, {4, 4, 1}, {4, 1, 0.75}})
	writeTestPart(t, delta, 1, []int64{1}, []int64{2, 4, 1}, [][3]float64{{1, 2, 0.0625}, {1, 1, 1}})
	if pending, _ := UpdatePending(ctx, out); pending {
		t.Fatal("pending before the merge")
	}
	if err := MergeSparseUpdate(ctx, out); err != nil {
		t.Fatal(err)
	}
	if pending, _ := UpdatePending(ctx, out); !pending {
		t.Fatal("not pending after the merge")
	}
	// Still the earlier output, whole.
	if m, err := ReadManifest(ctx, out); err != nil || !m.Complete || m.Parts != 2 {
		t.Fatalf("earlier manifest %+v, %v", m, err)
	}
	committed := treeOf(t, out)
	// By query in the new order (4, 1 | 2), then target in it (4, 1, 2):
	// the earlier (1, 1), the update's others; (1, 1) once.
	want := []string{"4 4 1", "4 1 0.75", "1 1 1", "1 2 0.0625", "2 4 0.125", "2 2 1"}

	// Cut short after k steps of the switch, for every k.
	steps := []func(dir string){
		func(dir string) { os.Remove(filepath.Join(dir, ManifestName)) },
		func(dir string) { os.Remove(filepath.Join(dir, PartName(0))) },
		func(dir string) { os.Remove(filepath.Join(dir, PartName(1))) },
		func(dir string) { os.WriteFile(filepath.Join(dir, RunMarkerName), spec.Record, 0o644) },
		func(dir string) {
			os.WriteFile(filepath.Join(dir, PartName(0)), committed[".update/parts/"+PartName(0)], 0o644)
		},
		func(dir string) {
			os.WriteFile(filepath.Join(dir, PartName(1)), committed[".update/parts/"+PartName(1)], 0o644)
		},
		func(dir string) {
			os.WriteFile(filepath.Join(dir, ManifestName), committed[".update/parts/"+ManifestName], 0o644)
		},
		func(dir string) { os.Remove(filepath.Join(dir, ".update", "parts", ManifestName)) },
	}
	for k := range len(steps) + 1 {
		dir := t.TempDir()
		writeTree(t, dir, committed)
		for _, step := range steps[:k] {
			step(dir)
		}
		done, err := FinishSparseUpdate(ctx, dir, RunOwner{})
		if err != nil {
			t.Fatalf("cut after %d steps: %v", k, err)
		}
		if done != (k < len(steps)) {
			t.Errorf("cut after %d steps: finished %t", k, done)
		}
		if k == len(steps) {
			continue // the commit point was gone: the next update clears the rest
		}
		got := treeOf(t, dir)
		var names []string
		for name := range got {
			names = append(names, name)
		}
		slices.Sort(names)
		if strings.Join(names, " ") != strings.Join([]string{ManifestName, RunMarkerName, PartName(0), PartName(1)}, " ") {
			t.Errorf("cut after %d steps: files %v", k, names)
		}
		if !bytes.Equal(got[RunMarkerName], spec.Record) {
			t.Errorf("cut after %d steps: run marker %q", k, got[RunMarkerName])
		}
		m, err := ReadManifest(ctx, dir)
		if err != nil || !m.Complete || m.Parts != 2 || m.Rows != int64(len(want)) || string(m.Parameters) != `{"new":true}` {
			t.Errorf("cut after %d steps: manifest %+v, %v", k, m, err)
		}
		rows, err := ReadSparse(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		var gotRows []string
		for _, r := range rows {
			gotRows = append(gotRows, r.Query.String()+" "+r.Target.String()+" "+formatScore(r.Score))
		}
		if strings.Join(gotRows, "|") != strings.Join(want, "|") {
			t.Errorf("cut after %d steps: rows %v, want %v", k, gotRows, want)
		}
		if again, err := FinishSparseUpdate(ctx, dir, RunOwner{}); err != nil || again {
			t.Errorf("finishing a finished update: %t, %v", again, err)
		}
	}
}

func formatScore(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestSparseUpdateForeignRow: a kept row naming a neuron the new plan
// does not hold (a work area that is not this update's) stops the merge
// before its commit point.
func TestSparseUpdateForeignRow(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	writeTestPart(t, out, 0, []int64{1, 2}, []int64{1, 2}, [][3]float64{{1, 1, 1}, {2, 1, 0.5}})
	spec := UpdateSpec{Queries: []scoring.ID{scoring.IntID(1)}, BlockSize: 2, Manifest: []byte(`{}`), Record: []byte("{}\n")}
	if err := StartUpdate(ctx, out, spec); err != nil {
		t.Fatal(err)
	}
	err := MergeSparseUpdate(ctx, out)
	if err == nil || !strings.Contains(err.Error(), "row (2, 1) names a neuron that is neither in the new inputs nor dropped") {
		t.Fatalf("err = %v", err)
	}
	if pending, _ := UpdatePending(ctx, out); pending {
		t.Error("committed")
	}
}
