package cluster

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"slices"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// Reading an output (package results) as what the clusterings take.

// DenseCondensed reads the dense all-by-all matrix as a condensed
// distance matrix (Condensed: mean of both directions, 1 −
// score), a block of rows at a time. It refuses a matrix whose queries are
// not its targets, and distances < 0 (scores > 1), as scipy's fcluster
// does.
func DenseCondensed(ctx context.Context, src *results.Source) ([]scoring.ID, []float64, error) {
	z, path := src.Z, files.Join(src.Out, src.Array)
	queries, err := allByAll(src, "hierarchical clustering")
	if err != nil {
		return nil, nil, err
	}
	n := len(queries)
	var block []float64
	b0, b1 := 0, 0
	step := max(1, min(n, z.Chunks[0], (64<<20)/8/max(n, 1)))
	d, err := Condensed(n, func(i int) ([]float64, error) {
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

// allByAll returns the neurons of the dense output src, refusing one whose
// queries are not its targets in the same order: what (the clustering)
// needs one.
func allByAll(src *results.Source, what string) ([]scoring.ID, error) {
	queries, targets, err := src.DenseIDs()
	if err != nil {
		return nil, err
	}
	if !slices.Equal(queries, targets) {
		return nil, fmt.Errorf("%s: %d queries × %d targets, not an all-by-all matrix of the same neurons in the same order: %s needs one (run without --targets)",
			files.Join(src.Out, src.Array), len(queries), len(targets), what)
	}
	return queries, nil
}

// condensedPair inverts CondensedIndex (for messages).
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

// ScoreGraph reads an output's scores as a graph: the neurons (a dense
// matrix's queries in order; for sparse and top-k outputs every query and
// target, in id order) and their directed scores.
func ScoreGraph(ctx context.Context, src *results.Source) ([]scoring.ID, *Edges, error) {
	if src.Parts == nil {
		z := src.Z
		queries, err := allByAll(src, "graph clustering of a dense output")
		if err != nil {
			return nil, nil, err
		}
		n := len(queries)
		e := NewEdges(n)
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
	e := NewEdges(len(ids))
	for _, x := range edges {
		e.Add(perm[x.q], perm[x.t], x.s)
	}
	return sorted, e, nil
}

// Hierarchical clusters the dense all-by-all output src (scipy's linkage
// with method m on 1 − the mean score), cut into at most k clusters
// (fcluster maxclust) when k > 0, else at distance height (fcluster
// distance). It returns the neurons, their cluster labels and the linkage.
func Hierarchical(ctx context.Context, src *results.Source, m Method, k int, height float64) (ids []scoring.ID, labels []int, z []Merge, err error) {
	// The condensed matrix is most of the heap (8·n(n−1)/2 bytes): a low
	// GC target keeps the peak near it rather than twice it.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	ids, d, err := DenseCondensed(ctx, src)
	if err != nil {
		return nil, nil, nil, err
	}
	n := len(ids)
	if n < 2 {
		return nil, nil, nil, fmt.Errorf("%s: %d neurons, hierarchical clustering needs at least 2", src.Out, n)
	}
	if z, err = Linkage(d, n, m); err != nil {
		return nil, nil, nil, err
	}
	for r, row := range z {
		if math.IsNaN(row.Distance) {
			return nil, nil, nil, fmt.Errorf("%s linkage row %d: distance NaN", m, r)
		}
	}
	if k > 0 {
		return ids, FclusterMaxclust(z, n, k), z, nil
	}
	return ids, FclusterDistance(z, n, height), z, nil
}

// Communities clusters the output src as a graph of its scores (Louvain
// at resolution, seeded): the neurons, their community labels, the
// modularity and the number of edges.
func Communities(ctx context.Context, src *results.Source, resolution float64, seed uint64) (ids []scoring.ID, labels []int, modularity float64, edges int, err error) {
	ids, e, err := ScoreGraph(ctx, src)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	g, edges := e.Graph()
	if labels, modularity, err = Louvain(g, len(ids), resolution, seed); err != nil {
		return nil, nil, 0, 0, fmt.Errorf("--%w", err)
	}
	return ids, labels, modularity, edges, nil
}
