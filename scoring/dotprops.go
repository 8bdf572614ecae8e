// Package scoring is the NBLAST kernel: dotprops, scoring matrices, exact
// nearest-neighbour search and the forward/mean/min/max scores of Costa et al.
// (2016), reproducing navis (navis.nblast, navis.nblast_allbyall).
//
// Units: coordinates are micrometres (the FCWB matrices assume 1 unit = 1 µm);
// tangent vectors are unit length; alpha is in [0, 1].
//
// The package is pure Go and imports no Beam: the pipeline calls it.
package scoring

import (
	"fmt"
	"math"
	"strconv"
)

// ID identifies a neuron: an int64 (body ids, which exceed 2^53 and must never
// pass through float64) or a string (FlyCircuit names).
type ID struct {
	Int   int64
	Str   string
	IsStr bool
}

// IntID returns an integer id.
func IntID(v int64) ID { return ID{Int: v} }

// StrID returns a string id.
func StrID(s string) ID { return ID{Str: s, IsStr: true} }

// String formats the id as it appears in navis' outputs.
func (id ID) String() string {
	if id.IsStr {
		return id.Str
	}
	return strconv.FormatInt(id.Int, 10)
}

// Less orders ids as every output sorts them: int64 ids numerically
// before string ids, string ids lexicographically (by bytes).
func (id ID) Less(o ID) bool {
	if id.IsStr != o.IsStr {
		return !id.IsStr
	}
	if id.IsStr {
		return id.Str < o.Str
	}
	return id.Int < o.Int
}

// Kind names the id's type: "int64" or "string".
func (id ID) Kind() string {
	if id.IsStr {
		return "string"
	}
	return "int64"
}

// ParseID parses text into an id of the given kind: an int64 when isStr is
// false, the text itself otherwise. It is the one place ids are parsed.
func ParseID(text string, isStr bool) (ID, error) {
	if isStr {
		return StrID(text), nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("neuron id %q is not an int64: %w", text, err)
	}
	return IntID(v), nil
}

// Dotprops is a neuron as NBLAST sees it: points, each with a unit tangent
// vector and, optionally, an alpha (how linear the point's neighbourhood is).
//
// Invariants checked by Validate: len(Points) == len(Vectors) > 0, Alpha is
// empty or the same length, every value finite, every vector of unit length
// (within UnitTolerance), every alpha in [0, 1].
type Dotprops struct {
	ID      ID
	Points  [][3]float64 // µm
	Vectors [][3]float64 // unit tangents; the sign is arbitrary
	Alpha   []float64    // optional; required for use_alpha
}

// UnitTolerance is how far |v| may be from 1 for a tangent vector. navis'
// vectors are eigenvectors normalised in float64 (|v| within ~1e-15); float32
// inputs are within ~1e-7.
const UnitTolerance = 1e-4

// Len is the number of points.
func (d *Dotprops) Len() int { return len(d.Points) }

// HasAlpha reports whether every point carries an alpha value.
func (d *Dotprops) HasAlpha() bool { return len(d.Alpha) > 0 && len(d.Alpha) == len(d.Points) }

// Problem names the invariant of Dotprops that a neuron breaks
// (InvalidError.Problem), so that callers can give advice that fits.
type Problem int

const (
	NoPoints       Problem = iota + 1 // no points at all
	LengthMismatch                    // Vectors or Alpha not one per point
	BadPoint                          // a non-finite coordinate
	BadVector                         // a non-finite, zero or non-unit tangent vector
	BadAlpha                          // an alpha outside [0, 1], or NaN
)

// InvalidError is the error Validate returns: the neuron, the first
// offending point (-1 when no single point is at fault), the invariant it
// breaks and a description. Error() is "neuron ID: Detail".
type InvalidError struct {
	ID      ID
	Point   int
	Problem Problem
	Detail  string // e.g. "point 3 has a zero tangent vector"
}

func (e *InvalidError) Error() string { return fmt.Sprintf("neuron %s: %s", e.ID, e.Detail) }

// Validate checks the invariants above and returns an *InvalidError naming
// the neuron, the point and the problem.
func (d *Dotprops) Validate() error {
	bad := func(point int, p Problem, format string, args ...any) error {
		return &InvalidError{ID: d.ID, Point: point, Problem: p, Detail: fmt.Sprintf(format, args...)}
	}
	n := len(d.Points)
	if n == 0 {
		return bad(-1, NoPoints, "no points (empty dotprops)")
	}
	if len(d.Vectors) != n {
		return bad(-1, LengthMismatch, "%d points but %d tangent vectors", n, len(d.Vectors))
	}
	if len(d.Alpha) != 0 && len(d.Alpha) != n {
		return bad(-1, LengthMismatch, "%d points but %d alpha values", n, len(d.Alpha))
	}
	for i := 0; i < n; i++ {
		p, v := d.Points[i], d.Vectors[i]
		for k := 0; k < 3; k++ {
			if math.IsNaN(p[k]) || math.IsInf(p[k], 0) {
				return bad(i, BadPoint, "point %d has a non-finite coordinate (%v, %v, %v)", i, p[0], p[1], p[2])
			}
			if math.IsNaN(v[k]) || math.IsInf(v[k], 0) {
				return bad(i, BadVector, "point %d has a non-finite tangent vector (%v, %v, %v)", i, v[0], v[1], v[2])
			}
		}
		norm := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		if norm == 0 {
			return bad(i, BadVector, "point %d has a zero tangent vector", i)
		}
		if math.Abs(norm-1) > UnitTolerance {
			return bad(i, BadVector, "point %d has a tangent vector of length %g, not a unit vector", i, norm)
		}
		if len(d.Alpha) != 0 {
			a := d.Alpha[i]
			if math.IsNaN(a) || a < 0 || a > 1 {
				return bad(i, BadAlpha, "point %d has alpha %v outside [0, 1]", i, a)
			}
		}
	}
	return nil
}
