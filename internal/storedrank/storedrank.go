// Package storedrank decides when a score stored as float32 (as a top-k
// file holds it) can stand in for the exact float64 score it was rounded
// from, so that an update of a top-k output need not score the pair again.
//
// The top-k sink ranks the values a query's candidates carry (descending,
// ties by target id) and writes them as float32. Rounding to float32 is
// monotone, so against any value whose float32 differs from a stored value
// v, float64(v) compares as the exact score s does; and float32(float64(v))
// is v, the value a fresh run writes. So float64(v) gives the same top-k
// rows as s unless another candidate's value has the same float32 (its
// order against s is then unknown) or float64(v) is below the threshold
// while s is not: then the pair must be scored again (Unsettled). While
// searching, LowerBound(v) bounds s from below, so a k-th best taken from
// such bounds is a lower bound on the exact one and pruning stays exact.
package storedrank

import "math"

// LowerBound is a float64 below every score that rounds to v as float32:
// the float32 just below v.
func LowerBound(v float32) float64 {
	return float64(math.Nextafter32(v, float32(math.Inf(-1))))
}

// Unsettled returns the entries of stored (indexes into vals, the values of
// one query's candidates, vals[i] = float64 of a stored float32 for i in
// stored) that may rank otherwise than the exact score: their float32 is
// shared by another value of vals, or they are below floor.
func Unsettled(vals []float64, stored []int, floor float64) []int {
	if len(stored) == 0 {
		return nil
	}
	count := make(map[float32]int, len(vals))
	for _, v := range vals {
		count[float32(v)]++
	}
	var out []int
	for _, i := range stored {
		if v := vals[i]; count[float32(v)] > 1 || v < floor {
			out = append(out, i)
		}
	}
	return out
}
