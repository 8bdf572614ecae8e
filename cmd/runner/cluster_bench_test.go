package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nblast-go/nblast/cluster"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// TestWriteClusterBenchDense writes, when NBLAST_CLUSTER_BENCH_DIR is
// set, a synthetic dense all-by-all output of NBLAST_CLUSTER_BENCH_N
// (default 10000) neurons there (DIR/dense/scores: float32, 1000 × 1000
// chunks; cell types of 5 to 20 neurons scoring 0.3–0.9 among themselves,
// −0.5–0.2 otherwise, symmetric, diagonal 1) and DIR/types.csv, for
// timing `runner cluster` on it (README, runner cluster). Scoring a real
// 10k all-by-all densely takes hours on 2 cores.
func TestWriteClusterBenchDense(t *testing.T) {
	dir := os.Getenv("NBLAST_CLUSTER_BENCH_DIR")
	if dir == "" {
		t.Skip("set NBLAST_CLUSTER_BENCH_DIR to write the cluster benchmark's dense output")
	}
	n := 10000
	if s := os.Getenv("NBLAST_CLUSTER_BENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	types := make([]int, n)
	for i, ty := 0, 0; i < n; ty++ {
		size := 5 + rng.IntN(16)
		for j := 0; j < size && i < n; j++ {
			types[i] = ty
			i++
		}
	}
	ids := make([]any, n)
	tc := "neuron,group\n"
	for i := range ids {
		id := int64(1e16) + int64(i)
		ids[i] = id
		tc += fmt.Sprintf("%d,type%d\n", id, types[i])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "types.csv"), []byte(tc), 0o644); err != nil {
		t.Fatal(err)
	}
	score := func(i, j int) float64 {
		if i == j {
			return 1
		}
		if i > j {
			i, j = j, i
		}
		r := rand.New(rand.NewPCG(uint64(i), uint64(j))).Float64()
		if types[i] == types[j] {
			return 0.3 + 0.6*r
		}
		return -0.5 + 0.7*r
	}
	ctx := context.Background()
	out := filepath.Join(dir, "dense")
	spec := zarr.ArraySpec{Name: "scores", Shape: [2]int{n, n}, Chunks: [2]int{1000, 1000}, DType: "float32",
		Attrs: map[string]any{"queries": ids, "targets": ids, "direction": "mean (synthetic)"}}
	if err := zarr.Create(ctx, out, []zarr.ArraySpec{spec}); err != nil {
		t.Fatal(err)
	}
	c := spec.Chunks[0]
	for bi := 0; bi*c < n; bi++ {
		for bj := 0; bj*c < n; bj++ {
			r0, r1, c0, c1 := bi*c, min(n, (bi+1)*c), bj*c, min(n, (bj+1)*c)
			vals := make([]float64, (r1-r0)*(c1-c0))
			for i := r0; i < r1; i++ {
				for j := c0; j < c1; j++ {
					vals[(i-r0)*(c1-c0)+j-c0] = score(i, j)
				}
			}
			data, err := zarr.EncodeChunk(spec, r1-r0, c1-c0, vals)
			if err != nil {
				t.Fatal(err)
			}
			if err := zarr.WriteChunk(ctx, out, spec, bi, bj, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := zarr.MarkComplete(ctx, out, spec); err != nil {
		t.Fatal(err)
	}
}

// TestClusterBenchTiledGraph times graph clustering at brain scale from a
// real top-k output: NBLAST_CLUSTER_BENCH_TOPK names a top-k output (e.g.
// the 10k top-20 run of README, runner cluster) and
// NBLAST_CLUSTER_BENCH_TYPES its runner synth --types CSV;
// NBLAST_CLUSTER_BENCH_COPIES (default 10) disjoint copies of its graph
// are clustered together (10 × 10k = 100k neurons) at resolution
// NBLAST_CLUSTER_BENCH_RESOLUTION (default 1), logging the time, the
// communities and the ARI against the copied types.
func TestClusterBenchTiledGraph(t *testing.T) {
	out, typesCSV := os.Getenv("NBLAST_CLUSTER_BENCH_TOPK"), os.Getenv("NBLAST_CLUSTER_BENCH_TYPES")
	if out == "" || typesCSV == "" {
		t.Skip("set NBLAST_CLUSTER_BENCH_TOPK and NBLAST_CLUSTER_BENCH_TYPES to time graph clustering on tiled copies of a top-k output")
	}
	copies, res := 10, 1.0
	if s := os.Getenv("NBLAST_CLUSTER_BENCH_COPIES"); s != "" {
		copies, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("NBLAST_CLUSTER_BENCH_RESOLUTION"); s != "" {
		res, _ = strconv.ParseFloat(s, 64)
	}
	ctx := context.Background()
	t0 := time.Now()
	o, err := results.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	src, err := o.Source("topk", exportOrder...)
	if err != nil {
		t.Fatal(err)
	}
	ids, e1, err := cluster.ScoreGraph(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	_ = e1
	n := len(ids)
	types := readTypes(t, typesCSV)
	truth0 := make([]int, n)
	tid := map[string]int{}
	for i, id := range ids {
		g := types[id.String()]
		if _, ok := tid[g]; !ok {
			tid[g] = len(tid)
		}
		truth0[i] = tid[g]
	}
	var rows []sinks.TopKRow
	index := map[string]int{}
	for i, id := range ids {
		index[id.String()] = i
	}
	if err := sinks.EachTopKRow(ctx, src.Parts.Dir, func(r sinks.TopKRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	tRead := time.Since(t0)
	t1 := time.Now()
	e := cluster.NewEdges(n * copies)
	truth := make([]int, 0, n*copies)
	for c := 0; c < copies; c++ {
		for _, r := range rows {
			e.Add(c*n+index[r.Query.String()], c*n+index[r.Target.String()], r.Score)
		}
		for _, v := range truth0 {
			truth = append(truth, c*len(tid)+v)
		}
	}
	rows = nil
	g, m := e.Graph()
	e = nil
	tBuild := time.Since(t1)
	t2 := time.Now()
	labels, q, err := cluster.Louvain(g, n*copies, res, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d copies of %s (%d neurons): %d neurons, %d edges; read %s, graph built in %s, Louvain (resolution %v) %s: %d communities for %d types, modularity %.4f, ARI %.4f",
		copies, out, n, n*copies, m, tRead.Round(time.Millisecond), tBuild.Round(time.Millisecond), res, time.Since(t2).Round(time.Millisecond),
		cluster.NumClusters(labels), copies*len(tid), q, cluster.AdjustedRand(labels, truth))
}
