package transforms

import (
	"container/heap"
	"fmt"
	"sort"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scoring"
)

// Plan orders the neurons and cuts them into blocks. A block of queries and
// a block of targets make one work item, which is scored as a unit and is
// one chunk of the output array, so every block but the last holds exactly
// BlockSize neurons (Zarr chunks are uniform). Within that constraint, the
// neurons are dealt to blocks so that the blocks' total points (their
// scoring cost) are as even as possible.
type Plan struct {
	Queries   []dotprops.NeuronInfo // in row order
	Targets   []dotprops.NeuronInfo // in column order; the same slice for all-by-all
	BlockSize int
	AllByAll  bool
}

// WorkItem is one (query block, target block) pair: one chunk.
type WorkItem struct {
	QB, TB int
}

// DefaultBlockSize picks a block size for n neurons: about 8 blocks a side,
// at most 512 neurons a block (a 512×512 float32 chunk is 1 MiB); when
// pruning, at most 64, so that spatially compact blocks let whole work
// items be skipped.
func DefaultBlockSize(n int, pruning bool) int {
	limit := 512
	if pruning {
		limit = 64
	}
	return min(limit, max(1, (n+7)/8))
}

// MakePlan orders queries and targets into balanced blocks. With allByAll
// the targets are the queries and share their order. With spatial, blocks
// are also kept spatially compact (see spatialOrder), which lets pruning
// skip whole work items.
func MakePlan(queries, targets []dotprops.NeuronInfo, blockSize int, allByAll, spatial bool) (Plan, error) {
	if blockSize < 1 {
		return Plan{}, fmt.Errorf("block size must be at least 1, got %d", blockSize)
	}
	if len(queries) == 0 {
		return Plan{}, fmt.Errorf("no query neurons")
	}
	order := balance
	if spatial {
		order = spatialOrder
	}
	p := Plan{Queries: order(queries, blockSize), BlockSize: blockSize, AllByAll: allByAll}
	if allByAll {
		p.Targets = p.Queries
	} else {
		if len(targets) == 0 {
			return Plan{}, fmt.Errorf("no target neurons")
		}
		p.Targets = order(targets, blockSize)
	}
	return p, nil
}

// superBlocks is how many consecutive blocks of the spatial order are
// balanced against each other.
const superBlocks = 4

// spatialOrder sorts neurons along a Morton (Z-order) curve of their
// centroids, so that neighbours in space are neighbours in the order, then
// balances each run of superBlocks blocks: blocks stay spatially compact and
// their costs even out within each run.
func spatialOrder(ns []dotprops.NeuronInfo, size int) []dotprops.NeuronInfo {
	lo, hi := ns[0].Centroid, ns[0].Centroid
	for _, n := range ns {
		for k := range 3 {
			lo[k], hi[k] = min(lo[k], n.Centroid[k]), max(hi[k], n.Centroid[k])
		}
	}
	// One scale for all axes keeps the geometry: a large gap along one axis
	// must outweigh a small spread along another.
	span := max(hi[0]-lo[0], hi[1]-lo[1], hi[2]-lo[2])
	keys := make([]uint64, len(ns))
	for i, n := range ns {
		var c [3]uint64
		for k := range 3 {
			if span > 0 {
				c[k] = uint64((n.Centroid[k] - lo[k]) / span * (1<<21 - 1))
			}
		}
		keys[i] = spread3(c[0]) | spread3(c[1])<<1 | spread3(c[2])<<2
	}
	idx := make([]int, len(ns))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]dotprops.NeuronInfo, len(ns))
	for i, j := range idx {
		sorted[i] = ns[j]
	}
	out := make([]dotprops.NeuronInfo, 0, len(ns))
	run := superBlocks * size
	for start := 0; start < len(sorted); start += run {
		out = append(out, balance(sorted[start:min(start+run, len(sorted))], size)...)
	}
	return out
}

// spread3 spaces the low 21 bits of v three bits apart (Morton encoding).
func spread3(v uint64) uint64 {
	v &= 1<<21 - 1
	v = (v | v<<32) & 0x1f00000000ffff
	v = (v | v<<16) & 0x1f0000ff0000ff
	v = (v | v<<8) & 0x100f00f00f00f00f
	v = (v | v<<4) & 0x10c30c30c30c30c3
	v = (v | v<<2) & 0x1249249249249249
	return v
}

