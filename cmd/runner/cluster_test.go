package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/cluster"
	"github.com/nblast-go/nblast/internal/scipytest"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/zarr"
)

// A synthetic brain (runner synth, with its cell types) scored all-by-all
// by the real pipeline: dense mean scores (hierarchical tests) and an
// exact top-10 graph (graph tests), made once per test binary.
var (
	brainOnce sync.Once
	brainDir  string
	brainErr  error
)

const brainN = 240

func synthBrain(t *testing.T) string {
	t.Helper()
	brainOnce.Do(func() {
		dir := filepath.Join(binDir, "brain")
		if brainErr = os.MkdirAll(dir, 0o755); brainErr != nil {
			return
		}
		ctx := context.Background()
		in := filepath.Join(dir, "neurons.parquet")
		if brainErr = runSynth(ctx, []string{"--n", strconv.Itoa(brainN), "--out", in, "--types", filepath.Join(dir, "types.csv"), "--seed", "3"}, &bytes.Buffer{}); brainErr != nil {
			return
		}
		beam.Init()
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		defer slog.SetDefault(prev)
		for name, set := range map[string]func(o *pipeline.Options){
			"dense": func(o *pipeline.Options) { o.Scores = "mean" },
			"topk":  func(o *pipeline.Options) { o.Scores, o.Sink, o.TopK, o.Threshold = "mean", "topk", 10, math.Inf(-1) },
		} {
			o := pipeline.Defaults()
			o.Queries, o.Out = in, filepath.Join(dir, name)
			set(&o)
			timer := time.AfterFunc(5*time.Minute, func() { panic("the synthetic brain's scoring run did not finish within 5m") })
			brainErr = run(ctx, o)
			timer.Stop()
			if brainErr != nil {
				return
			}
		}
		brainDir = dir
	})
	if brainErr != nil {
		t.Fatalf("synthetic brain: %v", brainErr)
	}
	return brainDir
}

// runClusterT runs runCluster and returns its messages.
func runClusterT(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var e bytes.Buffer
	err := runCluster(context.Background(), args, &e)
	return e.String(), err
}

// readCSVFile reads a CSV with a header, checking the header.
func readCSVFile(t *testing.T, p string, header ...string) [][]string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if strings.Join(recs[0], ",") != strings.Join(header, ",") {
		t.Fatalf("%s: header %q, want %q", p, recs[0], header)
	}
	return recs[1:]
}

type clusterFiles struct {
	ids    []string
	labels []int
	z      []cluster.Merge
	meta   map[string]any
}

