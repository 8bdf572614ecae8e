package scoring

import (
	"math"
	"os"

	"golang.org/x/sys/cpu"
)

// useAVX2 and useAVX512 select the assembly kernels, which compute the same
// bits as the Go ones (each named as its kernel with Go for the ISA): the
// best the CPU has, or less with NBLAST_SIMD=avx2 or NBLAST_SIMD=go.
var (
	useAVX2   = cpu.X86.HasAVX2 && os.Getenv("NBLAST_SIMD") != "go"
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && os.Getenv("NBLAST_SIMD") != "avx2"
)

//go:noescape
func childGapsAVX2(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8

//go:noescape
func searchBottomAVX2(q *[3]float64, w *wideNode, blocks *float64, bound2 float64) (float64, int)

//go:noescape
func childGapsAVX512(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8

//go:noescape
func searchBottomAVX512(q *[3]float64, w *wideNode, blocks *float64, bound2 float64) (float64, int)

//go:noescape
func gatherAVX2(wide *wideNode, gb *box, r2 float64, out *int32, stack *int32) int

//go:noescape
func gatherAVX512(wide *wideNode, gb *box, r2 float64, out *int32, stack *int32) int

//go:noescape
func searchGroup8F32AVX512(qs *[blockWords]float32, pairs *int32, np int, blocks32 *float32, qs64 *[3]float64, m int, blocks *float64, margin float64, hits *[8]groupHit)

//go:noescape
func searchGroupF32AVX2(qs *[3]float64, m int, cands *int32, n int, blocks32 *float32, blocks *float64, margin float64, hits *groupHit)

//go:noescape
func searchGroupAVX2(qs *[3]float64, m int, cands *int32, n int, blocks *float64, hits *groupHit)

func childGaps(q *[3]float64, w *wideNode, bound2 float64, gaps *[wideFan]float64) uint8 {
	if useAVX512 {
		return childGapsAVX512(q, w, bound2, gaps)
	}
	if useAVX2 {
		return childGapsAVX2(q, w, bound2, gaps)
	}
	return childGapsGo(q, w, bound2, gaps)
}

func searchBottom(q *[3]float64, w *wideNode, blocks []float64, bound2 float64) (float64, int) {
	if useAVX512 {
		return searchBottomAVX512(q, w, &blocks[0], bound2)
	}
	if useAVX2 {
		return searchBottomAVX2(q, w, &blocks[0], bound2)
	}
	return searchBottomGo(q, w, blocks, bound2)
}

// gather: see groupScratch.gather, which sizes out and stack.
func (t *kdTree) gather(g *box, r2 float64, out, stack []int32) int {
	switch {
	case useAVX512:
		return gatherAVX512(&t.wide[0], g, r2, &out[0], &stack[0])
	case useAVX2:
		return gatherAVX2(&t.wide[0], g, r2, &out[0], &stack[0])
	}
	return len(t.gatherGo(0, g, r2, out[:0]))
}

// searchGroup is searchGroupGo, vectorised where the CPU allows, for the
// query points qs of block qb of tree qt. It is exact for the
// points whose nearest candidate is within r2, and reports no other point
// as within r2.
func searchGroup(qt *kdTree, qb int, qs [][3]float64, t *kdTree, cands []int32, r2 float64, hits *[blockSize]groupHit) {
	switch {
	case len(cands) == 0 || !useAVX2:
		searchGroupGo(qs, t, cands, hits)
	case useAVX512:
		searchGroupF32(qt, qb, qs, t, cands, r2, hits)
	default:
		searchGroupF32x8(qs, t, cands, r2, max(qt.maxAbs, t.maxAbs), hits)
	}
}

// searchGroupF32x8 is searchGroupAVX2 (the lowest slot of the nearest
// candidate) through the AVX2 float32 filter, 8 points per vector, for
// query and target coordinates of magnitude at most maxAbs: a point
// whose float32 nearest candidate lies within r2 (exactly, in sqDist) and
// beats every rival by more than f32Margin is exactly, and strictly, the
// nearest (a rival beyond sqrt(r2)+1, where the margin does not reach, is
// farther than sqrt(r2) anyway), so no tie can order it otherwise; every
// other point is searched exactly, so that a point not settled gets the
// very slot searchGroupAVX2 gives it (the hint of its own search).
func searchGroupF32x8(qs [][3]float64, t *kdTree, cands []int32, r2, maxAbs float64, hits *[blockSize]groupHit) {
	margin := f32Margin(maxAbs, math.Sqrt(r2)+1)
	searchGroupF32AVX2(&qs[0], len(qs), &cands[0], len(cands), &t.blocks32[0], &t.blocks[0], margin, &hits[0])
	for i := range qs {
		if h := &hits[i]; h.slot < 0 || !(h.d2 <= r2) {
			searchGroupAVX2(&qs[i], 1, &cands[0], len(cands), &t.blocks[0], h)
		}
	}
}

// searchGroupF32 runs the float32 filter kernel, which settles most points
// (f32Margin), and searches the others exactly. The margin is for the
// largest coordinate of either tree (the leaf's box would give a margin a
// little smaller, at the cost of six float max per group: 2% of the time
// of BenchmarkForwardSynthetic300); a settled point is the exact nearest
// with either.
func searchGroupF32(qt *kdTree, qb int, qs [][3]float64, t *kdTree, cands []int32, r2 float64, hits *[blockSize]groupHit) {
	m := t.maxAbs
	if qt.maxAbs > m {
		m = qt.maxAbs
	}
	pairs := cands
	if len(pairs)%2 != 0 {
		pairs = append(pairs, int32(len(t.blocks32)/blockWords-1)) // the +Inf block
	}
	q32 := (*[blockWords]float32)(qt.blocks32[qb*blockWords:])
	searchGroup8F32AVX512(q32, &pairs[0], len(pairs)/2, &t.blocks32[0], &qs[0], len(qs), &t.blocks[0], f32Margin(m, math.Sqrt(r2)+1), hits)
	for i := range qs {
		if hits[i].slot == -2 {
			searchGroupAVX2(&qs[i], 1, &cands[0], len(cands), &t.blocks[0], &hits[i])
		}
	}
}

//go:noescape
func cells8AVX512(qv *[3]float64, n int, tv *[3]float64, near *[blockSize]int32, d2 *[blockSize]float64, tab *cellTable, out *[blockSize]float64)

// cells8 is cells8Go, by the AVX-512 kernel where it runs.
func cells8(qv []([3]float64), n int, tv [][3]float64, near *[blockSize]int32, d2 *[blockSize]float64, tab *cellTable, out *[blockSize]float64) {
	if useAVX512 {
		cells8AVX512(&qv[0], n, &tv[0], near, d2, tab, out)
		return
	}
	cells8Go(qv, n, tv, near, d2, tab, out)
}

//go:noescape
func hintReachAVX512(q64 *[blockWords]float64, m int, p *[3]float64) float64

// hintReachLeaf is hintReach for the points qs of block qb of tree qt.
func hintReachLeaf(qt *kdTree, qb int, qs [][3]float64, p *[3]float64) float64 {
	if useAVX512 {
		return hintReachAVX512((*[blockWords]float64)(qt.blocks[qb*blockWords:]), len(qs), p)
	}
	return hintReach(qs, p)
}

//go:noescape
func minGap2AVX2(gb *box, bs *boxes8, n int) float64
