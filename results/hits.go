package results

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// Hit is one target of a query's hit list and its score.
type Hit struct {
	Target scoring.ID
	Score  float64
}

// HitLess ranks hits: the higher score first, NaN (not written) last, and
// among equal scores the smaller target id (int64 ids numerically, string
// ids by bytes), as the top-k output ranks them.
func HitLess(a, b Hit) bool {
	an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
	switch {
	case an != bn:
		return bn
	case !an && a.Score != b.Score:
		return a.Score > b.Score
	}
	return a.Target.Less(b.Target)
}

// Hits is every kept query's hit list read from one output (a dense
// array, a sparse or a top-k output): the one way inspect, matches and
// report read scores.
type Hits struct {
	Source  *Source
	Queries []scoring.ID         // kept queries with hits, in the output's order
	Lists   map[scoring.ID][]Hit // each sorted by HitLess
	// Kind is "dense", "sparse" or "top-k".
	Kind string
	// Floor: a sparse or top-k output holds only scores >= Floor (its
	// run's --threshold); -Inf for a dense array.
	Floor float64
	// K is a top-k output's k (0 otherwise): a query with K rows may have
	// more targets scoring at most its K-th score.
	K int
	// Targets is a dense array's target count, or an all-by-all sparse or
	// top-k output's (its queries); 0 if unknown.
	Targets int
	// Bits is the stored scores' precision: 32 (FLOAT, float32/float16
	// arrays) or 64.
	Bits int
	// AllQueries counts the distinct queries seen, kept or not.
	AllQueries int
}

// ReadHits reads the Hit lists of the queries keep accepts (nil: all)
// from src (checked already: Source.Check): a dense array row block by
// row block (NaN cells, unwritten in an incomplete array, left out), a
// sparse or top-k output streamed part by part.
func ReadHits(ctx context.Context, src *Source, keep func(scoring.ID) bool) (*Hits, error) {
	t := &Hits{Source: src, Lists: map[scoring.ID][]Hit{}, Floor: math.Inf(-1), Bits: 32}
	add := func(q scoring.ID, h Hit) {
		l, seen := t.Lists[q]
		if !seen {
			t.Queries = append(t.Queries, q)
		}
		t.Lists[q] = append(l, h)
	}
	seen := map[scoring.ID]bool{}
	count := func(q scoring.ID) bool {
		if !seen[q] {
			seen[q] = true
			t.AllQueries++
		}
		return keep == nil || keep(q)
	}
	if src.Parts == nil {
		t.Kind = "dense"
		z := src.Z
		if z == nil {
			var err error
			if z, err = zarr.Open(ctx, src.Out, src.Array); err != nil {
				return nil, err
			}
			src.Z = z
		}
		queries, targets, err := src.DenseIDs()
		if err != nil {
			return nil, err
		}
		t.Targets = len(targets)
		if z.DType == "float64" {
			t.Bits = 64
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
				t.Queries = append(t.Queries, queries[r])
				l := make([]Hit, 0, len(targets))
				for c, v := range vals[(r-r0)*len(targets) : (r-r0+1)*len(targets)] {
					if !math.IsNaN(v) {
						l = append(l, Hit{targets[c], v})
					}
				}
				t.Lists[queries[r]] = l
			}
			r0 = r1
		}
	} else {
		p := src.Parts
		ps := map[string]any{}
		if p.Manifest != nil {
			var err error
			if ps, err = Params(p.Manifest.Parameters); err != nil {
				return nil, fmt.Errorf("%s: invalid parameters: %w", files.Join(p.Dir, sinks.ManifestName), err)
			}
		}
		if v, ok := ps["threshold"]; ok && v != nil {
			f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err == nil {
				t.Floor = f
			}
		}
		var err error
		if p.Kind == "sparse" {
			t.Kind = "sparse"
			err = sinks.EachSparseRowBits(ctx, p.Dir, func(r sinks.SparseRow, bits int) error {
				t.Bits = bits
				if count(r.Query) {
					add(r.Query, Hit{r.Target, r.Score})
				}
				return nil
			})
		} else {
			t.Kind = "top-k"
			if v, ok := ps["topk"]; ok {
				t.K, _ = strconv.Atoi(fmt.Sprint(v))
			}
			err = sinks.EachTopKRowBits(ctx, p.Dir, func(r sinks.TopKRow, bits int) error {
				t.Bits = bits
				if count(r.Query) {
					add(r.Query, Hit{r.Target, r.Score})
				}
				return nil
			})
		}
		if err != nil {
			return nil, err
		}
	}
	if t.Source.Parts != nil && t.Source.Parts.Manifest != nil {
		if ps, err := Params(t.Source.Parts.Manifest.Parameters); err == nil && fmt.Sprint(ps["all_by_all"]) == "true" {
			t.Targets = t.AllQueries
		}
	}
	guessK := t.Kind == "top-k" && t.K == 0 // no manifest: the longest list
	for _, q := range t.Queries {
		l := t.Lists[q]
		if guessK {
			t.K = max(t.K, len(l))
		}
		sort.SliceStable(l, func(a, b int) bool { return HitLess(l[a], l[b]) })
	}
	return t, nil
}

// Params decodes a parameters object (numbers kept exactly).
func Params(raw json.RawMessage) (map[string]any, error) {
	m := map[string]any{}
	if len(raw) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// FormatScore is a score as the commands print it for people: six
// decimals.
func FormatScore(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
