package smart

import (
	"fmt"
	"math"
	"slices"

	"github.com/nblast-go/nblast/scoring"
)

// Factor is navis.nblast_smart's downsampling factor.
const Factor = 10

// Downsample returns d with every factor-th point (0, factor, 2·factor, …),
// tangents and alpha kept, as navis' Dotprops.downsample: a neuron with at
// most factor points is returned unchanged (d itself). d is not modified.
func Downsample(d *scoring.Dotprops, factor int) *scoring.Dotprops {
	n := d.Len()
	if factor <= 1 || n <= factor {
		return d
	}
	m := (n + factor - 1) / factor
	out := &scoring.Dotprops{ID: d.ID, Points: make([][3]float64, 0, m), Vectors: make([][3]float64, 0, m)}
	alpha := d.HasAlpha()
	if alpha {
		out.Alpha = make([]float64, 0, m)
	}
	for i := 0; i < n; i += factor {
		out.Points = append(out.Points, d.Points[i])
		if i < len(d.Vectors) {
			out.Vectors = append(out.Vectors, d.Vectors[i])
		}
		if alpha {
			out.Alpha = append(out.Alpha, d.Alpha[i])
		}
	}
	return out
}

// Criterion is how nblast_smart selects the pairs to rescore in a row.
type Criterion int

const (
	// Percentile selects pre-scores >= the row's t-th percentile (numpy's
	// linear interpolation over every cell of the row).
	Percentile Criterion = iota
	// ScoreAbove selects pre-scores >= t.
	ScoreAbove
	// TopN selects the t best pre-scores of the row.
	TopN
)

var criterionNames = [...]string{"percentile", "score", "N"}

func (c Criterion) String() string {
	if c < 0 || int(c) >= len(criterionNames) {
		return fmt.Sprintf("Criterion(%d)", int(c))
	}
	return criterionNames[c]
}

// ParseCriterion parses navis' names: percentile, score, N.
func ParseCriterion(s string) (Criterion, error) {
	for i, n := range criterionNames {
		if s == n {
			return Criterion(i), nil
		}
	}
	return 0, fmt.Errorf("unknown criterion %q (want percentile, score or N)", s)
}

// CheckT checks t for criterion c with n targets per row, as navis
// does: percentile 0 < t < 100, N an integer 0 <= t <= n, score any finite
// value.
func CheckT(c Criterion, t float64, n int) error {
	switch {
	case math.IsNaN(t) || math.IsInf(t, 0):
		return fmt.Errorf("t = %v: want a finite number", t)
	case c == Percentile && !(t > 0 && t < 100):
		return fmt.Errorf("t = %v: the percentile criterion wants 0 < t < 100", t)
	case c == TopN && (t != math.Trunc(t) || t < 0 || t > float64(n)):
		return fmt.Errorf("t = %v: the N criterion wants a whole number of targets between 0 and %d", t, n)
	}
	return nil
}

// NumpyPercentile is numpy.percentile(row, t) with the default (linear)
// method: the sorted values at virtual index (t/100)·(n−1), interpolated
// as numpy's _lerp does (a + (b−a)·g, or b − (b−a)·(1−g) for g >= 0.5).
// row is not modified; NaN-free input is assumed.
func NumpyPercentile(row []float64, t float64) float64 {
	n := len(row)
	if n == 0 {
		return math.NaN()
	}
	v := slices.Clone(row)
	slices.Sort(v)
	virt := (t / 100) * float64(n-1)
	prev := math.Floor(virt)
	g := virt - prev
	lo := min(max(int(prev), 0), n-1)
	hi := min(lo+1, n-1)
	a, b := v[lo], v[hi]
	d := b - a
	if g >= 0.5 {
		return b - d*(1-g)
	}
	return a + d*g
}

// Select marks in sel (len(row)) the cells of one query row that
// nblast_smart rescores under criterion c with threshold t: percentile and
// score select pre-scores >= the cut (ties included), N the t best (ties
// broken as numpy's argsort(...)[::-1] does for short rows: the later
// column first).
func Select(c Criterion, t float64, row []float64, sel []bool) {
	switch c {
	case Percentile, ScoreAbove:
		cut := t
		if c == Percentile {
			cut = NumpyPercentile(row, t)
		}
		for j, v := range row {
			sel[j] = v >= cut
		}
	case TopN:
		clear(sel)
		idx := make([]int, len(row))
		for j := range idx {
			idx[j] = j
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return b - a // equal scores: the later column first
		})
		for _, j := range idx[:min(int(t), len(idx))] {
			sel[j] = true
		}
	}
}
