package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// hitTable is every kept query's hit list read from one output (a dense
// array, a sparse or a top-k output): the one way inspect, matches and
// report read scores.
type hitTable struct {
	src     *results.Source
	queries []scoring.ID         // kept queries with hits, in the output's order
	hits    map[scoring.ID][]hit // sorted by hitLess
	// kind is "dense", "sparse" or "top-k".
	kind string
	// floor: a sparse or top-k output holds only scores >= floor (its
	// run's --threshold); -Inf for a dense array.
	floor float64
	// k is a top-k output's k (0 otherwise): a query with k rows may have
	// more targets scoring at most its k-th score.
	k int
	// targets is a dense array's target count, or an all-by-all sparse or
	// top-k output's (its queries); 0 if unknown.
	targets int
	// bits is the stored scores' precision: 32 (FLOAT, float32/float16
	// arrays) or 64.
	bits int
	// allQueries counts the distinct queries seen, kept or not.
	allQueries int
}

// readHits reads the hit lists of the queries keep accepts (nil: all)
// from src (checked already by source.check): a dense array row block by
// row block (NaN cells, unwritten in an incomplete array, left out), a
// sparse or top-k output streamed part by part.
func readHits(ctx context.Context, src *results.Source, keep func(scoring.ID) bool) (*hitTable, error) {
	t := &hitTable{src: src, hits: map[scoring.ID][]hit{}, floor: math.Inf(-1), bits: 32}
	add := func(q scoring.ID, h hit) {
		l, seen := t.hits[q]
		if !seen {
			t.queries = append(t.queries, q)
		}
		t.hits[q] = append(l, h)
	}
	seen := map[scoring.ID]bool{}
	count := func(q scoring.ID) bool {
		if !seen[q] {
			seen[q] = true
			t.allQueries++
		}
		return keep == nil || keep(q)
	}
	if src.Parts == nil {
		t.kind = "dense"
		z := src.Z
		if z == nil {
			var err error
			if z, err = sinks.OpenZarr(ctx, src.Out, src.Array); err != nil {
				return nil, err
			}
			src.Z = z
		}
		queries, targets, err := src.DenseIDs()
		if err != nil {
			return nil, err
		}
		t.targets = len(targets)
		if z.DType == "float64" {
			t.bits = 64
		}
		// Rows in runs of kept queries, at most a chunk row at a time.
		for r0 := 0; r0 < len(queries); {
			if !count(queries[r0]) {
				r0++
				continue
			}
			r1 := r0 + 1
			for r1 < len(queries) && r1-r0 < z.Chunks[0] && count(queries[r1]) {
				r1++
			}
			vals, err := z.Read(ctx, r0, r1, 0, z.Shape[1])
			if err != nil {
				return nil, err
			}
			for r := r0; r < r1; r++ {
				t.queries = append(t.queries, queries[r])
				l := make([]hit, 0, len(targets))
				for c, v := range vals[(r-r0)*len(targets) : (r-r0+1)*len(targets)] {
					if !math.IsNaN(v) {
						l = append(l, hit{targets[c], v})
					}
				}
				t.hits[queries[r]] = l
			}
			r0 = r1
		}
	} else {
		p := src.Parts
		ps := map[string]any{}
		if p.Manifest != nil {
			var err error
			if ps, err = params(p.Manifest.Parameters); err != nil {
				return nil, fmt.Errorf("%s: invalid parameters: %w", files.Join(p.Dir, sinks.ManifestName), err)
			}
		}
		if v, ok := ps["threshold"]; ok && v != nil {
			f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err == nil {
				t.floor = f
			}
		}
		var err error
		if p.Kind == "sparse" {
			t.kind = "sparse"
			err = sinks.EachSparseRowBits(ctx, p.Dir, func(r sinks.SparseRow, bits int) error {
				t.bits = bits
				if count(r.Query) {
					add(r.Query, hit{r.Target, r.Score})
				}
				return nil
			})
		} else {
			t.kind = "top-k"
			if v, ok := ps["topk"]; ok {
				t.k, _ = strconv.Atoi(fmt.Sprint(v))
			}
			err = sinks.EachTopKRowBits(ctx, p.Dir, func(r sinks.TopKRow, bits int) error {
				t.bits = bits
				if count(r.Query) {
					add(r.Query, hit{r.Target, r.Score})
				}
				return nil
			})
		}
		if err != nil {
			return nil, err
		}
	}
	if t.src.Parts != nil && t.src.Parts.Manifest != nil {
		if ps, err := params(t.src.Parts.Manifest.Parameters); err == nil && fmt.Sprint(ps["all_by_all"]) == "true" {
			t.targets = t.allQueries
		}
	}
	guessK := t.kind == "top-k" && t.k == 0 // no manifest: the longest list
	for _, q := range t.queries {
		l := t.hits[q]
		if guessK {
			t.k = max(t.k, len(l))
		}
		sort.SliceStable(l, func(a, b int) bool { return hitLess(l[a], l[b]) })
	}
	return t, nil
}
