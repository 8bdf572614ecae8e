package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// minGap2 (every kernel) is the least dist2 from a box to a neuron's group
// boxes, to the bit, on boxes that overlap, touch, are points, or lie far
// apart, with 1 to 20 groups (padding in the last boxes8).
func TestMinGap2MatchesDist2(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 11))
		coord := func() float64 {
			switch r.IntN(4) {
			case 0:
				return float64(r.IntN(5)) // shared values: touching boxes
			case 1:
				return r.Float64() * 1e-3
			default:
				return (r.Float64() - 0.5) * 200
			}
		}
		randBox := func() box {
			var b box
			for k := range 3 {
				a, c := coord(), coord()
				if r.IntN(5) == 0 {
					c = a // flat on this axis
				}
				b.lo[k], b.hi[k] = min(a, c), max(a, c)
			}
			return b
		}
		for trial := range 2000 {
			groups := make([]group, 1+trial%20)
			for i := range groups {
				groups[i] = group{box: randBox(), n: 1}
			}
			g := randBox()
			want := math.Inf(1)
			for i := range groups {
				want = math.Min(want, g.dist2(&groups[i].box))
			}
			if got := minGap2(&g, groupBoxes(groups)); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("trial %d (%d groups): minGap2 %v (%#x), dist2 loop %v (%#x)", trial, len(groups), got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
	})
}