// Candidates lists the positions, within work item w's query and target
// blocks, of the neurons that take part in a pair that may score at or
// above threshold under mode, judged from the neurons' extents alone (see
// scoring.Scorer.ExtentBound), so no points are read. Both lists are empty
// when the item can be skipped without loading it. In an all-by-all a
// neuron's pair with itself is always a candidate (its score is the
// self-hit; ExtentBound knows no ids), so a block against itself is never
// skipped.
func (p Plan) Candidates(w WorkItem, s *scoring.Scorer, mode scoring.Mode, threshold float64) (qi, ti []int) {
	qs, ts := p.QueryBlock(w.QB), p.TargetBlock(w.TB)
	qe := make([]scoring.Extent, len(qs))
	for i, q := range qs {
		qe[i] = q.Extent()
	}
	qm := make([]bool, len(qs))
	for j, t := range ts {
		te, need := t.Extent(), false
		for i, q := range qs {
			if (p.AllByAll && q.ID == t.ID) || s.ExtentBound(mode, qe[i], te) >= threshold {
				qm[i], need = true, true
			}
		}
		if need {
			ti = append(ti, j)
		}
	}
	for i, m := range qm {
		if m {
			qi = append(qi, i)
		}
	}
	return qi, ti
}

// balance deals neurons, largest first, to the block with the fewest points
// that still has room (greedy longest-processing-time), then lists the
// blocks in order, each keeping its neurons in input order.
func balance(ns []dotprops.NeuronInfo, size int) []dotprops.NeuronInfo {
	nb := (len(ns) + size - 1) / size
	order := make([]int, len(ns))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ns[order[a]].Points > ns[order[b]].Points })
	h := make(blockHeap, nb)
	for b := range h {
		h[b] = &blockLoad{block: b, room: size}
	}
	h[nb-1].room = len(ns) - (nb-1)*size
	heap.Init(&h)
	members := make([][]int, nb)
	for _, i := range order {
		bl := h[0]
		members[bl.block] = append(members[bl.block], i)
		bl.points += ns[i].Points
		bl.room--
		if bl.room == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	out := make([]dotprops.NeuronInfo, 0, len(ns))
	for _, m := range members {
		sort.Ints(m)
		for _, i := range m {
			out = append(out, ns[i])
		}
	}
	return out
}

type blockLoad struct {
	block, room, points int
}

type blockHeap []*blockLoad

