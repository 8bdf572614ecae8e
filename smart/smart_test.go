package smart

import (
	"math"
	"slices"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

// TestNumpyPercentile: numpy.percentile's default (linear) method, values
// checked by hand and against numpy 1.24 (np.percentile(a, t), printed
// with repr): the bits must agree, since a pre-score equal to the cut is
// selected.
func TestNumpyPercentile(t *testing.T) {
	for _, c := range []struct {
		row  []float64
		t    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 50, 2.5},    // virtual index 1.5: halfway
		{[]float64{1, 2, 3, 4, 5}, 90, 4.6}, // 3.6: 5 - (5-4)·0.4
		{[]float64{3, 1, 2}, 10, 1.2},       // unsorted input; 0.2: 1 + 0.2
		{[]float64{0.5, -1, 7, 7}, 75, 7},   // 2.25 between equal values
		{[]float64{0.1, 0.7, 0.2}, 33, 0.166},
		{[]float64{0.3, -0.02, 0.9, 0.41, 0.41, 0.05, -0.1}, 90, 0.6060000000000002},
		{[]float64{5}, 50, 5},
		{[]float64{2, 9, 4, 1, 7}, 50, 4}, // odd length: the median itself
	} {
		in := slices.Clone(c.row)
		if got := NumpyPercentile(c.row, c.t); got != c.want {
			t.Errorf("percentile(%v, %v) = %.17g, numpy %.17g", c.row, c.t, got, c.want)
		}
		if !slices.Equal(in, c.row) {
			t.Errorf("percentile modified its input: %v", c.row)
		}
	}
}

func TestSelect(t *testing.T) {
	b := func(s string) []bool {
		out := make([]bool, len(s))
		for i := range s {
			out[i] = s[i] == '1'
		}
		return out
	}
	for _, c := range []struct {
		crit Criterion
		t    float64
		row  []float64
		want []bool
	}{
		// percentile 50 of 5 values is the 3rd smallest (0.3): it and
		// everything above, ties included.
		{Percentile, 50, []float64{0.1, 0.3, 0.9, 0.3, -0.5}, b("01110")},
		// percentile 90 of 4 values: virtual index 2.7, 0.9 − 0.4·0.3 = 0.78: only 0.9
		{Percentile, 90, []float64{0.2, 0.9, 0.5, -0.1}, b("0100")},
		// a row where most cells are tied at the bottom (far pairs under
		// max_dist auto): the cut is the tied value, so every cell is
		// selected, as numpy's >= selects them in navis.
		{Percentile, 50, []float64{-0.4, -0.4, -0.4, 0.8, -0.4}, b("11111")},
		{ScoreAbove, 0.5, []float64{0.1, 0.5, 0.50000001, -0.2}, b("0110")},
		{ScoreAbove, -1, []float64{-0.99, -1.01}, b("10")},
		// top 2: 0.9, then of the tied 0.3s the later column, as
		// numpy's argsort(...)[::-1] gives [1 2 0 3].
		{TopN, 2, []float64{0.3, 0.9, 0.3, 0.1}, b("0110")},
		{TopN, 0, []float64{0.3, 0.9}, b("00")},
		{TopN, 3, []float64{0.3, 0.9}, b("11")},
		{TopN, 1, []float64{0.2, 0.2, 0.2}, b("001")}, // numpy: [2 1 0]
	} {
		sel := make([]bool, len(c.row))
		for i := range sel {
			sel[i] = i%2 == 0 // stale contents must not leak through
		}
		Select(c.crit, c.t, c.row, sel)
		if !slices.Equal(sel, c.want) {
			t.Errorf("%v t=%v on %v: %v, want %v", c.crit, c.t, c.row, sel, c.want)
		}
	}
}

func TestCheckT(t *testing.T) {
	for _, c := range []struct {
		crit Criterion
		t    float64
		ok   bool
	}{
		{Percentile, 90, true}, {Percentile, 0, false}, {Percentile, 100, false}, {Percentile, 12.5, true},
		{TopN, 0, true}, {TopN, 10, true}, {TopN, 11, false}, {TopN, 2.5, false}, {TopN, -1, false},
		{ScoreAbove, -3, true}, {ScoreAbove, math.NaN(), false}, {ScoreAbove, math.Inf(1), false},
	} {
		if err := CheckT(c.crit, c.t, 10); (err == nil) != c.ok {
			t.Errorf("%v t=%v: %v", c.crit, c.t, err)
		}
	}
	for _, s := range []string{"percentile", "score", "N"} {
		if c, err := ParseCriterion(s); err != nil || c.String() != s {
			t.Errorf("ParseCriterion(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseCriterion("n"); err == nil {
		t.Error("criterion n accepted (navis spells it N)")
	}
}

// TestDownsample: points 0, 10, 20, … with their tangents and alpha, as
// navis' Dotprops.downsample(10); at most 10 points: unchanged.
func TestDownsample(t *testing.T) {
	mk := func(n int) *scoring.Dotprops {
		d := &scoring.Dotprops{ID: scoring.IntID(7)}
		for i := range n {
			d.Points = append(d.Points, [3]float64{float64(i), 0, 0})
			d.Vectors = append(d.Vectors, [3]float64{1, 0, 0})
			d.Alpha = append(d.Alpha, float64(i)/100)
		}
		return d
	}
	for _, c := range []struct{ n, want int }{{1, 1}, {10, 10}, {11, 2}, {20, 2}, {21, 3}, {105, 11}} {
		d := mk(c.n)
		got := Downsample(d, Factor)
		if got.Len() != c.want || len(got.Vectors) != c.want || len(got.Alpha) != c.want || got.ID != d.ID {
			t.Fatalf("%d points: %d points, %d vectors, %d alphas, want %d", c.n, got.Len(), len(got.Vectors), len(got.Alpha), c.want)
		}
		for k := range got.Points {
			i := k
			if c.n > Factor {
				i = k * Factor
			}
			if got.Points[k][0] != float64(i) || got.Alpha[k] != float64(i)/100 {
				t.Errorf("%d points: kept point %d is %v (alpha %v), want point %d", c.n, k, got.Points[k], got.Alpha[k], i)
			}
		}
		if d.Len() != c.n {
			t.Errorf("input modified")
		}
	}
	noAlpha := mk(30)
	noAlpha.Alpha = nil
	if got := Downsample(noAlpha, Factor); got.Alpha != nil || got.Len() != 3 {
		t.Errorf("without alpha: %d points, alpha %v", got.Len(), got.Alpha)
	}
}
