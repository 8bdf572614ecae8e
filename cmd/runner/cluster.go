package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/cluster"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// clusterMain implements
//
//	runner cluster --out OUT [--method hierarchical|graph] [--linkage ward|average|single|complete]
//	               [--n_clusters K | --height H] [--seed S] [--resolution R] [--source dense|sparse|topk]
func clusterMain(args []string) error {
	return runCluster(context.Background(), args, os.Stderr)
}

// clusterResult is OUT/clusters/clusters.json.
type clusterResult struct {
	Method     string   `json:"method"`
	Linkage    *string  `json:"linkage"`
	NClusters  int      `json:"n_clusters"`
	Height     *float64 `json:"height"`
	Seed       *uint64  `json:"seed"`
	Source     string   `json:"source"`
	Modularity *float64 `json:"modularity,omitempty"`
	// Also: what was asked and what it ran on.
	Criterion  string   `json:"criterion,omitempty"`
	Requested  *int     `json:"n_clusters_requested,omitempty"`
	Resolution *float64 `json:"resolution,omitempty"`
	Neurons    int      `json:"neurons"`
	Edges      *int     `json:"edges,omitempty"`
}

// runCluster is clusterMain with its context and message writer (a
// summary line, usage and flag errors).
//
// Hierarchical clustering (the default for a dense output) is
// navis.nbl.make_clusters on the dense all-by-all matrix OUT/scores:
// symmetrised to the mean, distance 1 − score, scipy's linkage with
// --linkage, cut by fcluster into at most --n_clusters clusters
// (criterion maxclust) or at --height (criterion distance). Graph
// clustering (the default for sparse and top-k outputs) is Louvain
// community detection (gonum, seeded) on the graph of positive scores,
// each pair weighted by the mean of its two directions where both exist.
//
// It writes OUT/clusters/clusters.csv and clusters.parquet (neuron,
// cluster: one row per neuron in the matrix's query order, or in id order
// for sparse and top-k outputs; clusters numbered from 1), linkage.csv
// (hierarchical: scipy's Z, a,b,distance,size) and clusters.json, each
// file atomically.
func runCluster(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://); writes OUT/clusters/")
	method := fs.String("method", "", "hierarchical (navis.nbl.make_clusters: scipy linkage + fcluster on the dense matrix) or graph (Louvain communities); default: hierarchical for a dense output, else graph")
	linkage := fs.String("linkage", "ward", "hierarchical: the linkage method, ward, average, single or complete (as scipy.cluster.hierarchy.linkage)")
	nClusters := fs.Int("n_clusters", 0, "hierarchical: cut into at most K clusters, K >= 1 (fcluster criterion maxclust)")
	height := fs.Float64("height", math.NaN(), "hierarchical: cut at this finite distance, 1 − score (fcluster criterion distance)")
	seed := fs.Uint64("seed", 1, "graph: the seed of Louvain's random node order (same seed, same clusters)")
	resolution := fs.Float64("resolution", 1, "graph: the modularity resolution, a finite number > 0 (higher: more, smaller communities)")
	source := fs.String("source", "", "the output to cluster: dense (OUT/scores), sparse or topk; default: dense for hierarchical, else sparse if OUT has it, else topk, else dense")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: runner cluster --out OUT [--method hierarchical|graph] [--linkage ward|average|single|complete] [--n_clusters K | --height H] [--seed S] [--resolution R] [--source dense|sparse|topk]\n\n"+
			"Cluster the neurons of an output: hierarchical (as navis.nbl.make_clusters)\nor graph communities (Louvain); writes OUT/clusters/.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	given := givenFlags(fs)
	if err := checkClusterFlags(given, *method, *linkage, *source, *nClusters, *height, *resolution); err != nil {
		return err
	}
	o, err := results.Open(ctx, *out)
	if err != nil {
		return err
	}
	if *method == "" {
		*method = "graph"
		if slices.Contains(o.Dense, "scores") && (*source == "" || *source == "dense") {
			*method = "hierarchical"
		}
	}
	what := ""
	switch *source {
	case "":
		if *method == "hierarchical" {
			what = "scores"
		}
	case "dense":
		what = "scores"
	case "sparse", "topk":
		what = *source
	default:
		return fmt.Errorf("--source %q: want dense, sparse or topk", *source)
	}
	src, err := o.Source(what, exportOrder...)
	if err != nil {
		return err
	}
	if err := src.Check(ctx, false); err != nil {
		return err
	}
	kind := "dense"
	if src.Parts != nil {
		kind = src.Parts.What()
	}
	res := clusterResult{Method: *method, Source: kind}
	start := time.Now()
	var ids []scoring.ID
	var labels []int
	var z []cluster.Merge
	switch *method {
	case "hierarchical":
		m, err := cluster.ParseMethod(*linkage)
		if err != nil {
			return fmt.Errorf("--%w", err)
		}
		if given["resolution"] {
			return fmt.Errorf("--resolution %v is for --method graph; hierarchical clustering is cut by --n_clusters or --height", *resolution)
		}
		if given["seed"] {
			return fmt.Errorf("--seed %d is for --method graph; hierarchical clustering is deterministic", *seed)
		}
		// Given, --n_clusters is >= 1 and --height finite (checkClusterFlags).
		hasK, hasH := *nClusters != 0, !math.IsNaN(*height)
		switch {
		case hasK == hasH:
			return errors.New("hierarchical clustering needs exactly one of --n_clusters K and --height H")
		case hasK && *nClusters < 1:
			return fmt.Errorf("--n_clusters %d: want at least 1", *nClusters)
		case hasH && math.IsInf(*height, 0):
			return fmt.Errorf("--height %v: want a finite distance", *height)
		}
		if kind != "dense" {
			return fmt.Errorf("hierarchical clustering needs the dense matrix (OUT/scores); %s holds %s: use --method graph", o.Dir, o.Describe())
		}
		// The condensed matrix is most of the heap (8·n(n−1)/2 bytes): a
		// low GC target keeps the peak near it rather than twice it.
		defer debug.SetGCPercent(debug.SetGCPercent(10))
		var d []float64
		if ids, d, err = denseCondensed(ctx, src); err != nil {
			return err
		}
		n := len(ids)
		if n < 2 {
			return fmt.Errorf("%s: %d neurons, hierarchical clustering needs at least 2", o.Dir, n)
		}
		if z, err = cluster.Linkage(d, n, m); err != nil {
			return err
		}
		d = nil
		for k, r := range z {
			if math.IsNaN(r.Distance) {
				return fmt.Errorf("%s linkage row %d: distance NaN", m, k)
			}
		}
		res.Linkage = linkage
		if hasK {
			labels = cluster.FclusterMaxclust(z, n, *nClusters)
			res.Criterion, res.Requested = "maxclust", nClusters
		} else {
			labels = cluster.FclusterDistance(z, n, *height)
			res.Criterion, res.Height = "distance", height
		}
	case "graph":
		if *nClusters != 0 || !math.IsNaN(*height) {
			return errors.New("--n_clusters and --height are for --method hierarchical; graph clustering chooses the number of communities (tune it with --resolution)")
		}
		if given["linkage"] {
			return fmt.Errorf("--linkage %s is for --method hierarchical; graph clustering (Louvain) has no linkage", *linkage)
		}
		var e *cluster.Edges
		if ids, e, err = scoreGraph(ctx, src); err != nil {
			return err
		}
		g, edges := e.Graph()
		e = nil
		var q float64
		if labels, q, err = cluster.Louvain(g, len(ids), *resolution, *seed); err != nil {
			return fmt.Errorf("--%w", err)
		}
		res.Seed, res.Resolution, res.Modularity, res.Edges = seed, resolution, &q, &edges
	default:
		return fmt.Errorf("--method %q: want hierarchical or graph", *method)
	}
	res.Neurons = len(ids)
	res.NClusters = cluster.NumClusters(labels)
	if err := writeClusters(ctx, *out, ids, labels, z, res); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cluster: %d neurons of the %s output in %d clusters (%s) in %s: %s\n",
		len(ids), kind, res.NClusters, *method, time.Since(start).Round(time.Millisecond), files.Join(*out, "clusters"))
	return nil
}