// readClusterOutput reads OUT/clusters/ and checks the files agree: the
// Parquet file holds the CSV's rows, labels run 1..n_clusters.
func readClusterOutput(t *testing.T, out string) clusterFiles {
	t.Helper()
	dir := filepath.Join(out, "clusters")
	var c clusterFiles
	for _, r := range readCSVFile(t, filepath.Join(dir, "clusters.csv"), "neuron", "cluster") {
		l, err := strconv.Atoi(r[1])
		if err != nil {
			t.Fatal(err)
		}
		c.ids, c.labels = append(c.ids, r[0]), append(c.labels, l)
	}
	b, err := os.ReadFile(filepath.Join(dir, "clusters.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range b {
		if x >= 0x80 {
			t.Fatal("clusters.json is not ASCII")
		}
	}
	if err := json.Unmarshal(b, &c.meta); err != nil {
		t.Fatal(err)
	}
	if k := cluster.NumClusters(c.labels); float64(k) != c.meta["n_clusters"] {
		t.Fatalf("clusters.json says %v clusters, clusters.csv has %d", c.meta["n_clusters"], k)
	}
	for _, l := range c.labels {
		if l < 1 || float64(l) > c.meta["n_clusters"].(float64) {
			t.Fatalf("cluster label %d outside 1..%v", l, c.meta["n_clusters"])
		}
	}
	// clusters.parquet: the same rows.
	pb, err := os.ReadFile(filepath.Join(dir, "clusters.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(pb))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != int64(len(c.ids)) || tbl.Schema().Field(0).Name != "neuron" || tbl.Schema().Field(1).Name != "cluster" {
		t.Fatalf("clusters.parquet: %d rows, schema %v; clusters.csv %d rows", tbl.NumRows(), tbl.Schema(), len(c.ids))
	}
	row := 0
	for ci, chunk := range tbl.Column(0).Data().Chunks() {
		labels := tbl.Column(1).Data().Chunk(ci).(*array.Int64)
		for i := 0; i < chunk.Len(); i++ {
			var id string
			switch a := chunk.(type) {
			case *array.Int64:
				id = strconv.FormatInt(a.Value(i), 10)
			case *array.String:
				id = a.Value(i)
			default:
				t.Fatalf("clusters.parquet: neuron column %T", chunk)
			}
			if id != c.ids[row] || int(labels.Value(i)) != c.labels[row] {
				t.Fatalf("clusters.parquet row %d: %s,%d; clusters.csv %s,%d", row, id, labels.Value(i), c.ids[row], c.labels[row])
			}
			row++
		}
	}
	if p := filepath.Join(dir, "linkage.csv"); c.meta["method"] == "hierarchical" {
		for _, r := range readCSVFile(t, p, "a", "b", "distance", "size") {
			a, _ := strconv.Atoi(r[0])
			b, _ := strconv.Atoi(r[1])
			d, _ := strconv.ParseFloat(r[2], 64)
			s, _ := strconv.Atoi(r[3])
			c.z = append(c.z, cluster.Merge{A: a, B: b, Distance: d, Size: s})
		}
		if len(c.z) != len(c.ids)-1 {
			t.Fatalf("linkage.csv: %d rows for %d neurons", len(c.z), len(c.ids))
		}
	} else if _, err := os.Stat(p); err == nil {
		t.Fatalf("a graph clustering left %s", p)
	}
	return c
}

// denseCSV writes OUT/scores as a navis score CSV (values exact), for
// scipy.
func denseCSV(t *testing.T, out string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := results.AttrIDs(z.Attrs["queries"], out, "queries")
	if err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	vals, err := z.Read(ctx, 0, n, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	names := make([]string, n)
	b.WriteString("query")
	for i, id := range ids {
		names[i] = id.String()
		b.WriteString("," + names[i])
	}
	b.WriteString("\n")
	for i := 0; i < n; i++ {
		b.WriteString(names[i])
		for j := 0; j < n; j++ {
			b.WriteString("," + strconv.FormatFloat(vals[i*n+j], 'g', -1, 64))
		}
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "scores.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, names
}

// TestClusterHierarchicalMatchesScipy: runner cluster on real pipeline
// outputs (the synthetic brain's dense mean scores, and the golden set's
// forward scores, which are not symmetric: symmetrised to the mean) equals
// navis.nbl.make_linkage + scipy's fcluster on the same matrix, for every
// linkage method and both cut criteria: linkage.csv = Z (merges exactly,
// distances to 1e-12) and clusters.csv = the partition (up to renaming
// labels).
func TestClusterHierarchicalMatchesScipy(t *testing.T) {
	scipytest.Require(t, "scipy.cluster.hierarchy")
	outs := map[string]string{"synthetic brain (mean)": filepath.Join(synthBrain(t), "dense"), "golden (forward)": fixture(t, "dense")}
	for name, src := range outs {
		out := copyOutput(t, src)
		csvPath, names := denseCSV(t, out)
		n := len(names)
		ks := []int{2, 5, n / 4}
		r := scipytest.Scores(t, csvPath, []string{"ward", "average", "single", "complete"}, ks)
		for m, want := range r.Methods {
			if want.Error != "" {
				t.Fatalf("%s %s: scipy: %s", name, m, want.Error)
			}
			cases := map[string][]int{}
			for _, k := range ks {
				cases[fmt.Sprintf("--n_clusters=%d", k)] = want.Maxclust[strconv.Itoa(k)]
			}
			for i, h := range want.Heights {
				cases[fmt.Sprintf("--height=%v", h)] = want.Distance[i]
			}
			for flag, labels := range cases {
				what := fmt.Sprintf("%s %s %s", name, m, flag)
				if msg, err := runClusterT(t, "--out", out, "--linkage", m, flag); err != nil {
					t.Fatalf("%s: %v\n%s", what, err, msg)
				}
				c := readClusterOutput(t, out)
				if strings.Join(c.ids, ",") != strings.Join(names, ",") {
					t.Fatalf("%s: clusters.csv neurons not in the matrix's query order", what)
				}
				scipytest.CompareZ(t, what, c.z, want.Z, 1e-12)
				scipytest.SamePartition(t, what, c.labels, labels)
				if c.meta["method"] != "hierarchical" || c.meta["linkage"] != m || c.meta["source"] != "dense" {
					t.Fatalf("%s: clusters.json %v", what, c.meta)
				}
			}
		}
		t.Logf("%s: %d neurons, scipy %s: Z and partitions equal for ward, average, single, complete × %d cuts", name, n, r.Scipy, len(ks)+3)
	}
}

// readTypes reads runner synth's --types CSV (neuron,group).
func readTypes(t *testing.T, p string) map[string]string {
	t.Helper()
	types := map[string]string{}
	for _, r := range readCSVFile(t, p, "neuron", "group") {
		types[r[0]] = r[1]
	}
	return types
}

// ariAgainstTypes is the adjusted Rand index of the clusters against the
// synthetic brain's cell types.
func ariAgainstTypes(t *testing.T, c clusterFiles, types map[string]string) float64 {
	t.Helper()
	if len(c.ids) != len(types) {
		t.Fatalf("%d neurons clustered, %d typed", len(c.ids), len(types))
	}
	ids := map[string]int{}
	truth := make([]int, len(c.ids))
	for i, id := range c.ids {
		g, ok := types[id]
		if !ok {
			t.Fatalf("neuron %s has no type", id)
		}
		if _, ok := ids[g]; !ok {
			ids[g] = len(ids)
		}
		truth[i] = ids[g]
	}
	return cluster.AdjustedRand(c.labels, truth)
}

// TestClusterGraphRecoversTypes: Louvain on the synthetic brain's top-10
// graph is deterministic for a seed (the same clusters.csv on four runs,
// each building its graph afresh) and recovers the cell types:
// the adjusted Rand index against runner synth's types is high. The
// hierarchical clustering of the dense scores, cut at the number of types,
// is scored the same way.
func TestClusterGraphRecoversTypes(t *testing.T) {
	brain := synthBrain(t)
	types := readTypes(t, filepath.Join(brain, "types.csv"))
	out := copyOutput(t, filepath.Join(brain, "topk"))
	read := func(seed string) ([]byte, clusterFiles) {
		if msg, err := runClusterT(t, "--out", out, "--seed", seed); err != nil {
			t.Fatalf("%v\n%s", err, msg)
		}
		b, err := os.ReadFile(filepath.Join(out, "clusters", "clusters.csv"))
		if err != nil {
			t.Fatal(err)
		}
		return b, readClusterOutput(t, out)
	}
	b1, c := read("7")
	for i := 0; i < 3; i++ {
		if b2, _ := read("7"); !bytes.Equal(b1, b2) {
			t.Fatal("graph clustering with the same seed gave different clusters")
		}
	}
	if c.meta["method"] != "graph" || c.meta["source"] != "topk" || c.meta["seed"] != 7.0 {
		t.Fatalf("clusters.json %v", c.meta)
	}
	ari := ariAgainstTypes(t, c, types)
	nTypes := cluster.NumClusters(func() []int {
		m := map[string]int{}
		var l []int
		for _, g := range types {
			if _, ok := m[g]; !ok {
				m[g] = len(m)
			}
			l = append(l, m[g])
		}
		return l
	}())
	t.Logf("graph (top-10, seed 7): %v communities for %d cell types, modularity %v, ARI %.4f", c.meta["n_clusters"], nTypes, c.meta["modularity"], ari)
	if ari < 0.5 {
		t.Errorf("graph clustering recovers the cell types poorly: ARI %.4f", ari)
	}
	_, c8 := read("8")
	t.Logf("seed 8: %v communities, ARI %.4f", c8.meta["n_clusters"], ariAgainstTypes(t, c8, types))

	dense := copyOutput(t, filepath.Join(brain, "dense"))
	for _, m := range []string{"ward", "average"} {
		if msg, err := runClusterT(t, "--out", dense, "--linkage", m, "--n_clusters", strconv.Itoa(nTypes)); err != nil {
			t.Fatalf("%v\n%s", err, msg)
		}
		h := readClusterOutput(t, dense)
		t.Logf("hierarchical %s, --n_clusters %d: %v clusters, ARI %.4f", m, nTypes, h.meta["n_clusters"], ariAgainstTypes(t, h, types))
	}
	if msg, err := runClusterT(t, "--out", dense, "--method", "graph"); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	g := readClusterOutput(t, dense)
	t.Logf("graph on the dense scores: %v communities, ARI %.4f", g.meta["n_clusters"], ariAgainstTypes(t, g, types))
}

// TestClusterOutputs: graph clustering of the sparse, top-k and string-id
// fixtures (every neuron once, in id order; string ids in the Parquet
// file), and the errors.
func TestClusterOutputs(t *testing.T) {
	for _, name := range []string{"sparse", "topk", "strings"} {
		out := copyOutput(t, fixture(t, name))
		if msg, err := runClusterT(t, "--out", out); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, msg)
		}
		c := readClusterOutput(t, out)
		if len(c.ids) != 17 || c.meta["method"] != "graph" {
			t.Fatalf("%s: %d neurons, %v", name, len(c.ids), c.meta)
		}
	}
	dense := copyOutput(t, fixture(t, "dense"))
	sparse := copyOutput(t, fixture(t, "sparse"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", dense}, "exactly one of --n_clusters K and --height H"},
		{[]string{"--out", dense, "--n_clusters", "2", "--height", "0.5"}, "exactly one"},
		{[]string{"--out", dense, "--n_clusters", "2", "--linkage", "median"}, "linkage \"median\""},
		{[]string{"--out", sparse, "--method", "hierarchical", "--n_clusters", "2"}, "has no dense array scores"},
		{[]string{"--out", sparse, "--method", "hierarchical", "--source", "topk", "--n_clusters", "2"}, "needs the dense matrix"},
		{[]string{"--out", sparse, "--n_clusters", "2"}, "are for --method hierarchical"},
		{[]string{"--out", dense, "--method", "graph", "--resolution", "0"}, "resolution"},
		{[]string{"--out", dense, "--method", "kmeans"}, "want hierarchical or graph"},
		{[]string{"--out", t.TempDir()}, "no NBLAST output found"},
	} {
		_, err := runClusterT(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
