package pipeline_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/transforms"
	"github.com/nblast-go/nblast/zarr"
)

// TestExactKNNEqualsDenseTopK: the top-k output at threshold -Inf (the
// k-nearest-neighbour graph, pruned against each query's k-th best score)
// equals the per-row top k of the dense matrix, ties by smaller target id,
// with pruning on and off, in several modes, on a synthetic brain; and
// pruning left most pairs unscored.
func TestExactKNNEqualsDenseTopK(t *testing.T) {
	checkKNN(t, synthInput(t, 240, 9), "", []string{"mean", "max"}, 16)
}

// TestExactKNNReference does the same on navis' golden set, queries and
// targets given as two inputs.
func TestExactKNNReference(t *testing.T) {
	dir := reference.Dir(t)
	in := filepath.Join(dir, reference.Sets[0].Parquet)
	checkKNN(t, in, in, []string{"forward", "min"}, 4)
}

func checkKNN(t *testing.T, queries, targets string, modes []string, blockSize int) {
	const k = 5
	for _, mode := range modes {
		dense := pipeline.Defaults()
		dense.Queries, dense.Targets, dense.Out, dense.Scores, dense.DType, dense.BlockSize = queries, targets, t.TempDir(), mode, "float64", blockSize
		runJob(t, "prism", dense)
		want := denseTopK(t, dense.Out, k)
		for _, prune := range []bool{true, false} {
			o := pipeline.Defaults()
			o.Queries, o.Targets, o.Out, o.Scores, o.Sink, o.TopK, o.Threshold, o.Prune, o.BlockSize =
				queries, targets, t.TempDir(), mode, "topk", k, math.Inf(-1), prune, blockSize
			pairs0, pruned0 := transforms.Progress.Pairs.Load(), transforms.Progress.Pruned.Load()
			runJob(t, "prism", o)
			pairs, pruned := transforms.Progress.Pairs.Load()-pairs0, transforms.Progress.Pruned.Load()-pruned0
			rows, err := sinks.ReadTopK(context.Background(), files.Join(o.Out, "topk"))
			if err != nil {
				t.Fatal(err)
			}
			slices.SortStableFunc(rows, func(a, b sinks.TopKRow) int { // files are per query block
				if a.Query.Less(b.Query) {
					return -1
				} else if b.Query.Less(a.Query) {
					return 1
				}
				return a.Rank - b.Rank
			})
			if len(rows) != len(want) {
				t.Fatalf("%s prune %v: %d rows, dense top k %d", mode, prune, len(rows), len(want))
			}
			for i, r := range rows {
				w := want[i]
				if r.Query.String() != w.query || r.Rank != w.rank || r.Target.String() != w.target || float32(r.Score) != float32(w.score) {
					t.Fatalf("%s prune %v row %d: %s #%d %s %v, dense %s #%d %s %v", mode, prune, i, r.Query, r.Rank, r.Target, r.Score, w.query, w.rank, w.target, w.score)
				}
			}
			t.Logf("%s prune %v: %d of %d pairs scored", mode, prune, pairs-pruned, pairs)
			if prune && !(pruned > pairs/2) {
				t.Errorf("%s: pruning left %d of %d pairs unscored, want most", mode, pruned, pairs)
			}
		}
	}
}

type knnRow struct {
	query, target string
	rank          int
	score         float64
}

// denseTopK ranks every row of OUT/scores (float64): higher score first,
// then the smaller (int) target id; rows in query id order.
func denseTopK(t *testing.T, out string, k int) []knnRow {
	t.Helper()
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	id := func(v any) int64 {
		n, err := strconv.ParseInt(jsonText(v), 10, 64)
		if err != nil {
			t.Fatalf("id %v: %v", v, err)
		}
		return n
	}
	qs, ts := z.Attrs["queries"].([]any), z.Attrs["targets"].([]any)
	qorder := make([]int, len(qs))
	for i := range qorder {
		qorder[i] = i
	}
	slices.SortFunc(qorder, func(a, b int) int { return cmp.Compare(id(qs[a]), id(qs[b])) })
	var rows []knnRow
	nt := z.Shape[1]
	for _, i := range qorder {
		cols := make([]int, nt)
		for j := range cols {
			cols[j] = j
		}
		row := vals[i*nt : (i+1)*nt]
		slices.SortFunc(cols, func(a, b int) int {
			if row[a] != row[b] {
				if row[a] > row[b] {
					return -1
				}
				return 1
			}
			return cmp.Compare(id(ts[a]), id(ts[b]))
		})
		for r, j := range cols[:min(k, nt)] {
			rows = append(rows, knnRow{query: jsonText(qs[i]), target: jsonText(ts[j]), rank: r + 1, score: row[j]})
		}
	}
	return rows
}

// jsonText is an id attribute's text (numbers are json.Number).
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
