package transforms

// An update (--exists update) scores only the pairs that involve a neuron
// that is new or changed since the earlier run: its plan lists those
// neurons first on each side (MakeDeltaPlan), and a DeltaMask in the
// layout limits scoring to the pairs whose query or target is among them.

import (
	"fmt"

	"github.com/nblast-go/nblast/dotprops"
)

// DeltaMask names the pairs an update scores: those with a query at a plan
// position below Queries or a target at a position below Targets (the plan
// lists the neurons an update affects first, see MakeDeltaPlan). Other
// pairs are left unscored, as pruned ones are (NaN).
type DeltaMask struct {
	Queries, Targets int
	// KNN, when set, is the update of a top-k output (--sink topk) on a
	// fresh run's plan: Queries and Targets are unused (see KNNDelta).
	KNN *KNNDelta
	// Dense, when set, is the update of a dense output on the plan of
	// MakeUpdatePlan: Queries and Targets are unused (see DenseDelta).
	Dense *DenseDelta
}

// KNNDelta is the update of an exact k-nearest-neighbour graph (the top-k
// output alone, knnRow) on the plan of a fresh run: every query is
// searched, but a query that is neither new nor changed only against its
// earlier top-k targets that are unchanged (their stored scores reused,
// knnreuse.go) and the targets that are new or changed. Every other
// target ranked after the query's earlier k-th (its earlier top k is the
// best k of the unchanged targets), so when its earlier top k is whole
// the best k of these pairs are the best k of all; when it lost targets
// (removed or changed), they are if k of them rank ahead of the earlier
// k-th (Recheck), and the query is searched in full otherwise. A query
// that is new or changed is searched in full.
type KNNDelta struct {
	// Affected are the plan positions (Plan.Targets) of the new and
	// changed targets, ascending.
	Affected []int32
	// Restrict, by plan position of the query (Plan.Queries), says
	// whether the query is searched only against Keep[q] and Affected;
	// Keep[q] are the plan positions of its earlier top-k targets: for a
	// restricted query those unchanged, with their stored scores in
	// KeepScores[q] (knnreuse.go); for a query searched in full those
	// still there, its first seeds.
	Restrict   []bool
	Keep       [][]int32
	KeepScores [][]float32
	// Recheck[q], unless NaN, is the stored score of the earlier k-th
	// best of a restricted query that lost some of its earlier top k
	// (removed or changed targets): every target outside its earlier top
	// k ranked after that one, so its search is exact only if at least k
	// of the pairs it scored rank ahead of it (knnreuse.go's settled);
	// otherwise the query is searched in full after all. NaN: no check
	// (its earlier top k is whole, or held fewer than k targets, all
	// those reaching the threshold).
	Recheck []float32
}

// knn is d's KNNDelta (nil without).
func (d *DeltaMask) knn() *KNNDelta {
	if d == nil {
		return nil
	}
	return d.KNN
}

// restricted reports whether query q (plan position) is searched only
// against its earlier top k and the affected targets.
func (k *KNNDelta) restricted(q int) bool {
	return k != nil && q < len(k.Restrict) && k.Restrict[q]
}

// affectedSet marks the affected targets of n (by plan position), and
// each target block of size bs holding one.
func (k *KNNDelta) affectedSet(n, bs int) (targets, blocks []bool) {
	targets = make([]bool, n)
	blocks = make([]bool, (n+bs-1)/bs)
	for _, t := range k.Affected {
		targets[t] = true
		blocks[int(t)/bs] = true
	}
	return targets, blocks
}

// Searched counts the pairs an update of a top-k output searches (before
// pruning): every target for a query searched in full, its earlier top k
// and the affected targets for the others (one whose search turns out
// not to be exact, see Recheck, is then searched in full too); nt
// targets.
func (k *KNNDelta) Searched(nt int) int64 {
	var n int64
	for q, r := range k.Restrict {
		if r {
			n += int64(len(k.Keep[q]) + len(k.Affected))
		} else {
			n += int64(nt)
		}
	}
	return n
}