// denseCondensed reads the dense all-by-all matrix as a condensed
// distance matrix (cluster.Condensed: mean of both directions, 1 −
// score), a block of rows at a time. It refuses a matrix whose queries are
// not its targets, and distances < 0 (scores > 1), as scipy's fcluster
// does.
func denseCondensed(ctx context.Context, src *results.Source) ([]scoring.ID, []float64, error) {
	z := src.Z
	path := files.Join(src.Out, src.Array)
	queries, targets, err := src.DenseIDs()
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(queries, targets) {
		return nil, nil, fmt.Errorf("%s: %d queries × %d targets, not an all-by-all matrix of the same neurons in the same order: hierarchical clustering needs one (run without --targets)", path, len(queries), len(targets))
	}
	n := len(queries)
	var block []float64
	b0, b1 := 0, 0
	step := max(1, min(n, z.Chunks[0], (64<<20)/8/max(n, 1)))
	d, err := cluster.Condensed(n, func(i int) ([]float64, error) {
		if i >= b1 {
			b0, b1 = i, min(n, i+step)
			var err error
			if block, err = z.Read(ctx, b0, b1, 0, n); err != nil {
				return nil, err
			}
		}
		return block[(i-b0)*n : (i-b0+1)*n], nil
	})
	if err != nil {
		return nil, nil, err
	}
	for k, v := range d {
		if v < 0 || math.IsNaN(v) {
			i, j := condensedPair(n, k)
			return nil, nil, fmt.Errorf("%s: neurons %s and %s have mean score %v, distance 1 − score = %v: hierarchical clustering needs scores ≤ 1 (normalised scores; scipy refuses negative distances) and no NaN (unscored pairs)",
				path, queries[i], queries[j], 1-v, v)
		}
	}
	return queries, d, nil
}

