package scoring

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Mode selects which score of a query/target pair is reported (navis'
// `scores` argument).
type Mode int

const (
	// Forward is the query→target score.
	Forward Mode = iota
	// Mean is (q→t + t→q) / 2, each direction normalised by its own query.
	Mean
	// Min is min(q→t, t→q).
	Min
	// Max is max(q→t, t→q).
	Max
	// Both keeps q→t and t→q as two matrices.
	Both
)

var modeNames = [...]string{"forward", "mean", "min", "max", "both"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// ParseMode parses navis' names: forward, mean, min, max, both.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if s == n {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown scores mode %q (want forward, mean, min, max or both)", s)
}

// NeedsReverse reports whether the mode uses the target→query direction.
func (m Mode) NeedsReverse() bool { return m != Forward }

// Options configure a Scorer. The zero value is raw forward FCWB scores with
// an exact, unbounded nearest-neighbour search.
type Options struct {
	// Matrix is the scoring matrix; nil means FCWB, or alpha-FCWB with UseAlpha.
	Matrix *Matrix
	// UseAlpha multiplies each |dot| by sqrt(alpha_q · alpha_t).
	UseAlpha bool
	// MaxDist bounds the nearest-neighbour search (µm): a query point with no
	// target point closer than MaxDist scores as d = MaxDist, |dot| = 0.
	// 0 or +Inf means unbounded (exact). Matrix.AutoMaxDist is navis' "auto".
	MaxDist float64
	// Normalized divides each forward score by the query's self-hit.
	Normalized bool
	// AllByAll gives a pair whose query and target have the same ID its exact
	// self-hit (1 when normalised) without a search, as navis.nblast_allbyall.
	AllByAll bool
	// Workers is the number of goroutines that score a block; 0 means
	// GOMAXPROCS.
	Workers int
	// Prune skips, in ScoreBlock, every pair whose UpperBound under the
	// block's mode is below Threshold: its score is below Threshold too, so a
	// caller that keeps only scores >= Threshold loses nothing. Skipped
	// pairs are NaN in the block.
	Prune     bool
	Threshold float64
}

// Scorer scores prepared neurons under fixed Options. It holds no per-pair
// state and is safe for concurrent use.
type Scorer struct {
	opt      Options
	m        *Matrix
	bound2   float64   // squared search bound, +Inf when unbounded
	beyond   []float64 // beyond[r] = best cell in distance rows >= r
	selfCell float64   // smat(0, 1)
	// noneCell is smat(MaxDist, 0), the score of a point with no target
	// point within MaxDist (MaxDist is 0 when unbounded; unused then).
	noneCell float64
	// maxAbsCell is the largest |cell|: no point's score exceeds it in
	// magnitude.
	maxAbsCell float64
	far        farTable // farRaw's sums
	// cells is the matrix for the vectorised scoring of a group
	// (cells.go); cellsOK: it applies (no alpha, a matrix it can count).
	cells   cellTable
	cellsOK bool
}

// NewScorer checks the options and prepares the lookups.
func NewScorer(opt Options) (*Scorer, error) {
	m := opt.Matrix
	if m == nil {
		m = FCWB()
		if opt.UseAlpha {
			m = AlphaFCWB()
		}
	}
	if math.IsNaN(opt.MaxDist) || opt.MaxDist < 0 {
		return nil, fmt.Errorf("max_dist must be a positive distance in µm, got %v", opt.MaxDist)
	}
	if opt.Workers < 0 {
		return nil, fmt.Errorf("workers must be >= 0, got %d", opt.Workers)
	}
	s := &Scorer{opt: opt, m: m, bound2: math.Inf(1), selfCell: m.Score(0, 1), noneCell: m.Score(opt.MaxDist, 0)}
	if opt.MaxDist > 0 && !math.IsInf(opt.MaxDist, 1) {
		s.bound2 = opt.MaxDist * opt.MaxDist
	}
	nd, nt := m.DistBins(), m.DotBins()
	s.beyond = make([]float64, nd)
	best := math.Inf(-1)
	for r := nd - 1; r >= 0; r-- {
		for _, c := range m.Cells[r*nt : (r+1)*nt] {
			best = math.Max(best, c)
		}
		s.beyond[r] = best
	}
	for _, c := range m.Cells {
		s.maxAbsCell = math.Max(s.maxAbsCell, math.Abs(c))
	}
	if !opt.UseAlpha {
		s.cells, s.cellsOK = newCellTable(m, s.noneCell)
	}
	return s, nil
}

// Options returns the options the scorer was made with.
func (s *Scorer) Options() Options { return s.opt }

// Matrix returns the scoring matrix in use.
func (s *Scorer) Matrix() *Matrix { return s.m }

// check reports an error when n cannot be scored under these options.
func (s *Scorer) check(n *Neuron) error {
	if s.opt.UseAlpha && !n.HasAlpha() {
		return fmt.Errorf("neuron %s has no alpha values, which use_alpha needs", n.ID)
	}
	return nil
}

// SelfHit is the raw score of a neuron against itself: n · smat(0, 1), or
// with alpha Σ smat(0, sqrt(alpha_i²)), as navis computes it.
func (s *Scorer) SelfHit(n *Neuron) float64 {
	if !s.opt.UseAlpha {
		return float64(len(n.pts)) * s.selfCell
	}
	var sum float64
	for _, a := range n.alpha {
		sum += s.m.Score(0, math.Sqrt(a*a))
	}
	return sum
}

// Pair returns the forward score q→t (raw or normalised per Options).
func (s *Scorer) Pair(q, t *Neuron) (float64, error) {
	if err := s.check(q); err != nil {
		return 0, err
	}
	if err := s.check(t); err != nil {
		return 0, err
	}
	return s.forward(q, t, s.SelfHit(q)), nil
}

// forward scores q→t given q's self-hit.
func (s *Scorer) forward(q, t *Neuron, selfHit float64) float64 {
	v, _ := s.forwardAtLeast(q, t, selfHit, math.Inf(-1))
	return v
}

// forwardAtLeast is forward, except that it gives up on a pair (NaN, true)
// as soon as the points scored so far and a bound on the rest prove its
// score below thr (raw or normalised, as the scorer reports scores). A pair
// it scores in full has forward's value to the bit. thr = -Inf never gives
// up.
func (s *Scorer) forwardAtLeast(q, t *Neuron, selfHit, thr float64) (float64, bool) {
	return s.forwardAtLeastCells(q, t, selfHit, thr, nil, nil)
}

// forwardAtLeastCells is forwardAtLeast given q's groupCells and
// leafBounds against t (nil: not known yet).
func (s *Scorer) forwardAtLeastCells(q, t *Neuron, selfHit, thr float64, cells []float64, leaves []leafRest) (float64, bool) {
	var raw float64
	if s.opt.AllByAll && q.ID == t.ID {
		raw = selfHit
	} else if s.farBoxes(&q.box, &t.box) {
		raw = s.farRaw(len(q.pts)) // no search finds a point: see far.go
	} else {
		cut := cutoff{thr: thr, self: 1, cells: cells, leaves: leaves}
		if s.opt.Normalized {
			cut.self = selfHit
		}
		var gaveUp bool
		if raw, gaveUp = s.forwardRaw(q, t, cut); gaveUp {
			return math.NaN(), true
		}
	}
	if s.opt.Normalized {
		return raw / selfHit, false
	}
	return raw, false
}

// cutoff is the score below which forwardRaw may give up on a pair: thr,
// compared with raw/self (self = 1 for raw scores). Division by the same
// positive self-hit is monotone, so a raw bound whose quotient is below thr
// proves the score's is too.
//
// cells, when not nil, are q's groupCells against t, which the caller
// already computed for its own bounds (forwardRaw then does not again);
// leaves, likewise, q's leafBounds against t.
type cutoff struct {
	thr, self float64
	cells     []float64
	leaves    []leafRest // q's leafBounds against t, when the caller has them
}

// active reports whether the cutoff can ever give up.
func (c cutoff) active() bool { return !math.IsInf(c.thr, -1) && c.self > 0 }

// below reports whether a raw score of at most upper is below the cutoff.
func (c cutoff) below(upper float64) bool { return upper/c.self < c.thr }

// forwardRaw is Σ over q's points of smat(d, |dot|) against their nearest
// points in t. It allocates nothing (its scratch is pooled).
//
// q's points are taken a leaf at a time, as a group (see group.go), with a
// radius r that follows the nearest-neighbour distances of the previous
// group; a point the group search does not settle is searched alone in t's
// tree, from the previous point's neighbour. A group whose r would be too
// large to pay (a far group) is searched with the radius the previous
// point's neighbour proves instead (hintReach), which settles all its
// points; so is a group with no previous neighbour (the first), from a
// target point found cheaply (seed), and, under MaxDist, a group that
// leaves two or more points unsettled (searched again). Without SIMD
// kernels every point is searched alone: brute force over a group's
// candidates is what SIMD makes cheap.
//
// Ties: among equidistant target points, a point settled by a group search
// gets the lowest slot (tree position), one searched alone the first its
// search finds (nearest). Which points a group settles therefore decides
// an exact tie; far groups went to the search alone before they were
// grouped (the reference sets and a synthetic brain have no such tie: the
// same bits either way).
//
// Under MaxDist, a leaf with no target block within MaxDist of its box
// (farLeaf) scores smat(MaxDist, 0) per point with no gather and no
// search, with the same bits and the same state carried to the next leaf.
//
// With an active cutoff it gives up (gaveUp) before a leaf when the sum so
// far, plus for every point not yet scored the best cell its UpperBound
// group can reach in t, plus a rounding margin, is below the cutoff. The
// sum is taken in the same order either way, so a pair scored in full has
// the same bits with or without a cutoff.
func (s *Scorer) forwardRaw(q, t *Neuron, cut cutoff) (sum float64, gaveUp bool) {
	sc := groupPool.Get().(*groupScratch)
	defer groupPool.Put(sc)
	tt := &t.tree
	hint := int32(-1)
	r2 := groupRadius * groupRadius
	check := cut.active()
	rest := cut.leaves
	if check && rest == nil {
		sc.leaves = grow(sc.leaves, len(q.tree.blockNode))
		rest = sc.leaves
		if _, gaveUp := s.leafBounds(q, t, s.restBounds(q, t, sc, cut.cells), rest, cut); gaveUp {
			return sum, true
		}
	}
	for qb, ni := range q.tree.blockNode {
		n := &q.tree.nodes[ni]
		qs := q.pts[n.start:n.end]
		if check {
			r := &rest[qb]
			// Each addition rounds by at most 2^-53 of the magnitudes
			// summed; 1e-9 of them covers neurons of up to 10^6 points.
			margin := (float64(n.start)*s.maxAbsCell+r.fromAbs)*1e-9 + 1e-300
			if cut.below(sum + r.from + margin) {
				return sum, true
			}
		}
		// The far test is skipped when the last neighbour found lies
		// within MaxDist of the leaf's first point: then the leaf is not
		// far (and the test, a shortcut only, would say so).
		if !(hint >= 0 && sqDist(&qs[0], &tt.pts[hint]) < s.bound2) && s.farLeaf(&n.box, t, sc) {
			// No point of t within MaxDist: the code below would give
			// every point j = -1 too, and leave the state it carries
			// as here. hint: the gather finds no block with a gap
			// below MaxDist², so a point not settled has no candidate
			// to hint from (with gr2 < MaxDist² none at all; with gr2
			// = MaxDist² every point is settled or "nothing within"),
			// and nearest finds nothing; r2: worst stays 0, and
			// (sqrt(0)+groupSlack)² is groupSlack², exactly. One
			// difference: with no hint yet, the code below would
			// seed one (a point of t beyond MaxDist), which only
			// steers later searches (no score depends on where a
			// search starts, but for an exact tie between points
			// that a search alone must choose from).
			var near [blockSize]int32
			for k := range qs {
				near[k] = -1
			}
			sum = s.scoreGroup(sum, q, t, n.start, near[:len(qs)], nil)
			r2 = groupSlack * groupSlack
			continue
		}
		gr2 := min(r2, s.bound2)
		grouped := useAVX2 && gr2 <= groupMaxRadius*groupMaxRadius
		if useAVX2 && hint < 0 && len(tt.wide) > 0 {
			// No hint yet (the first group, or the first after far
			// leaves): a target point near the first point (seed)
			// makes one, and the group is searched within its reach
			// as a far group. Left to the default radius, a group far
			// from t would settle none of its points and search each
			// alone, the first from the root.
			hint, grouped = tt.seed(&qs[0]), false
		}
		far := false
		if !grouped && useAVX2 && hint >= 0 {
			// A far group: search it as a group within the hint's
			// reach, which settles every point (hintReach).
			gr2, grouped, far = min(hintReachLeaf(&q.tree, qb, qs, &tt.pts[hint]), s.bound2), true, true
		}
		if grouped {
			sc.gather(tt, &n.box, gr2)
			searchGroup(&q.tree, qb, qs, tt, sc.cands, gr2, &sc.hits)
			if !far && hint >= 0 && s.Bounded() && gr2 < s.bound2 && unsettled(sc.hits[:len(qs)], gr2) >= 2 {
				// Under MaxDist, a group that left the target's
				// vicinity is searched again as a far group
				// (settling every point) rather than its points
				// alone: a search alone for a point with no target
				// point within MaxDist must prove that, which
				// costs more than the group search
				// (BenchmarkForwardSynthetic1000Auto: 11% less
				// time). Unbounded, the searches alone cost less
				// (BenchmarkForwardExamples: 3% more time with
				// the group search).
				gr2 = min(hintReachLeaf(&q.tree, qb, qs, &tt.pts[hint]), s.bound2)
				sc.gather(tt, &n.box, gr2)
				searchGroup(&q.tree, qb, qs, tt, sc.cands, gr2, &sc.hits)
			}
		}
		// Each point's nearest neighbour (-1: none within MaxDist).
		var near [blockSize]int32
		var dist2 [blockSize]float64
		worst := 0.0
		if far && !s.Bounded() {
			// Unbounded, a far group settles every point
			// (hintReach): the loop below without its cases.
			for k := range qs {
				h := &sc.hits[k]
				near[k], dist2[k] = tt.slotPos[h.slot], h.d2
				if h.d2 > worst {
					worst = h.d2
				}
			}
			hint = near[len(qs)-1]
			sum = s.scoreLeaf(sum, q, t, n.start, len(qs), &near, &dist2)
			rr := math.Sqrt(worst) + groupSlack
			r2 = rr * rr
			continue
		}
		for k := range qs {
			var j int32
			var d2 float64
			switch h := &sc.hits[k]; {
			case grouped && h.d2 <= gr2: // settled
				j, d2 = tt.slotPos[h.slot], h.d2
				if !(d2 < s.bound2) {
					j = -1
				}
			case grouped && gr2 >= s.bound2: // nothing within MaxDist
				j = -1
			default: // from the group's best, if any
				if grouped && h.slot >= 0 {
					hint = tt.slotPos[h.slot]
				}
				j, d2 = tt.nearest(&qs[k], hint, s.bound2)
			}
			near[k], dist2[k] = j, d2
			if j >= 0 {
				if d2 > worst { // max for distances, never NaN
					worst = d2
				}
				hint = j
			}
		}
		sum = s.scoreLeaf(sum, q, t, n.start, len(qs), &near, &dist2)
		rr := math.Sqrt(worst) + groupSlack
		r2 = rr * rr
	}
	return sum, false
}

// unsettled is the number of hits farther than r2 (no candidate within
// it).
func unsettled(hits []groupHit, r2 float64) int {
	n := 0
	for i := range hits {
		if !(hits[i].d2 <= r2) {
			n++
		}
	}
	return n
}

// hintReach is the largest squared distance (sqDist) from a point of qs
// to the target point p. Every point of qs then has its nearest target
// point within it, and that point's block within it of qs' box (box gaps
// round down, never above sqDist), so a group search with this radius
// gathers every point's nearest neighbour and settles every point. Far
// from the target, where the nearest neighbours lie tens of µm away and
// consecutive groups' neighbours close together, the radius exceeds the
// nearest distances by little, and the blocks within it form a thin shell
// at the nearest distance: few candidates where a ball of that radius
// around each point would hold many.
func hintReach(qs [][3]float64, p *[3]float64) float64 {
	u := 0.0
	for i := range qs {
		if d2 := sqDist(&qs[i], p); d2 > u { // max, never NaN
			u = d2
		}
	}
	return u
}

// groupRest is, for one UpperBound group of a query: the best cell any of
// its points can score against the target (cell), and the bound on the
// raw score of all the groups after it (after; afterAbs sums the bounds'
// magnitudes, for the rounding margin).
type groupRest struct{ cell, after, afterAbs float64 }

// restBounds returns q's groups' groupRest against t, in sc's scratch: the
// same cells as UpperBound's (groupCells), taken from cells when the
// caller has them.
func (s *Scorer) restBounds(q, t *Neuron, sc *groupScratch, cells []float64) []groupRest {
	if cap(sc.rest) < len(q.groups) {
		sc.rest = make([]groupRest, len(q.groups))
	}
	rest := sc.rest[:len(q.groups)]
	if len(cells) != len(q.groups) {
		if cap(sc.cells) < len(q.groups) {
			sc.cells = make([]float64, len(q.groups))
		}
		cells = sc.cells[:len(q.groups)]
		s.groupCells(q, t, cells)
	}
	for gi := range rest {
		rest[gi].cell = cells[gi]
	}
	var after, abs float64
	for gi := len(rest) - 1; gi >= 0; gi-- {
		rest[gi].after, rest[gi].afterAbs = after, abs
		n := float64(q.groups[gi].n)
		after += n * rest[gi].cell
		abs += n * math.Abs(rest[gi].cell)
	}
	return rest
}

// leafRest bounds the points of q from one leaf on: from, the sum of
// their best cells against t, and fromAbs, the sum of their magnitudes.
type leafRest struct{ from, fromAbs float64 }

// leafBounds sets rest[li], for each leaf li of q (in tree order), to a
// bound on q's points from that leaf on against t, and returns a bound on
// the raw q→t score, or gaveUp when the bounds alone already prove the
// pair below cut. A point of a leaf is no nearer any point of t than the
// leaf's box is to the nearest of t's leaves' boxes, so it scores at most
// beyondAt of that gap (minGap2 over t.lboxes); its group's cell (groups,
// from restBounds: a gap to t's groups) bounds it too, and the lower of the
// two is taken. Leaves whose group's cell is already the least any cell
// can be are left as they are. It gives up as soon as the bound on every
// point, refined leaf by leaf, is below the cutoff.
//
// Measured on 10,000 synthetic neurons, the pairs a top-20 search gave up
// on were bounded at 0.39 on average (normalised forward score) from the
// groups, at -0.07 from the leaves, and scored -0.29.
func (s *Scorer) leafBounds(q, t *Neuron, groups []groupRest, rest []leafRest, cut cutoff) (bound float64, gaveUp bool) {
	total := 0.0 // the bound on every point, the groups' cells refined leaf by leaf
	if len(groups) > 0 {
		total = float64(q.groups[0].n)*groups[0].cell + groups[0].after
	}
	// The running total rounds at most 2^-53 of the magnitudes at each
	// of its 2·(leaves) steps: 1e-9 of n·maxAbsCell covers it.
	margin := float64(len(q.pts))*s.maxAbsCell*1e-9 + 1e-300
	floor := s.beyond[len(s.beyond)-1]
	gi, groupEnd := -1, int32(0)
	for li, ni := range q.tree.blockNode {
		n := &q.tree.nodes[ni]
		for groupEnd <= n.start {
			gi++
			groupEnd += int32(q.groups[gi].n)
		}
		c := groups[gi].cell
		if c > floor && len(t.lboxes) > 0 {
			if lc := s.beyondAt2(minGap2(&n.box, t.lboxes)); lc < c {
				total -= float64(n.end-n.start) * (c - lc)
				c = lc
				if cut.active() && cut.below(total+margin) {
					return 0, true
				}
			}
		}
		rest[li].from = c // the leaf's cell, until the sums below
	}
	var from, abs float64
	for li := len(rest) - 1; li >= 0; li-- {
		n := &q.tree.nodes[q.tree.blockNode[li]]
		k, c := float64(n.end-n.start), rest[li].from
		from += k * c
		abs += k * math.Abs(c)
		rest[li] = leafRest{from, abs}
	}
	return total + margin, false
}

// grow returns b with length n, reallocated if too short.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// scoreGroup adds to sum, in order, the scores of q's points from position
// start on against their nearest points near (in t; -1: none within
// MaxDist) at squared distances d2.
func (s *Scorer) scoreGroup(sum float64, q, t *Neuron, start int32, near []int32, d2 []float64) float64 {
	m := s.m
	if !m.fast2 || s.opt.UseAlpha {
		for k, j := range near {
			if j < 0 {
				sum += s.noneCell
				continue
			}
			i := start + int32(k)
			dot := absDot(&q.vecs[i], &t.vecs[j])
			if s.opt.UseAlpha {
				dot *= math.Sqrt(q.alpha[i] * t.alpha[j])
			}
			sum += m.Score(math.Sqrt(d2[k]), dot)
		}
		return sum
	}
	// The same, with Score's table bins inlined (d and dot are >= 0; the
	// distance binned squared, so without a square root) and no calls in
	// the loop, so that the tables stay in registers.
	none := s.noneCell
	dist2, dotb, cells, nDot := m.dist2, m.dot, m.Cells, m.nDot
	qv, tv := q.vecs[start:], t.vecs
	for k, j := range near {
		if j < 0 {
			sum += none
			continue
		}
		dot := absDot(&qv[k], &tv[j])
		sum += cells[dist2.binFast(d2[k])*nDot+dotb.binFast(dot)]
	}
	return sum
}

// scoreLeaf is scoreGroup for the n <= blockSize points of a query leaf,
// near[:n] and d2[:n], with their cells computed 8 at a time by the
// AVX-512 kernel where it runs (cells.go); the sum is taken point by point
// in order either way.
func (s *Scorer) scoreLeaf(sum float64, q, t *Neuron, start int32, n int, near *[blockSize]int32, d2 *[blockSize]float64) float64 {
	if !useAVX512 || !s.cellsOK || len(t.vecs) == 0 {
		return s.scoreGroup(sum, q, t, start, near[:n], d2[:n])
	}
	var c [blockSize]float64
	cells8(q.vecs[start:], n, t.vecs, near, d2, &s.cells, &c)
	for _, v := range c[:n] {
		sum += v
	}
	return sum
}

// absDot is |v·w|, summed in x, y, z order with each product rounded.
func absDot(v, w *[3]float64) float64 {
	return math.Abs(float64(float64(v[0]*w[0])+float64(v[1]*w[1])) + float64(v[2]*w[2]))
}

// Group search radii (µm): the first group's, the margin added to the
// largest distance a group found to make the next group's, and the largest
// worth searching as a group. Measured on navis' examples: a slack of 0.5,
// 0.75, 1 or 1.5 costs about the same (fewer candidates, more points left to
// the tree search, or the reverse); a radius derived from the median, or
// fixed, costs 30-55% more (candidate blocks scanned plus points left over).
const (
	groupRadius    = 3.0
	groupSlack     = 1.0
	groupMaxRadius = 12.0
)

var groupPool = sync.Pool{New: func() any { return new(groupScratch) }}

// SIMD names the kernels that score on this machine: "AVX-512", "AVX2" or
// "none" (pure Go). Results are the same bits with any of them.
func SIMD() string {
	switch {
	case useAVX512:
		return "AVX-512"
	case useAVX2:
		return "AVX2"
	}
	return "none"
}

// Float is the element type of a score block.
type Float interface{ ~float32 | ~float64 }

// ScoreBlock scores every query against every target under mode and writes
// row-major results (len(queries) × len(targets)) to out; for Both, out gets
// the forward and rev the reverse (target→query) scores, and rev is ignored
// otherwise. The pairs are shared among s's workers; scoring allocates
// nothing per pair. Values are computed in float64 and rounded to F once.
// With Options.Prune it returns how many pairs it skipped (NaN in out).
func ScoreBlock[F Float](s *Scorer, mode Mode, queries, targets []*Neuron, out, rev []F) (pruned int, err error) {
	nq, nt := len(queries), len(targets)
	if len(out) != nq*nt {
		return 0, fmt.Errorf("score block: out has %d cells, want %d×%d", len(out), nq, nt)
	}
	if mode == Both && len(rev) != nq*nt {
		return 0, fmt.Errorf("score block: rev has %d cells, want %d×%d", len(rev), nq, nt)
	}
	for _, n := range queries {
		if err := s.check(n); err != nil {
			return 0, err
		}
	}
	for _, n := range targets {
		if err := s.check(n); err != nil {
			return 0, err
		}
	}
	qSelf := s.selfHits(queries)
	tSelf := s.selfHits(targets)
	skip := s.pruneMask(mode, queries, targets)
	for _, sk := range skip {
		if sk {
			pruned++
		}
	}
	nan := math.NaN()
	// Forward scores below the threshold are not wanted: a pair may be
	// given up as soon as its points prove that.
	cut := math.Inf(-1)
	if skip != nil && mode == Forward {
		cut = s.opt.Threshold
	}
	var gaveUp atomic.Int64
	fwd := make([]float64, nq*nt)
	s.parallel(nq*nt, func(k int) {
		i, j := k/nt, k%nt
		if skip != nil && skip[k] {
			fwd[k] = nan
			return
		}
		var g bool
		if fwd[k], g = s.forwardAtLeast(queries[i], targets[j], qSelf[i], cut); g {
			gaveUp.Add(1)
		}
	})
	pruned += int(gaveUp.Load())
	if !mode.NeedsReverse() {
		for k, v := range fwd {
			out[k] = F(v)
		}
		return pruned, nil
	}
	bwd := make([]float64, nq*nt)
	if slices.Equal(queries, targets) { // the same neurons, not equal copies
		for i := 0; i < nq; i++ {
			for j := 0; j < nt; j++ {
				bwd[i*nt+j] = fwd[j*nt+i]
			}
		}
	} else {
		s.parallel(nq*nt, func(k int) {
			i, j := k/nt, k%nt
			if skip != nil && skip[k] {
				bwd[k] = nan
				return
			}
			bwd[k] = s.forward(targets[j], queries[i], tSelf[j])
		})
	}
	for k := range fwd {
		switch mode {
		case Mean:
			out[k] = F((fwd[k] + bwd[k]) / 2)
		case Min:
			out[k] = F(math.Min(fwd[k], bwd[k]))
		case Max:
			out[k] = F(math.Max(fwd[k], bwd[k]))
		case Both:
			out[k], rev[k] = F(fwd[k]), F(bwd[k])
		}
	}
	return pruned, nil
}

// pruneMask marks the pairs whose bound is below the threshold (nil when not
// pruning). The mask is symmetric in what it needs: a pair skipped forward
// is skipped in reverse too, since its combined bound covers both.
func (s *Scorer) pruneMask(mode Mode, queries, targets []*Neuron) []bool {
	if !s.opt.Prune {
		return nil
	}
	nt := len(targets)
	skip := make([]bool, len(queries)*nt)
	s.parallel(len(skip), func(k int) {
		q, t := queries[k/nt], targets[k%nt]
		if s.opt.AllByAll && q.ID == t.ID {
			return
		}
		// Cheapest bound first: extents, then groups against the box, then
		// groups against groups.
		thr := s.opt.Threshold
		skip[k] = s.ExtentBound(mode, q.Extent(), t.Extent()) < thr ||
			s.GroupBound(mode, q, t) < thr || s.UpperBound(mode, q, t) < thr
	})
	return skip
}

func (s *Scorer) selfHits(ns []*Neuron) []float64 {
	h := make([]float64, len(ns))
	for i, n := range ns {
		h[i] = s.SelfHit(n)
	}
	return h
}

// parallel runs f(0..n-1) on s's workers, handing out indices one at a time
// (pairs differ in cost by orders of magnitude, so static slices would leave
// workers idle).
func (s *Scorer) parallel(n int, f func(int)) {
	w := s.opt.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if w > n {
		w = n
	}
	if w <= 1 {
		for k := 0; k < n; k++ {
			f(k)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for range w {
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				f(k)
			}
		}()
	}
	wg.Wait()
}
