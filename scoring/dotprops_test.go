package scoring_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

func TestValidate(t *testing.T) {
	good := func() *scoring.Dotprops {
		return &scoring.Dotprops{ID: scoring.IntID(7), Points: [][3]float64{{0, 0, 0}, {1, 0, 0}}, Vectors: [][3]float64{{1, 0, 0}, {0, 1, 0}}, Alpha: []float64{0.5, 1}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid dotprops: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(d *scoring.Dotprops)
		want   string
		prob   scoring.Problem
	}{
		{"empty", func(d *scoring.Dotprops) { d.Points, d.Vectors, d.Alpha = nil, nil, nil }, "no points", scoring.NoPoints},
		{"nan point", func(d *scoring.Dotprops) { d.Points[1][2] = math.NaN() }, "point 1 has a non-finite coordinate", scoring.BadPoint},
		{"inf point", func(d *scoring.Dotprops) { d.Points[0][0] = math.Inf(1) }, "point 0 has a non-finite coordinate", scoring.BadPoint},
		{"zero vector", func(d *scoring.Dotprops) { d.Vectors[1] = [3]float64{} }, "point 1 has a zero tangent vector", scoring.BadVector},
		{"long vector", func(d *scoring.Dotprops) { d.Vectors[0] = [3]float64{1, 1, 0} }, "not a unit vector", scoring.BadVector},
		{"nan vector", func(d *scoring.Dotprops) { d.Vectors[0][1] = math.NaN() }, "non-finite tangent", scoring.BadVector},
		{"alpha high", func(d *scoring.Dotprops) { d.Alpha[1] = 1.5 }, "alpha 1.5 outside [0, 1]", scoring.BadAlpha},
		{"alpha negative", func(d *scoring.Dotprops) { d.Alpha[0] = -0.1 }, "outside [0, 1]", scoring.BadAlpha},
		{"alpha nan", func(d *scoring.Dotprops) { d.Alpha[0] = math.NaN() }, "outside [0, 1]", scoring.BadAlpha},
		{"vector count", func(d *scoring.Dotprops) { d.Vectors = d.Vectors[:1] }, "2 points but 1 tangent vectors", scoring.LengthMismatch},
		{"alpha count", func(d *scoring.Dotprops) { d.Alpha = d.Alpha[:1] }, "2 points but 1 alpha", scoring.LengthMismatch},
	} {
		d := good()
		tc.break_(d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "neuron 7") {
			t.Errorf("%s: err = %v, want it to name neuron 7 and say %q", tc.name, err, tc.want)
		}
		var ie *scoring.InvalidError
		if !errors.As(err, &ie) || ie.Problem != tc.prob || ie.ID != d.ID {
			t.Errorf("%s: err = %#v, want an *InvalidError for neuron 7 with problem %d", tc.name, err, tc.prob)
		}
		if _, err2 := scoring.NewNeuron(d); err2 == nil {
			t.Errorf("%s: NewNeuron accepted invalid dotprops", tc.name)
		}
	}
}

func TestIDs(t *testing.T) {
	id, err := scoring.ParseID("720575940693177896", false)
	if err != nil || id.Int != 720575940693177896 || id.String() != "720575940693177896" {
		t.Errorf("ParseID int: %v %v", id, err)
	}
	if _, err := scoring.ParseID("1.5e3", false); err == nil {
		t.Error("ParseID accepted a float as an int64 id")
	}
	if id, _ := scoring.ParseID("FruMARCM-M001205_seg002", true); id.String() != "FruMARCM-M001205_seg002" || !id.IsStr {
		t.Errorf("ParseID str: %v", id)
	}
	if scoring.IntID(5) == scoring.StrID("5") {
		t.Error("an int id equals a string id")
	}
}

func TestUseAlphaNeedsAlpha(t *testing.T) {
	d := &scoring.Dotprops{ID: scoring.StrID("a"), Points: [][3]float64{{0, 0, 0}}, Vectors: [][3]float64{{1, 0, 0}}}
	n, err := scoring.NewNeuron(d)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := scoring.NewScorer(scoring.Options{UseAlpha: true})
	if _, err := s.Pair(n, n); err == nil || !strings.Contains(err.Error(), "neuron a has no alpha") {
		t.Errorf("err = %v", err)
	}
}