// condensedPair inverts cluster.CondensedIndex (for messages).
func condensedPair(n, k int) (int, int) {
	for i := 0; i < n-1; i++ {
		if row := n - 1 - i; k < row {
			return i, i + 1 + k
		} else {
			k -= row
		}
	}
	return -1, -1
}

// scoreGraph reads an output's scores as a graph: the neurons (a dense
// matrix's queries in order; for sparse and top-k outputs every query and
// target, in id order) and their directed scores.
func scoreGraph(ctx context.Context, src *results.Source) ([]scoring.ID, *cluster.Edges, error) {
	if src.Parts == nil {
		z := src.Z
		path := files.Join(src.Out, src.Array)
		queries, targets, err := src.DenseIDs()
		if err != nil {
			return nil, nil, err
		}
		if !slices.Equal(queries, targets) {
			return nil, nil, fmt.Errorf("%s: %d queries × %d targets, not an all-by-all matrix: graph clustering of a dense output needs one", path, len(queries), len(targets))
		}
		n := len(queries)
		e := cluster.NewEdges(n)
		step := max(1, min(n, z.Chunks[0]))
		for r0 := 0; r0 < n; r0 += step {
			r1 := min(n, r0+step)
			vals, err := z.Read(ctx, r0, r1, 0, n)
			if err != nil {
				return nil, nil, err
			}
			for i := r0; i < r1; i++ {
				for j, v := range vals[(i-r0)*n : (i-r0+1)*n] {
					if i != j && v > 0 {
						e.Add(i, j, v)
					}
				}
			}
		}
		return queries, e, nil
	}
	// Sparse or top-k rows: provisional indexes in order of appearance,
	// then renumbered in id order.
	index := map[scoring.ID]int32{}
	var ids []scoring.ID
	type edge struct {
		q, t int32
		s    float64
	}
	var edges []edge
	at := func(id scoring.ID) int32 {
		k, ok := index[id]
		if !ok {
			k = int32(len(ids))
			index[id] = k
			ids = append(ids, id)
		}
		return k
	}
	add := func(q, t scoring.ID, s float64) {
		a, b := at(q), at(t)
		edges = append(edges, edge{a, b, s})
	}
	var err error
	if src.Parts.Kind == "sparse" {
		err = sinks.EachSparseRow(ctx, src.Parts.Dir, func(r sinks.SparseRow) error { add(r.Query, r.Target, r.Score); return nil })
	} else {
		err = sinks.EachTopKRow(ctx, src.Parts.Dir, func(r sinks.TopKRow) error { add(r.Query, r.Target, r.Score); return nil })
	}
	if err != nil {
		return nil, nil, err
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b scoring.ID) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	perm := make([]int, len(ids))
	for k, id := range sorted {
		perm[index[id]] = k
	}
	e := cluster.NewEdges(len(ids))
	for _, x := range edges {
		e.Add(perm[x.q], perm[x.t], x.s)
	}
	return sorted, e, nil
}

