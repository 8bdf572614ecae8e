package scoring

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// f32Hit is what the float32 filter finds for a query point: the smallest
// float32 squared distance, the smallest among all other candidates, and
// 16*pair + lane of the first lane holding the smallest.
type f32Hit struct {
	best, second float32
	at           int64
}

// fma32 is a*b + c rounded once to float32.
func fma32(a, b, c float32) float32 {
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return a*b + c // no rounding question (the kernel meets no NaN)
	}
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
	f, _ := x.Float32() // rounds to nearest even
	return f
}

// q32Block lays out up to 8 points as a float32 block: 8 x, 8 y, 8 z, the
// missing ones +Inf.
func q32Block(qs [][3]float64) *[blockWords]float32 {
	var b [blockWords]float32
	for l := range blockSize {
		p := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		if l < len(qs) {
			p = qs[l]
		}
		b[l], b[8+l], b[16+l] = float32(p[0]), float32(p[1]), float32(p[2])
	}
	return &b
}

// f32FilterGo is the float32 filter's specification: over all candidate
// points (pair p holds blocks pairs[2p], pairs[2p+1]; lane L of a pair is
// point L%8 of its first block for L < 8, of its second otherwise), the
// smallest float32 distance, the first lane holding it (in that lane, the
// first pair), and the second smallest value of the whole multiset.
func f32FilterGo(q *[3]float32, pairs []int32, blocks32 []float32) f32Hit {
	inf := float32(math.Inf(1))
	var laneBest [16]float32
	var lanePair [16]int64
	for l := range laneBest {
		laneBest[l] = inf
	}
	var all []float32
	for p := 0; p < len(pairs)/2; p++ {
		for l := range 16 {
			blk := blocks32[int(pairs[2*p+l/8])*blockWords:]
			dx := float32(blk[l%8] - q[0])
			dy := float32(blk[8+l%8] - q[1])
			dz := float32(blk[16+l%8] - q[2])
			d := fma32(dz, dz, fma32(dy, dy, float32(dx*dx)))
			all = append(all, d)
			if d < laneBest[l] {
				laneBest[l], lanePair[l] = d, int64(p)
			}
		}
	}
	best, at := inf, int64(0)
	for l := range laneBest {
		if laneBest[l] < best {
			best, at = laneBest[l], lanePair[l]*16+int64(l)
		}
	}
	if best == inf { // every lane is +Inf: the first lane, pair 0
		at = 0
	}
	second, skipped := inf, false
	for _, d := range all {
		if d == best && !skipped {
			skipped = true
			continue
		}
		second = min(second, d)
	}
	return f32Hit{best: best, second: second, at: at}
}

// The float32 filter kernel settles a point (exact distance and slot) when
// the spec's second smallest exceeds the smallest plus the margin (in
// float64, rounded up to float32), and marks it (+Inf, -2) otherwise.
func TestF32FilterKernel(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		t.Skip("this CPU has no AVX-512")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var settled, marked int
	for trial := range 600 {
		nb := 1 + rng.IntN(12)
		blocks := make([]float64, (nb+1)*blockWords)
		for i := range blocks {
			blocks[i] = float64(rng.IntN(6)) // small grid: ties in and across lanes
			if trial%2 == 0 {
				blocks[i] += rng.Float64()
			}
			if i >= nb*blockWords || rng.IntN(10) == 0 { // padding
				blocks[i] = math.Inf(1)
			}
		}
		blocks32 := make([]float32, len(blocks))
		for i, v := range blocks {
			blocks32[i] = float32(v)
		}
		pairs := make([]int32, 2*(1+rng.IntN(6)))
		for i := range pairs {
			pairs[i] = int32(rng.IntN(nb + 1))
		}
		qs := make([][3]float64, 1+rng.IntN(8))
		for i := range qs {
			for k := range 3 {
				qs[i][k] = float64(rng.IntN(6))
				if trial%4 < 2 {
					qs[i][k] += rng.Float64()
				}
			}
		}
		margin := []float64{0, 1e-3, 0.1, 1}[trial%4]
		var got [8]groupHit
		searchGroup8F32AVX512(q32Block(qs), &pairs[0], len(pairs)/2, &blocks32[0], &qs[0], len(qs), &blocks[0], margin, &got)
		for i := range qs {
			q := [3]float32{float32(qs[i][0]), float32(qs[i][1]), float32(qs[i][2])}
			f := f32FilterGo(&q, pairs, blocks32)
			want := groupHit{d2: math.Inf(1), slot: -2}
			thr := float64(f.best) + margin // rounded up to float32
			t32 := float32(thr)
			if float64(t32) < thr {
				t32 = math.Nextafter32(t32, float32(math.Inf(1)))
			}
			if f.second > t32 {
				b := int64(pairs[2*(f.at>>4)+(f.at>>3)&1])
				l := f.at & 7
				p := [3]float64{blocks[b*blockWords+l], blocks[b*blockWords+8+l], blocks[b*blockWords+16+l]}
				want = groupHit{d2: sqDist(&qs[i], &p), slot: b*blockSize + l}
				settled++
			} else {
				marked++
			}
			if got[i] != want {
				t.Fatalf("trial %d point %d: kernel %+v, spec %+v (filter %+v)", trial, i, got[i], want, f)
			}
		}
	}
	t.Logf("%d points settled, %d left to the exact search", settled, marked)
}

