package storedrank

import (
	"math"
	"slices"
	"testing"
)

func TestLowerBound(t *testing.T) {
	for _, v := range []float32{1, 0.5, -0.25, 0, 1e-30, -3} {
		lb := LowerBound(v)
		if !(lb < float64(v)) || float32(lb) == v {
			t.Errorf("LowerBound(%v) = %v: not below every float64 that rounds to it", v, lb)
		}
		// The midpoint between lb and v (a score that rounds to v or to
		// lb) is above lb.
		if mid := (lb + float64(v)) / 2; !(mid > lb) {
			t.Errorf("LowerBound(%v) = %v: not below the midpoint %v", v, lb, mid)
		}
	}
}

func TestUnsettled(t *testing.T) {
	tie := float64(float32(0.7))
	exact := tie + 1e-12 // another score with the same float32
	vals := []float64{tie, 0.9, exact, float64(float32(0.5)), float64(float32(0.25)), float64(float32(0.1))}
	stored := []int{0, 3, 4, 5}
	got := Unsettled(vals, stored, 0.2)
	if want := []int{0, 5}; !slices.Equal(got, want) { // 0 ties with 2; 5 is below the floor
		t.Errorf("Unsettled = %v, want %v", got, want)
	}
	if got := Unsettled(vals, nil, math.Inf(-1)); got != nil {
		t.Errorf("Unsettled with nothing stored = %v", got)
	}
}
