package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
)

// sparseKey names a (query, target) pair.
type sparseKey struct{ q, t string }

func readSparse(t *testing.T, out string) map[sparseKey]float64 {
	t.Helper()
	rows, err := sinks.ReadSparse(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	m := map[sparseKey]float64{}
	for _, r := range rows {
		k := sparseKey{r.Query.String(), r.Target.String()}
		if _, dup := m[k]; dup {
			t.Fatalf("duplicate row %v", k)
		}
		m[k] = r.Score
	}
	man, err := sinks.ReadManifest(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if !man.Complete || man.Rows != int64(len(rows)) {
		t.Fatalf("manifest %+v for %d rows", man, len(rows))
	}
	return m
}

// TestSparseMatchesNavisAndPruningIsExact runs the sparse sink, with and
// without pruning, for the reference sets and modes, and compares it with
// navis' dense matrix filtered at the threshold.
func TestSparseMatchesNavisAndPruningIsExact(t *testing.T) {
	dir := reference.Dir(t)
	for _, set := range reference.Sets {
		for _, mode := range reference.Modes {
			if (mode.Golden && set.Name != "golden") || mode.Float32 || !mode.Normalized {
				continue
			}
			for _, thr := range []float64{0, 0.4} {
				t.Run(fmt.Sprintf("%s/%s/%v", set.Name, mode.Name, thr), func(t *testing.T) {
					in := filepath.Join(dir, set.Parquet)
					var got [2]map[sparseKey]float64
					for k, prune := range []bool{true, false} {
						o := pipeline.Defaults()
						o.Queries, o.Out, o.Sink, o.Threshold, o.Prune = in, t.TempDir(), "sparse", thr, prune
						if !mode.AllByAll {
							o.Targets = in
						}
						o.Scores, o.UseAlpha, o.BlockSize = mode.Scores.String(), mode.UseAlpha, 4
						if mode.AutoDist {
							o.MaxDist = "auto"
						}
						runJob(t, "prism", o)
						got[k] = readSparse(t, o.Out)
					}
					if len(got[0]) != len(got[1]) {
						t.Fatalf("pruned run has %d rows, unpruned %d", len(got[0]), len(got[1]))
					}
					for k, v := range got[1] {
						if got[0][k] != v {
							t.Fatalf("%v: pruned %v, unpruned %v", k, got[0][k], v)
						}
					}
					want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, mode.Name)))
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for i, q := range want.Queries {
						for j, tg := range want.Targets {
							w := want.Values[i][j]
							g, ok := got[0][sparseKey{q, tg}]
							switch {
							case math.Abs(w-thr) <= 1e-6: // at the threshold either way is right
							case w >= thr && !ok:
								t.Errorf("%s → %s: navis %v >= %v but no row", q, tg, w, thr)
							case w < thr && ok:
								t.Errorf("%s → %s: navis %v < %v but row %v", q, tg, w, thr, g)
							case ok && math.Abs(g-w) > 1e-6:
								t.Errorf("%s → %s: %v, navis %v", q, tg, g, w)
							}
							if ok {
								n++
							}
						}
					}
					if n == 0 && thr == 0 {
						t.Error("no rows at threshold 0")
					}
				})
			}
		}
	}
}

// TestTopKMatchesDense compares --topk with each navis row's best k
// (ties: smaller target id first).
func TestTopKMatchesDense(t *testing.T) {
	dir := reference.Dir(t)
	set := reference.Sets[0]
	in := filepath.Join(dir, set.Parquet)
	const k = 4
	o := pipeline.Defaults()
	o.Queries, o.Targets, o.Out, o.Sink, o.TopK, o.Threshold, o.Scores, o.BlockSize = in, in, t.TempDir(), "topk", k, math.Inf(-1), "mean", 5
	runJob(t, "prism", o)
	rows, err := sinks.ReadTopK(context.Background(), files.Join(o.Out, "topk"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.LoadScores(filepath.Join(dir, fmt.Sprintf(set.Scores, "mean_norm")))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rows {
		q := r.Query.String()
		if r.Rank != len(got[q])+1 {
			t.Fatalf("query %s: rank %d after %d rows", q, r.Rank, len(got[q]))
		}
		got[q] = append(got[q], r.Target.String())
	}
	for i, q := range want.Queries {
		idx := make([]int, len(want.Targets))
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool { return want.Values[i][idx[a]] > want.Values[i][idx[b]] })
		for r := 0; r < k; r++ {
			wantT := want.Targets[idx[r]]
			if got[q][r] != wantT && math.Abs(want.Values[i][idx[r]]-valueOf(want, i, got[q][r])) > 1e-6 {
				t.Errorf("query %s rank %d: %s, navis %s", q, r+1, got[q][r], wantT)
			}
		}
	}
}

func valueOf(s *reference.Scores, row int, target string) float64 {
	for j, t := range s.Targets {
		if t == target {
			return s.Values[row][j]
		}
	}
	return math.NaN()
}

// TestPruningExactOnSynthetic: on a synthetic brain (clustered types, so
// there are high scores as well as far pairs) sparse and top-k output are
// identical with and without pruning, and pruning did skip work.
func TestPruningExactOnSynthetic(t *testing.T) {
	dps := synth.Generate(150, 3)
	in := writeDotprops(t, filepath.Join(t.TempDir(), "synth.parquet"), dps)
	var sparse [2]map[sparseKey]float64
	var topk [2][]sinks.TopKRow
	for k, prune := range []bool{true, false} {
		o := pipeline.Defaults()
		o.Queries, o.Out, o.Sink, o.Prune, o.Scores, o.TopK, o.Threshold = in, t.TempDir(), "sparse", prune, "mean", 3, 0.1
		o.BlockSize = 10 // enough blocks that some lie far apart
		job := runJob(t, "prism", o)
		sparse[k] = readSparse(t, o.Out)
		rows, err := sinks.ReadTopK(context.Background(), files.Join(o.Out, "topk"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(rows, func(a, b int) bool { // plans differ, and so does file order
			if rows[a].Query != rows[b].Query {
				return rows[a].Query.Int < rows[b].Query.Int // synth ids are int64
			}
			return rows[a].Rank < rows[b].Rank
		})
		topk[k] = rows
		if prune && job.Skipped == 0 {
			t.Errorf("pruning skipped no work item of %d", job.Total)
		}
	}
	if len(sparse[0]) != len(sparse[1]) || len(sparse[0]) == 0 {
		t.Fatalf("pruned %d rows, unpruned %d", len(sparse[0]), len(sparse[1]))
	}
	for k, v := range sparse[1] {
		if sparse[0][k] != v {
			t.Fatalf("%v: pruned %v, unpruned %v", k, sparse[0][k], v)
		}
	}
	if fmt.Sprint(topk[0]) != fmt.Sprint(topk[1]) {
		t.Fatalf("top-k differs with pruning:\n%v\n%v", topk[0], topk[1])
	}
}