// Edge cases of the float32 filter's certificate: a rival in the same lane
// (the same block twice), and a rival exactly at the threshold, which must
// be rounded up.
func TestF32FilterKernelEdges(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		t.Skip("this CPU has no AVX-512")
	}
	inf := math.Inf(1)
	newBlocks := func(pts ...[3]float64) []float64 { // one block of pts, then a +Inf block
		b := make([]float64, 2*blockWords)
		for i := range b {
			b[i] = inf
		}
		for l, p := range pts {
			b[l], b[8+l], b[16+l] = p[0], p[1], p[2]
		}
		return b
	}
	run := func(blocks []float64, pairs []int32, margin float64) groupHit {
		b32 := make([]float32, len(blocks))
		for i, v := range blocks {
			b32[i] = float32(v)
		}
		qs := [][3]float64{{0, 0, 0}}
		var hits [8]groupHit
		searchGroup8F32AVX512(q32Block(qs), &pairs[0], len(pairs)/2, &b32[0], &qs[0], 1, &blocks[0], margin, &hits)
		return hits[0]
	}
	// The nearest point, and the same block again in the same lanes of a
	// second pair: tied within a lane, so not settled.
	blocks := newBlocks([3]float64{1, 0, 0}, [3]float64{0, 5, 0})
	if h := run(blocks, []int32{0, 1}, 0.01); h.slot != 0 || h.d2 != 1 {
		t.Errorf("one copy: %+v, want slot 0 at 1", h)
	}
	if h := run(blocks, []int32{0, 1, 0, 1}, 0.01); h.slot != -2 {
		t.Errorf("the block twice: %+v, want slot -2", h)
	}
	// A rival whose float32 distance is the threshold rounded up: not
	// settled (rounding down would settle it).
	a := float32(1.0005)
	s2 := a * a                       // the rival's float32 distance
	margin := float64(s2) - 1 - 1e-12 // 1 + margin rounds up to s2
	at := newBlocks([3]float64{1, 0, 0}, [3]float64{0, float64(a), 0})
	if h := run(at, []int32{0, 1}, margin); h.slot != -2 {
		t.Errorf("rival at the threshold: %+v, want slot -2", h)
	}
	if h := run(at, []int32{0, 1}, margin-1e-6); h.slot != 0 {
		t.Errorf("rival just beyond the threshold: %+v, want slot 0", h)
	}
}

// The AVX-512 hintReach gives hintReach's bits on every leaf of random
// clouds (ties and grids included), against target points near and far.
func TestHintReachKernelMatchesGo(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		t.Skip("this CPU has no AVX-512")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 60 {
		tree, _ := buildKDTree(testCloud(rng, trial, 1+rng.IntN(300)))
		for qb, ni := range tree.blockNode {
			n := &tree.nodes[ni]
			qs := tree.pts[n.start:n.end]
			p := [3]float64{rng.Float64()*100 - 50, rng.Float64()*100 - 50, rng.Float64()*100 - 50}
			if rng.IntN(3) == 0 {
				p = qs[rng.IntN(len(qs))]
			}
			got := hintReachAVX512((*[blockWords]float64)(tree.blocks[qb*blockWords:]), len(qs), &p)
			if want := hintReach(qs, &p); got != want {
				t.Fatalf("trial %d leaf %d: %v, want %v", trial, qb, got, want)
			}
		}
	}
}