// restrict narrows the positions qi and ti (within work item w's blocks of
// nq and nt neurons, block size bs) to the pairs the mask keeps, as a
// cross product: when the query block holds only unaffected queries, the
// affected targets; when the target block holds only unaffected targets,
// the affected queries. A query block and a target block that both mix
// affected and unaffected neurons are kept whole (one such item at most:
// the scores of its extra pairs are true ones, which the update's merge
// ignores). A nil mask keeps everything.
func (d *DeltaMask) restrict(w WorkItem, bs int, qi, ti []int, nq, nt int) ([]int, []int) {
	if d == nil || d.KNN != nil || d.Dense != nil {
		return qi, ti
	}
	q0, t0 := w.QB*bs, w.TB*bs
	if q0+nq <= d.Queries || t0+nt <= d.Targets {
		return qi, ti // every pair needed
	}
	keep := func(at []int, start, limit int) []int {
		var out []int
		for _, i := range at {
			if start+i < limit {
				out = append(out, i)
			}
		}
		return out
	}
	switch {
	case q0 >= d.Queries:
		return qi, keep(ti, t0, d.Targets)
	case t0 >= d.Targets:
		return keep(qi, q0, d.Queries), ti
	}
	return qi, ti
}

// Needed reports whether the mask keeps the pair of the query at plan
// position q and the target at t (a nil mask keeps every pair).
func (d *DeltaMask) Needed(q, t int) bool {
	return d == nil || q < d.Queries || t < d.Targets
}

// MakeDeltaPlan is the plan of an update (--exists update): each side's
// groups of neurons, in the order given, each group ordered as MakePlan
// orders a side (spatially with spatial) and the groups concatenated, so
// that the neurons an update affects come first (see DeltaMask). With
// allByAll the targets are the queries (tgroups is ignored).
func MakeDeltaPlan(qgroups, tgroups [][]dotprops.NeuronInfo, blockSize int, allByAll, spatial bool) (Plan, error) {
	if blockSize < 1 {
		return Plan{}, fmt.Errorf("block size must be at least 1, got %d", blockSize)
	}
	order := balance
	if spatial {
		order = spatialOrder
	}
	side := func(groups [][]dotprops.NeuronInfo) []dotprops.NeuronInfo {
		var out []dotprops.NeuronInfo
		for _, g := range groups {
			if len(g) > 0 {
				out = append(out, order(g, blockSize)...)
			}
		}
		return out
	}
	p := Plan{Queries: side(qgroups), BlockSize: blockSize, AllByAll: allByAll}
	if len(p.Queries) == 0 {
		return Plan{}, fmt.Errorf("no query neurons")
	}
	if allByAll {
		p.Targets = p.Queries
	} else if p.Targets = side(tgroups); len(p.Targets) == 0 {
		return Plan{}, fmt.Errorf("no target neurons")
	}
	return p, nil
}

// DeltaItems lists the work items of an update's plan under mask d: every
// target block of a query block holding an affected query, and the target
// blocks holding an affected target for the others.
func (p Plan) DeltaItems(d DeltaMask) []WorkItem {
	var items []WorkItem
	for q := range p.QueryBlocks() {
		for t := range p.TargetBlocks() {
			if q*p.BlockSize < d.Queries || t*p.BlockSize < d.Targets {
				items = append(items, WorkItem{QB: q, TB: t})
			}
		}
	}
	return items
}

// DeltaPairs counts the pairs mask d keeps in plan p: those an update
// needs scored (the work items of DeltaItems hold these and, in the one
// work item that mixes affected and unaffected neurons on both sides, a
// few more).
func (p Plan) DeltaPairs(d DeltaMask) int64 {
	nq, nt := int64(len(p.Queries)), int64(len(p.Targets))
	aq, at := int64(min(d.Queries, len(p.Queries))), int64(min(d.Targets, len(p.Targets)))
	return aq*nt + (nq-aq)*at
}
