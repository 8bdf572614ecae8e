package transforms

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// distinctPathsFn counts each staged path once, however the runner splits
// and merges the accumulators (a retried bundle reports its paths again).
func TestDistinctPathsFn(t *testing.T) {
	var f distinctPathsFn
	for _, tc := range []struct {
		name  string
		parts [][]string
		want  int
	}{
		{"one", [][]string{{"a"}}, 1},
		{"distinct", [][]string{{"a", "b", "c"}}, 3},
		{"repeated in a bundle", [][]string{{"a", "b", "a"}}, 2},
		{"repeated across bundles", [][]string{{"a", "b"}, {"b", "c"}, {"a"}}, 3},
		{"empty accumulator merged", [][]string{{}, {"x"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var accs [][]string
			for _, in := range tc.parts {
				acc := f.CreateAccumulator()
				for _, p := range in {
					acc = f.AddInput(acc, p)
				}
				accs = append(accs, acc)
			}
			merged := accs[0]
			for _, a := range accs[1:] {
				merged = f.MergeAccumulators(merged, a)
			}
			if got := f.ExtractOutput(merged); got != tc.want {
				t.Errorf("count %d, want %d", got, tc.want)
			}
		})
	}
}

// The work is emitted only when staging wrote every block of the plan;
// a short count is an error naming the staging area.
func TestItemsFnChecksStagedBlocks(t *testing.T) {
	ctx := context.Background()
	ns := infos(10, 10, 10, 10, 10)
	p, err := MakePlan(ns, nil, 2, true, false)
	if err != nil {
		t.Fatal(err)
	}
	todo := []QueryWork{{QB: 0, TBs: []int32{0, 1, 2}}, {QB: 2, TBs: []int32{1}}}
	l := NewLayout(p, nil, todo)
	data, digest, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	st := Staging{Dir: t.TempDir(), Digest: digest, AllByAll: true}
	if err := st.WriteLayout(ctx, data); err != nil {
		t.Fatal(err)
	}
	f := &itemsFn{Staging: st}
	var got []int
	if err := f.ProcessElement(ctx, p.QueryBlocks(), func(tile int) { got = append(got, tile) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{0, 1}) {
		t.Errorf("work emitted %v, want tiles [0 1]", got)
	}
	for tile, qb := range []int{0, 2} {
		if w, err := l.tile(tile); err != nil || len(w) != 1 || w[0].QB != qb {
			t.Errorf("tile %d = %v, %v; want query block %d", tile, w, err, qb)
		}
	}
	l.TileBlocks = 2 // both query blocks in one tile
	if w, err := l.tile(0); err != nil || len(w) != 2 || l.Tiles() != 1 {
		t.Errorf("tile 0 of 2 blocks = %v, %v (%d tiles); want both query blocks in one tile", w, err, l.Tiles())
	}
	if _, err := l.tile(1); err == nil || !strings.Contains(err.Error(), "work element 1") {
		t.Errorf("tile 1 of 1: %v, want an error naming the element", err)
	}
	got = nil
	err = f.ProcessElement(ctx, p.QueryBlocks()-1, func(qb int) { got = append(got, qb) })
	if err == nil || !strings.Contains(err.Error(), "staging wrote 2 of the plan's 3 blocks") || !strings.Contains(err.Error(), st.Dir) {
		t.Errorf("short count: %v, want an error naming the count and %s", err, st.Dir)
	}
	if len(got) > 0 {
		t.Errorf("work emitted after a short count: %v", got)
	}
}
