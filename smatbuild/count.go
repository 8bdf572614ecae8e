package smatbuild

// Building a scoring matrix from neurons of known type, as navis'
// LookupDistDotBuilder and nat.nblast's create_scoringmatrix do: for every
// point of the query of a pair, the nearest point of the target (exact
// float64 distance) and the |dot| of their tangents are binned; matching
// pairs (same type) and non-matching pairs (different types) are counted
// apart, and each cell is the log2 odds of a match:
//
//	cell = log2((M·f + ε) / (N + ε)),  f = ΣN / ΣM,  ε = 2^-52
//
// with M and N the cell's match and non-match counts (points), f the float64
// quotient of the integer totals and ε = sys.float_info.epsilon, as navis
// computes it.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nblast-go/nblast/scoring"
)

// Epsilon is ε of the cell formula: 2^-52 (navis' sys.float_info.epsilon).
const Epsilon = 0x1p-52

// DefaultSeed is the default seed of the non-matching draw (navis'
// DEFAULT_SEED; the draw itself differs from navis', see DrawNonMatching).
const DefaultSeed = 1991

// FCWBEdges returns copies of the distance edges (µm) and |dot| edges of
// navis' plain FCWB matrix: 0, 0.75, 1.5, 2, …, 40, 500 and 0, 0.1, …, 1.
func FCWBEdges() (dist, dot []float64) {
	m := scoring.FCWB()
	return slices.Clone(m.DistEdges), slices.Clone(m.DotEdges)
}

// Pair is an ordered (query, target) pair of indices into a neuron list.
type Pair struct{ Q, T int32 }

// Counter counts (distance, |dot|) point matches into the cells of a
// matrix with given edges. Bins are those of Matrix: right-closed (lo, hi],
// values outside the outer edges clip into the end bins. It is read-only
// after NewCounter and safe for concurrent use.
type Counter struct {
	bins     *scoring.Matrix // the edges, with zero cells: its binners
	useAlpha bool
}

// NewCounter checks the edges (finite, strictly increasing, at least 2
// each; distances in µm). With useAlpha every |dot| is multiplied by
// sqrt(alpha_q · alpha_t), and every neuron counted needs alpha.
func NewCounter(distEdges, dotEdges []float64, useAlpha bool) (*Counter, error) {
	nd, nt := len(distEdges)-1, len(dotEdges)-1
	if nd < 1 || nt < 1 {
		return nil, fmt.Errorf("need at least 2 distance edges and 2 dot edges, got %d and %d", len(distEdges), len(dotEdges))
	}
	m, err := scoring.NewMatrix("edges", distEdges, dotEdges, make([]float64, nd*nt))
	if err != nil {
		return nil, err
	}
	return &Counter{bins: m, useAlpha: useAlpha}, nil
}

// Cells is the number of cells (distance bins × dot bins): the length of
// every counts slice.
func (b *Counter) Cells() int { return len(b.bins.Cells) }

// DistEdges and DotEdges are the builder's edges (shared: do not modify).
func (b *Counter) DistEdges() []float64 { return b.bins.DistEdges }

// DotEdges are the |dot| edges (shared: do not modify).
func (b *Counter) DotEdges() []float64 { return b.bins.DotEdges }

// UseAlpha reports whether |dot| is weighted by sqrt(alpha_q · alpha_t).
func (b *Counter) UseAlpha() bool { return b.useAlpha }

// AddPair adds to counts (length Cells(), row-major by distance bin) one
// count per point of q: the cell of its distance to the nearest point of t
// (exact float64 Euclidean distance, µm) and the |dot| of their tangents.
func (b *Counter) AddPair(counts []int64, q, t *scoring.Neuron) error {
	if len(counts) != len(b.bins.Cells) {
		return fmt.Errorf("counts have %d cells, the edges make %d", len(counts), len(b.bins.Cells))
	}
	if b.useAlpha {
		for _, n := range []*scoring.Neuron{q, t} {
			if !n.HasAlpha() {
				return fmt.Errorf("neuron %s has no alpha values, which use_alpha needs", n.ID)
			}
		}
	}
	m := b.bins
	q.EachNearest(t, b.useAlpha, func(dist, dot float64) {
		counts[m.DistBin(dist)*m.DotBins()+m.DotBin(dot)]++
	})
	return nil
}

