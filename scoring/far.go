package scoring

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Far pairs under MaxDist. With a bounded search, a query point with no
// target point closer than MaxDist scores smat(MaxDist, 0) whatever the
// target, so a pair whose bounding boxes lie at least MaxDist apart has a
// score known without any search: the forward sum adds that one cell once
// per query point, in order, from 0. farRaw keeps those sums (they round,
// so n·cell is not the same number) and Far/FarScore give them, to the bit
// what the search gives.

// farTable holds farRaw's sums: sums[n] is n-fold repeated addition of
// smat(MaxDist, 0) from 0.
type farTable struct {
	mu   sync.Mutex
	sums atomic.Pointer[[]float64]
}

// farRaw is the raw forward score of a query of n points of which none has
// a target point within MaxDist: smat(MaxDist, 0) added n times from 0, in
// the order forwardRaw adds it. It is meaningful only with a bounded
// search.
func (s *Scorer) farRaw(n int) float64 {
	if p := s.far.sums.Load(); p != nil && n < len(*p) {
		return (*p)[n]
	}
	s.far.mu.Lock()
	defer s.far.mu.Unlock()
	var sums []float64
	if p := s.far.sums.Load(); p != nil {
		if n < len(*p) {
			return (*p)[n]
		}
		sums = *p
	}
	size := max(n+1, 2*len(sums), 1024)
	grown := make([]float64, size)
	copy(grown, sums)
	none := s.m.Score(s.opt.MaxDist, 0)
	for k := max(len(sums), 1); k < size; k++ {
		grown[k] = grown[k-1] + none
	}
	s.far.sums.Store(&grown)
	return grown[n]
}

// Bounded reports whether the scorer's search is bounded by MaxDist.
func (s *Scorer) Bounded() bool { return s.bound2 != math.Inf(1) }

// Far reports whether, under a bounded search, no point of a neuron with
// extent q lies within MaxDist of a point of one with extent t: then every
// point of either scores smat(MaxDist, 0) against the other, and FarScore
// gives the pair's exact score. It is false without MaxDist.
func (s *Scorer) Far(q, t Extent) bool {
	qb, tb := box{lo: q.Min, hi: q.Max}, box{lo: t.Min, hi: t.Max}
	return s.farBoxes(&qb, &tb)
}

// farBoxes is Far on boxes. The squared gap is summed as sqDist sums, each
// step rounding monotonically, so it is never above a true squared point
// distance: a gap of at least MaxDist² proves that the search, which keeps
// points with sqDist < MaxDist², finds none.
func (s *Scorer) farBoxes(a, c *box) bool {
	if !s.Bounded() {
		return false
	}
	var g [3]float64
	for k := range 3 {
		if a.lo[k] > c.hi[k] {
			g[k] = a.lo[k] - c.hi[k]
		} else if c.lo[k] > a.hi[k] {
			g[k] = c.lo[k] - a.hi[k]
		}
	}
	return float64(float64(g[0]*g[0])+float64(g[1]*g[1]))+float64(g[2]*g[2]) >= s.bound2
}

// FarForward is the forward score (raw or normalised) of a query of n
// points whose self-hit is self against a target Far from it.
func (s *Scorer) FarForward(n int, self float64) float64 {
	raw := s.farRaw(n)
	if s.opt.Normalized {
		return raw / self
	}
	return raw
}

// FarScore is the score under mode of a pair that Far proves far apart,
// from the neurons' extents and self-hits alone, with the bits ScoreBlock
// gives it (for Both, v is q→t and rev t→q; otherwise rev is 0). ok is
// false, and nothing is computed, when the pair is not far or is a neuron
// with itself in an all-by-all (sameID).
func (s *Scorer) FarScore(mode Mode, q, t Extent, qSelf, tSelf float64, sameID bool) (v, rev float64, ok bool) {
	if (s.opt.AllByAll && sameID) || !s.Far(q, t) {
		return 0, 0, false
	}
	f := s.FarForward(q.Points, qSelf)
	if mode == Forward {
		return f, 0, true
	}
	r := s.FarForward(t.Points, tSelf)
	switch mode {
	case Mean:
		return (f + r) / 2, 0, true
	case Min:
		return math.Min(f, r), 0, true
	case Max:
		return math.Max(f, r), 0, true
	}
	return f, r, true
}

// SelfHitOfPoints is the self-hit of a neuron of n points without
// use_alpha (n · smat(0, 1)), known without its points; ok is false with
// use_alpha, whose self-hit needs the alphas (SelfHit).
func (s *Scorer) SelfHitOfPoints(n int) (self float64, ok bool) {
	if s.opt.UseAlpha {
		return 0, false
	}
	return float64(n) * s.selfCell, true
}

// farLeaves disables forwardRaw's far-leaf shortcut (farLeaf), for tests
// that compare it with the plain search.
var farLeaves = true

// farLeaf reports whether, under a bounded search, no point of t lies
// within MaxDist of any point in box g: no block of t has a box gap below
// MaxDist² from g. forwardRaw then scores each point of a query leaf in g
// as smat(MaxDist, 0) without a search. The whole box is tried first;
// then, with the SIMD kernels and scratch sc, the gather (group.go) must
// find no block; otherwise the test walks t's wide tree from the root and
// stops at the first block near enough (the same blocks: TestKernelsMatchGo
// compares the gathers with gatherGo, which tests childGapsBoxGo's gaps).
// Box gaps round monotonically (childGapsBoxGo), never above a true
// squared point distance, so "far" is exact.
func (s *Scorer) farLeaf(g *box, t *Neuron, sc *groupScratch) bool {
	if !farLeaves || !s.Bounded() {
		return false
	}
	if s.farBoxes(g, &t.box) {
		return true
	}
	if len(t.tree.wide) == 0 {
		return true
	}
	// gap2 <= below ⟺ gap2 < bound2.
	below := math.Nextafter(s.bound2, 0)
	if useAVX2 && sc != nil {
		// Eight children at a time, with no early exit: less time
		// than the scalar walk (BenchmarkForwardSynthetic1000Auto).
		sc.gather(&t.tree, g, below)
		return len(sc.cands) == 0
	}
	return !t.tree.anyBlockWithin(0, g, below)
}

// anyBlockWithin reports whether some block under wide node wi has a box
// within squared distance r2 (gap2 <= r2) of g.
func (t *kdTree) anyBlockWithin(wi int32, g *box, r2 float64) bool {
	w := &t.wide[wi]
	m := childGapsBoxGo(g, w, r2)
	if w.bottom {
		return m != 0
	}
	for ; m != 0; m &= m - 1 {
		if t.anyBlockWithin(w.child[bits.TrailingZeros8(m)], g, r2) {
			return true
		}
	}
	return false
}
