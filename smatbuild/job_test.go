package smatbuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatcsv"
)

func TestSmatMergeAccumulators(t *testing.T) {
	var f smatMergeFn
	for _, tc := range []struct {
		name string
		a, b Hist
		want Hist
	}{
		{"both empty", Hist{}, Hist{}, Hist{}},
		{"left empty", Hist{}, Hist{M: []int64{1, 2}}, Hist{M: []int64{1, 2}}},
		{"right empty", Hist{N: []int64{3, 0}}, Hist{}, Hist{N: []int64{3, 0}}},
		{"sums", Hist{M: []int64{1, 2}, N: []int64{0, 5}}, Hist{M: []int64{10, 20}, N: []int64{1, 1}}, Hist{M: []int64{11, 22}, N: []int64{1, 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Copies: merging may reuse a's slices.
			cp := func(h Hist) Hist { return Hist{M: slices.Clone(h.M), N: slices.Clone(h.N)} }
			for _, got := range []Hist{f.MergeAccumulators(cp(tc.a), cp(tc.b)), f.MergeAccumulators(cp(tc.b), cp(tc.a))} {
				if !slices.Equal(got.M, tc.want.M) || !slices.Equal(got.N, tc.want.N) {
					t.Errorf("merge = %v, want %v", got, tc.want)
				}
			}
		})
	}
	// The right side is never modified (the runner may reuse it).
	b := Hist{M: []int64{1}}
	f.MergeAccumulators(Hist{}, b).M[0] = 9
	if b.M[0] != 1 {
		t.Errorf("merging into an empty accumulator aliased the other")
	}
}

// TestSmatDoFns runs the job's DoFns by hand on a small file: the counts of
// a batch equal scoring's, the write step writes the matrix of the summed
// counts, and a worker that reads other neurons than planned refuses.
func TestSmatDoFns(t *testing.T) {
	dir := t.TempDir()
	dps := synth.Generate(6, 2)
	in := filepath.Join(dir, "n.parquet")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := dotprops.WriteDotpropsParquet(f, dps); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dist, dot := FCWBEdges()
	var ids []string
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		ids = append(ids, d.ID.String())
		ns[i], _ = scoring.NewNeuron(d)
	}
	job := Job{Files: []string{in}, UseAlpha: true, IDs: ids, DistEdges: dist, DotEdges: dot, Out: filepath.Join(dir, "smat.csv")}
	ctx := context.Background()
	fn := &smatCountFn{Job: job}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	match := []Pair{{Q: 0, T: 1}, {Q: 1, T: 0}, {Q: 2, T: 3}}
	nonmatch := []Pair{{Q: 0, T: 4}, {Q: 5, T: 2}}
	var hists []Hist
	emit := func(h Hist) { hists = append(hists, h) }
	if err := fn.ProcessElement(ctx, Batch{Q: []int32{0, 1}, T: []int32{1, 0}}, emit); err != nil {
		t.Fatal(err)
	}
	if err := fn.ProcessElement(ctx, Batch{Q: []int32{2}, T: []int32{3}}, emit); err != nil {
		t.Fatal(err)
	}
	if err := fn.ProcessElement(ctx, Batch{NonMatch: true, Q: []int32{0, 5}, T: []int32{4, 2}}, emit); err != nil {
		t.Fatal(err)
	}
	if err := fn.ProcessElement(ctx, Batch{Q: []int32{0}, T: []int32{1, 2}}, emit); err == nil {
		t.Errorf("a batch with 1 query and 2 targets was accepted")
	}
	var total Hist
	for _, h := range hists {
		total = smatMergeFn{}.MergeAccumulators(total, h)
	}
	b, _ := NewCounter(dist, dot, true)
	wm, _ := b.CountPairs(ns, match, 1, nil)
	wn, _ := b.CountPairs(ns, nonmatch, 1, nil)
	if !slices.Equal(total.M, wm) || !slices.Equal(total.N, wn) {
		t.Fatalf("summed batch counts differ from CountPairs")
	}
	if err := (&smatWriteFn{Job: job}).ProcessElement(ctx, total); err != nil {
		t.Fatal(err)
	}
	got, err := smatcsv.Load(context.Background(), job.Out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := BuildMatrix("w", dist, dot, wm, wn)
	if !slices.Equal(got.Cells, want.Cells) {
		t.Errorf("written matrix differs from BuildMatrix of the counts")
	}

	other := job
	other.IDs = slices.Clone(ids)
	other.IDs[3] = "123"
	if err := (&smatCountFn{Job: other}).Setup(ctx); err == nil || !strings.Contains(err.Error(), "neuron 3 of the inputs is") {
		t.Errorf("planned ids differ from the file's: error %v", err)
	}
	other.IDs = ids[:5]
	if err := (&smatCountFn{Job: other}).Setup(ctx); err == nil || !strings.Contains(err.Error(), "now hold 6 neurons, 5 when the job was planned") {
		t.Errorf("planned count differs from the file's: error %v", err)
	}
}