// CountPairs returns the counts of all pairs (indices into neurons) summed,
// computed on workers goroutines (0: GOMAXPROCS), each with its own counts,
// merged at the end: integer sums, so the result does not depend on the
// number of workers or the order. progress, if not nil, is called with the
// number of pairs done so far, from any goroutine, after each pair.
func (b *Counter) CountPairs(neurons []*scoring.Neuron, pairs []Pair, workers int, progress func(done int64)) ([]int64, error) {
	for k, p := range pairs {
		if p.Q < 0 || int(p.Q) >= len(neurons) || p.T < 0 || int(p.T) >= len(neurons) {
			return nil, fmt.Errorf("pair %d (%d, %d) is outside the %d neurons", k, p.Q, p.T, len(neurons))
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(pairs)))
	total := make([]int64, b.Cells())
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		wg         sync.WaitGroup
		errs       []error
		failed     atomic.Bool
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := make([]int64, b.Cells())
			for !failed.Load() {
				k := next.Add(1) - 1
				if k >= int64(len(pairs)) {
					break
				}
				p := pairs[k]
				if err := b.AddPair(counts, neurons[p.Q], neurons[p.T]); err != nil {
					failed.Store(true)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if n := done.Add(1); progress != nil {
					progress(n)
				}
			}
			mu.Lock()
			AddCounts(total, counts)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return total, nil
}

// AddCounts adds src to dst cell by cell (same length).
func AddCounts(dst, src []int64) {
	for i, v := range src {
		dst[i] += v
	}
}

// SumCounts is the total of a counts slice (points counted).
func SumCounts(c []int64) int64 {
	var s int64
	for _, v := range c {
		s += v
	}
	return s
}

// BuildMatrix turns match counts M and non-match counts N (same length,
// row-major by distance bin) into the scoring matrix
// cell = log2((M·f + ε) / (N + ε)), f = ΣN / ΣM, ε = Epsilon, as navis
// does. A cell with N = 0 gets a large value (log2 of ~M·f·2^52, ~50-70);
// one with M = 0 a large negative one. Both totals must be > 0.
func BuildMatrix(name string, distEdges, dotEdges []float64, match, nonmatch []int64) (*scoring.Matrix, error) {
	n := (len(distEdges) - 1) * (len(dotEdges) - 1)
	if len(match) != n || len(nonmatch) != n {
		return nil, fmt.Errorf("scoring matrix %s: %d match and %d non-match counts for %d cells", name, len(match), len(nonmatch), n)
	}
	sm, sn := SumCounts(match), SumCounts(nonmatch)
	switch {
	case sm <= 0:
		return nil, fmt.Errorf("scoring matrix %s: no matching point pairs were counted (no matching pairs of neurons?)", name)
	case sn <= 0:
		return nil, fmt.Errorf("scoring matrix %s: no non-matching point pairs were counted (no non-matching pairs of neurons?)", name)
	}
	f := float64(sn) / float64(sm)
	cells := make([]float64, n)
	for i := range cells {
		cells[i] = math.Log2((float64(match[i])*f + Epsilon) / (float64(nonmatch[i]) + Epsilon))
	}
	return scoring.NewMatrix(name, distEdges, dotEdges, cells)
}

// MatchingPairs returns every ordered pair (q, t), q ≠ t, inside each group
// (indices into a neuron list), group by group, q-major in group order, as
// navis' permutations(group, 2). Groups of one neuron give none.
func MatchingPairs(groups [][]int32) []Pair {
	var out []Pair
	for _, g := range groups {
		for _, q := range g {
			for _, t := range g {
				if q != t {
					out = append(out, Pair{q, t})
				}
			}
		}
	}
	return out
}

// QueryPoints is Σ points[q] over the pairs: the number of point matches
// their counts will hold.
func QueryPoints(pairs []Pair, points []int) int64 {
	var s int64
	for _, p := range pairs {
		s += int64(points[p.Q])
	}
	return s
}

// enumerateLimit is the most candidate pairs DrawNonMatching lists in memory
// (8 bytes each); above it, and when few of them are needed, it draws by
// rejection.
const enumerateLimit = 1 << 23

// DrawNonMatching draws distinct random ordered pairs (q, t), q ≠ t, of
// neurons of different groups (group[i] is neuron i's group; give every
// neuron without a group a group of its own), until the query points of the
// pairs drawn, Σ points[q], reach need, as navis draws non-matching pairs
// "until they supply at least as many point matches" as the matching pairs.
// exhausted is true when every such pair was drawn and the points still fall
// short of need. The draw is deterministic for a seed (PCG), but not navis'
// numpy draw: the same seed does not give navis' pairs.
//
// Unlike navis' default (random pairs of any two neurons), pairs of the same
// group are never drawn: they are matches.
func DrawNonMatching(group []int32, points []int, need int64, seed uint64) (pairs []Pair, exhausted bool, err error) {
	n := len(group)
	if len(points) != n {
		return nil, false, errors.New("group and points differ in length")
	}
	if need <= 0 {
		return nil, false, nil
	}
	sizes := map[int32]int64{}
	var totalPts int64
	for i, g := range group {
		sizes[g]++
		totalPts += int64(points[i])
	}
	cand := int64(n) * int64(n-1)
	for _, s := range sizes {
		cand -= s * (s - 1)
	}
	// reach is the query points of all candidate pairs together.
	var reach float64
	for i, g := range group {
		reach += float64(points[i]) * float64(int64(n)-sizes[g])
	}
	if cand == 0 {
		return nil, true, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed5eed))
	// Rejection sampling needs a small share of the candidates (by count
	// and by points), so that it ends quickly; otherwise list them all.
	// Expected draws: need / mean points per query.
	expect := float64(need) / (float64(totalPts) / float64(n))
	if cand <= enumerateLimit || expect > float64(cand)/4 || float64(need) > reach/4 {
		if cand > 1<<31 {
			return nil, false, fmt.Errorf("%d non-matching candidate pairs are too many to draw %.0f of them", cand, expect)
		}
		all := make([]Pair, 0, cand)
		for q := range n {
			for t := range n {
				if q != t && group[q] != group[t] {
					all = append(all, Pair{int32(q), int32(t)})
				}
			}
		}
		// A partial Fisher-Yates shuffle: each step draws uniformly
		// from the pairs not drawn yet.
		var got int64
		for k := range all {
			r := k + rng.IntN(len(all)-k)
			all[k], all[r] = all[r], all[k]
			got += int64(points[all[k].Q])
			if got >= need {
				return all[:k+1], false, nil
			}
		}
		return all, true, nil
	}
	seen := map[Pair]bool{}
	var got int64
	for got < need {
		p := Pair{int32(rng.IntN(n)), int32(rng.IntN(n))}
		if p.Q == p.T || group[p.Q] == group[p.T] || seen[p] {
			continue
		}
		seen[p] = true
		pairs = append(pairs, p)
		got += int64(points[p.Q])
	}
	return pairs, false, nil
}
