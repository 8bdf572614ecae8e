package scoring

import (
	"math"
	"testing"
)

// TestScorePairsMatchesScoreBlock: a pair scored alone has ScoreBlock's
// bits, in every mode but both.
func TestScorePairsMatchesScoreBlock(t *testing.T) {
	var ns []*Neuron
	for k := range 4 {
		d := &Dotprops{ID: IntID(int64(k))}
		for i := range 40 + 13*k {
			x := float64(i) * 0.7
			d.Points = append(d.Points, [3]float64{x, math.Sin(x+float64(k)) * 3, float64(k) * 1.5})
			v := [3]float64{1, math.Cos(x + float64(k)), 0.2}
			n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
			d.Vectors = append(d.Vectors, [3]float64{v[0] / n, v[1] / n, v[2] / n})
			d.Alpha = append(d.Alpha, 0.5+0.4*math.Sin(x))
		}
		n, err := NewNeuron(d)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	for _, alpha := range []bool{false, true} {
		s, err := NewScorer(Options{Normalized: true, UseAlpha: alpha, MaxDist: FCWB().AutoMaxDist()})
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{Forward, Mean, Min, Max} {
			block := make([]float64, 16)
			if _, err := ScoreBlock(s, mode, ns, ns, block, nil); err != nil {
				t.Fatal(err)
			}
			pairs := [][2]int32{{0, 3}, {2, 1}, {1, 1}, {3, 0}}
			got := make([]float64, len(pairs))
			if err := ScorePairs(s, mode, ns, ns, pairs, got); err != nil {
				t.Fatal(err)
			}
			for k, p := range pairs {
				if want := block[int(p[0])*4+int(p[1])]; got[k] != want {
					t.Errorf("alpha %v %v pair %v: %v, ScoreBlock %v", alpha, mode, p, got[k], want)
				}
			}
		}
	}
	s, _ := NewScorer(Options{})
	if err := ScorePairs(s, Both, ns, ns, nil, nil); err == nil {
		t.Error("scores both accepted")
	}
}