// writeClusters writes OUT/clusters/: clusters.csv, clusters.parquet,
// linkage.csv (when z is not nil) and clusters.json last; a linkage.csv
// of an earlier hierarchical run is removed after a graph run.
func writeClusters(ctx context.Context, out string, ids []scoring.ID, labels []int, z []cluster.Merge, res clusterResult) error {
	dir := files.Join(out, "clusters")
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"neuron", "cluster"})
	for i, id := range ids {
		cw.Write([]string{id.String(), strconv.Itoa(labels[i])})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.csv"), buf.Bytes()); err != nil {
		return err
	}
	pq, err := clustersParquet(ids, labels)
	if err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.parquet"), pq); err != nil {
		return err
	}
	keep := []string{"clusters.csv", "clusters.parquet", "clusters.json"}
	if z != nil {
		buf.Reset()
		cw := csv.NewWriter(&buf)
		cw.Write([]string{"a", "b", "distance", "size"})
		for _, m := range z {
			cw.Write([]string{strconv.Itoa(m.A), strconv.Itoa(m.B), strconv.FormatFloat(m.Distance, 'g', -1, 64), strconv.Itoa(m.Size)})
		}
		cw.Flush()
		if err := files.WriteFile(ctx, files.Join(dir, "linkage.csv"), buf.Bytes()); err != nil {
			return err
		}
		keep = append(keep, "linkage.csv")
	}
	js, err := files.MarshalJSON(res)
	if err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.json"), js); err != nil {
		return err
	}
	return files.RemoveAll(ctx, dir, keep...)
}

// clustersParquet encodes neuron (INT64 or STRING, as the output's ids),
// cluster (INT64) as the sinks write Parquet: zstd, a REQUIRED root,
// WriteBuffered.
func clustersParquet(ids []scoring.ID, labels []int) ([]byte, error) {
	idType := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if len(ids) > 0 && ids[0].IsStr {
		idType = arrow.BinaryTypes.String
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "neuron", Type: idType}, {Name: "cluster", Type: arrow.PrimitiveTypes.Int64}}, nil)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, id := range ids {
		switch fb := b.Field(0).(type) {
		case *array.StringBuilder:
			fb.Append(id.Str)
		case *array.Int64Builder:
			fb.Append(id.Int)
		}
		b.Field(1).(*array.Int64Builder).Append(int64(labels[i]))
	}
	rec := b.NewRecord()
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCreatedBy("nblast-go"),
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	)
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, err
	}
	if rec.NumRows() > 0 {
		if err := fw.WriteBuffered(rec); err != nil {
			fw.Close()
			return nil, err
		}
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkClusterFlags refuses runner cluster's flag values before anything
// is read. given are the flags given (givenFlags): --n_clusters 0 and
// --height NaN, their defaults, are refused when given rather than taken
// as not given.
func checkClusterFlags(given map[string]bool, method, linkage, source string, k int, height, resolution float64) error {
	switch method {
	case "", "hierarchical", "graph":
	default:
		return fmt.Errorf("--method %q: want hierarchical or graph", method)
	}
	switch source {
	case "", "dense", "sparse", "topk":
	default:
		return fmt.Errorf("--source %q: want dense, sparse or topk", source)
	}
	if _, err := cluster.ParseMethod(linkage); err != nil {
		return fmt.Errorf("--%w", err)
	}
	switch {
	case given["n_clusters"] && k < 1:
		return fmt.Errorf("--n_clusters %d: want at least 1 (the most clusters to cut into)", k)
	case given["height"] && (math.IsNaN(height) || math.IsInf(height, 0)):
		return fmt.Errorf("--height %v: want a finite distance, 1 − score (e.g. 0.5)", height)
	case !(resolution > 0) || math.IsInf(resolution, 0):
		// Louvain refused NaN and <= 0 only after reading the graph, and
		// panicked on +Inf.
		return fmt.Errorf("--resolution %v: want a finite number > 0 (1: standard modularity; higher: more, smaller communities)", resolution)
	}
	return nil
}