func (h blockHeap) Len() int { return len(h) }
func (h blockHeap) Less(i, j int) bool {
	if h[i].points != h[j].points {
		return h[i].points < h[j].points
	}
	return h[i].block < h[j].block
}
func (h blockHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *blockHeap) Push(x any)   { *h = append(*h, x.(*blockLoad)) }
func (h *blockHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// QueryBlocks and TargetBlocks are the number of blocks on each side.
func (p Plan) QueryBlocks() int { return (len(p.Queries) + p.BlockSize - 1) / p.BlockSize }

// TargetBlocks is the number of target blocks.
func (p Plan) TargetBlocks() int { return (len(p.Targets) + p.BlockSize - 1) / p.BlockSize }

// MeanQueryBlockPoints is the mean number of points of a query block.
func (p Plan) MeanQueryBlockPoints() int {
	if nb := p.QueryBlocks(); nb > 0 {
		return points(p.Queries) / nb
	}
	return 0
}

// QueryBlock returns the neurons of query block b.
func (p Plan) QueryBlock(b int) []dotprops.NeuronInfo { return blockOf(p.Queries, b, p.BlockSize) }

// TargetBlock returns the neurons of target block b.
func (p Plan) TargetBlock(b int) []dotprops.NeuronInfo { return blockOf(p.Targets, b, p.BlockSize) }

func blockOf(ns []dotprops.NeuronInfo, b, size int) []dotprops.NeuronInfo {
	return ns[b*size : min(len(ns), (b+1)*size)]
}

// WorkItems lists every (query block, target block) pair.
func (p Plan) WorkItems() []WorkItem {
	var items []WorkItem
	for q := range p.QueryBlocks() {
		for t := range p.TargetBlocks() {
			items = append(items, WorkItem{QB: q, TB: t})
		}
	}
	return items
}

// Cost predicts a work item's cost in query-point searches: every query
// point is searched in every target (and, when reverse, every target point
// in every query).
func (p Plan) Cost(w WorkItem, reverse bool) float64 {
	qs, ts := p.QueryBlock(w.QB), p.TargetBlock(w.TB)
	c := float64(points(qs)) * float64(len(ts))
	if reverse {
		c += float64(points(ts)) * float64(len(qs))
	}
	return c
}

// CostSpread returns the largest and the mean predicted work item cost; a
// ratio near 1 means the items are balanced.
func (p Plan) CostSpread(reverse bool) (maxCost, meanCost float64) {
	items := p.WorkItems()
	var sum float64
	for _, w := range items {
		c := p.Cost(w, reverse)
		sum += c
		maxCost = max(maxCost, c)
	}
	return maxCost, sum / float64(len(items))
}

func points(ns []dotprops.NeuronInfo) int {
	n := 0
	for _, x := range ns {
		n += x.Points
	}
	return n
}

// BlockExtent summarises a block for block-level bounds: the box around
// every neuron's box and the fewest and most points of a neuron.
type BlockExtent struct {
	Min, Max             [3]float64 // the box of the neurons' points, µm
	MinPoints, MaxPoints int
	// The box of the neurons' centroids, µm (inside Min, Max).
	CentroidMin, CentroidMax [3]float64
}

// blockExtent summarises ns (a non-empty block).
func blockExtent(ns []dotprops.NeuronInfo) BlockExtent {
	e := BlockExtent{Min: ns[0].Min, Max: ns[0].Max, MinPoints: ns[0].Points, MaxPoints: ns[0].Points,
		CentroidMin: ns[0].Centroid, CentroidMax: ns[0].Centroid}
	for _, n := range ns[1:] {
		for k := range 3 {
			e.Min[k], e.Max[k] = min(e.Min[k], n.Min[k]), max(e.Max[k], n.Max[k])
			e.CentroidMin[k], e.CentroidMax[k] = min(e.CentroidMin[k], n.Centroid[k]), max(e.CentroidMax[k], n.Centroid[k])
		}
		e.MinPoints, e.MaxPoints = min(e.MinPoints, n.Points), max(e.MaxPoints, n.Points)
	}
	return e
}

// QueryExtents and TargetExtents summarise every block of a side.
func (p Plan) QueryExtents() []BlockExtent { return extents(p.Queries, p.BlockSize) }

// TargetExtents summarises every target block.
func (p Plan) TargetExtents() []BlockExtent { return extents(p.Targets, p.BlockSize) }

func extents(ns []dotprops.NeuronInfo, size int) []BlockExtent {
	out := make([]BlockExtent, (len(ns)+size-1)/size)
	for b := range out {
		out[b] = blockExtent(blockOf(ns, b, size))
	}
	return out
}

// CanSkipBlocks is a block-level CanSkip: it reports true only if CanSkip
// would, bounding every pair of the two blocks at once by
// scoring.Scorer.ExtentBound over the blocks' boxes (no nearer than any
// pair's) and point counts (the bound is monotone in each count, so the
// fewest and most points bound it), in constant time instead of one
// bound per pair. q and t are the extents of the work item's blocks.
func (p Plan) CanSkipBlocks(w WorkItem, q, t BlockExtent, s *scoring.Scorer, mode scoring.Mode, threshold float64) bool {
	if p.AllByAll && w.QB == w.TB {
		return false
	}
	for _, qn := range [2]int{q.MinPoints, q.MaxPoints} {
		for _, tn := range [2]int{t.MinPoints, t.MaxPoints} {
			qe := scoring.Extent{Points: qn, Min: q.Min, Max: q.Max}
			te := scoring.Extent{Points: tn, Min: t.Min, Max: t.Max}
			if s.ExtentBound(mode, qe, te) >= threshold {
				return false
			}
		}
	}
	return true
}
