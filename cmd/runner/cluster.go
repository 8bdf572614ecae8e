package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

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
	fs := newFlagSet("cluster", stderr, "usage: runner cluster --out OUT [--method hierarchical|graph] [--linkage ward|average|single|complete] [--n_clusters K | --height H] [--seed S] [--resolution R] [--source dense|sparse|topk]\n\n"+
		"Cluster the neurons of an output: hierarchical (as navis.nbl.make_clusters)\nor graph communities (Louvain); writes OUT/clusters/.\n\nFlags:\n")
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://); writes OUT/clusters/")
	method := fs.String("method", "", "hierarchical (navis.nbl.make_clusters: scipy linkage + fcluster on the dense matrix) or graph (Louvain communities); default: hierarchical for a dense output, else graph")
	linkage := fs.String("linkage", "ward", "hierarchical: the linkage method, ward, average, single or complete (as scipy.cluster.hierarchy.linkage)")
	nClusters := fs.Int("n_clusters", 0, "hierarchical: cut into at most K clusters, K >= 1 (fcluster criterion maxclust)")
	height := fs.Float64("height", math.NaN(), "hierarchical: cut at this finite distance, 1 − score (fcluster criterion distance)")
	seed := fs.Uint64("seed", 1, "graph: the seed of Louvain's random node order (same seed, same clusters)")
	resolution := fs.Float64("resolution", 1, "graph: the modularity resolution, a finite number > 0 (higher: more, smaller communities)")
	source := fs.String("source", "", "the output to cluster: dense (OUT/scores), sparse or topk; default: dense for hierarchical, else sparse if OUT has it, else topk, else dense")
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
		k := 0
		if hasK {
			k = *nClusters
		}
		if ids, labels, z, err = cluster.Hierarchical(ctx, src, m, k, *height); err != nil {
			return err
		}
		res.Linkage = linkage
		if hasK {
			res.Criterion, res.Requested = "maxclust", nClusters
		} else {
			res.Criterion, res.Height = "distance", height
		}
	case "graph":
		if *nClusters != 0 || !math.IsNaN(*height) {
			return errors.New("--n_clusters and --height are for --method hierarchical; graph clustering chooses the number of communities (tune it with --resolution)")
		}
		if given["linkage"] {
			return fmt.Errorf("--linkage %s is for --method hierarchical; graph clustering (Louvain) has no linkage", *linkage)
		}
		var q float64
		var edges int
		if ids, labels, q, edges, err = cluster.Communities(ctx, src, *resolution, *seed); err != nil {
			return err
		}
		res.Seed, res.Resolution, res.Modularity, res.Edges = seed, resolution, &q, &edges
	default:
		return fmt.Errorf("--method %q: want hierarchical or graph", *method)
	}
	res.Neurons = len(ids)
	res.NClusters = cluster.NumClusters(labels)
	var rows [][4]float64 // scipy's Z
	for _, m := range z {
		rows = append(rows, [4]float64{float64(m.A), float64(m.B), m.Distance, float64(m.Size)})
	}
	if err := sinks.WriteClusters(ctx, *out, ids, labels, rows, res); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cluster: %d neurons of the %s output in %d clusters (%s) in %s: %s\n",
		len(ids), kind, res.NClusters, *method, time.Since(start).Round(time.Millisecond), files.Join(*out, sinks.ClustersDir))
	return nil
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
