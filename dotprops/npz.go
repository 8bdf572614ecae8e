package dotprops

// Neurons in a NumPy .npz archive: the input that Python writes with numpy
// alone (numpy.savez, no pyarrow), read by `runner dotprops` like its
// other inputs (ReadNeuronInputs) and, when it holds dotprops (vectors),
// by a scoring run like a Parquet file (ReadDotpropsFile, ReadNeuronIndex,
// ReadDotpropsRowGroups). The Python wrapper (python/nblast_go) hands navis
// Dotprops to the runner this way.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// NPZLayout describes the arrays of a neurons .npz (numpy.savez; names
// without ".npy"; C or Fortran order; little- or big-endian), for errors
// and help texts.
const NPZLayout = `ids (N,): neuron ids, an integer array (int64 ids) or a str array (string ids); ` +
	`offsets (N+1,) integers: neuron i's points are rows offsets[i]..offsets[i+1]-1 (offsets[0] = 0, increasing, offsets[N] = M); ` +
	`points (M, 3) float32 or float64: x, y, z; ` +
	`optional vectors (M, 3): unit tangents (the neurons are then dotprops, written as they are); ` +
	`optional alpha (M,) in [0, 1], with vectors; ` +
	`optional units (N,) str: each neuron's units as navis records them ("1 micrometer", "8 nanometer", "" for none)`

// npzNeurons is what readNPZ found in a neurons .npz.
type npzNeurons struct {
	ids     []scoring.ID
	offsets []int64
	points  [][3]float64 // converted to µm
	vectors [][3]float64 // nil for point clouds
	alpha   []float64    // nil without alpha
}

// readNPZInput reads a neurons .npz (NPZLayout) and emits its neurons in
// order: with vectors as dotprops (NeuronInput.Dotprops, written as they
// are: neither k nor resampling applies), without them as point clouds.
// Coordinates are converted with opt.Units; a neuron's units, when the
// file gives them, must agree with opt as a Parquet file's units metadata
// must. Errors name the file, the array, and the neuron and point.
func readNPZInput(ctx context.Context, p string, opt NeuronReadOptions, emit func(*NeuronInput) error) error {
	nz, err := readNPZ(ctx, p, opt.scale(), opt.Units.Apply)
	if err != nil {
		return err
	}
	for i, id := range nz.ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		lo, hi := nz.offsets[i], nz.offsets[i+1]
		in := &NeuronInput{ID: id, Source: fmt.Sprintf("%s points %d-%d", p, lo, hi-1), Points: nz.points[lo:hi:hi]}
		if nz.vectors != nil {
			d := &scoring.Dotprops{ID: id, Points: in.Points, Vectors: nz.vectors[lo:hi:hi]}
			if nz.alpha != nil {
				d.Alpha = nz.alpha[lo:hi:hi]
			}
			in.Dotprops = d
		}
		if err := emit(in); err != nil {
			return err
		}
	}
	return nil
}

// readNPZ reads and checks the arrays of a neurons .npz. scale is the µm
// per coordinate unit the neurons' units metadata is checked against (0:
// µm), and toMicrons converts each coordinate; with toMicrons nil only ids
// and offsets are read (the neurons and their point counts).
func readNPZ(ctx context.Context, p string, scale float64, toMicrons func(float64) float64) (nz *npzNeurons, err error) {
	defer func() {
		// npyio panics on some malformed arrays (e.g. a "<U0" dtype).
		if r := recover(); r != nil {
			nz, err = nil, fmt.Errorf("%s: a damaged or unsupported array (%v): write the archive with numpy.savez; the arrays: %s", p, r, NPZLayout)
		}
	}()
	ra, err := files.OpenReaderAt(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer ra.Close()
	zr, err := npz.NewReader(ra, ra.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npz archive (%v): write it with numpy.savez; the arrays: %s", p, err, NPZLayout)
	}
	have := map[string]bool{}
	var names []string
	for _, k := range zr.Keys() {
		n := strings.TrimSuffix(k, ".npy")
		have[n] = true
		names = append(names, n)
	}
	var missing []string
	for _, n := range []string{"ids", "offsets", "points"} {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing array(s) %s (the archive has %s): want %s", p, strings.Join(missing, ", "), strings.Join(names, ", "), NPZLayout)
	}
	if have["alpha"] && !have["vectors"] {
		return nil, fmt.Errorf("%s: an alpha array without vectors: alpha belongs to dotprops (give vectors too, or drop alpha: point clouds get their alpha from their k nearest neighbours)", p)
	}
	read := func(name string) (*npy.Array, error) {
		var a npy.Array
		if err := zr.Read(name+".npy", &a); err != nil {
			return nil, fmt.Errorf("%s: array %s: %w", p, name, err)
		}
		return &a, nil
	}

	nz = &npzNeurons{}
	// ids and offsets.
	a, err := read("ids")
	if err != nil {
		return nil, err
	}
	if len(a.Shape()) != 1 {
		return nil, fmt.Errorf("%s: ids has shape %v: want one id per neuron, shape (N,)", p, a.Shape())
	}
	if nz.ids, err = npzIDs(p, a); err != nil {
		return nil, err
	}
	n := len(nz.ids)
	if n == 0 {
		return nil, fmt.Errorf("%s: no neurons (ids is empty)", p)
	}
	seen := make(map[scoring.ID]int, n)
	for i, id := range nz.ids {
		if j, ok := seen[id]; ok {
			return nil, fmt.Errorf("%s: neuron id %s is given twice (ids[%d] and ids[%d]): every neuron needs its own id", p, id, j, i)
		}
		seen[id] = i
	}
	if a, err = read("offsets"); err != nil {
		return nil, err
	}
	if len(a.Shape()) != 1 || a.Shape()[0] != n+1 {
		return nil, fmt.Errorf("%s: offsets has shape %v for %d ids: want (%d,), neuron i's points being rows offsets[i] to offsets[i+1]-1", p, a.Shape(), n, n+1)
	}
	if nz.offsets, err = npzInts(p, "offsets", a); err != nil {
		return nil, err
	}
	if nz.offsets[0] != 0 {
		return nil, fmt.Errorf("%s: offsets[0] is %d: want 0 (the first neuron starts at the first point)", p, nz.offsets[0])
	}
	for i := range n {
		if nz.offsets[i+1] <= nz.offsets[i] {
			return nil, fmt.Errorf("%s: neuron %s (index %d) has no points: offsets[%d] = %d, offsets[%d] = %d: every neuron needs points, offsets must increase", p, nz.ids[i], i, i, nz.offsets[i], i+1, nz.offsets[i+1])
		}
	}
	m := nz.offsets[n]
	if toMicrons == nil {
		return nz, nil
	}

	// Units, checked before the coordinates are read.
	if have["units"] {
		if a, err = read("units"); err != nil {
			return nil, err
		}
		units, ok := a.Data().([]string)
		if !ok || len(a.Shape()) != 1 || len(units) != n {
			return nil, fmt.Errorf("%s: units is %s of shape %v: want a str array with one entry per neuron, shape (%d,)", p, npzType(a), a.Shape(), n)
		}
		for i, u := range units {
			if err := checkNPZUnits(p, nz.ids[i], u, scale); err != nil {
				return nil, err
			}
		}
	}

	// Coordinates, vectors, alpha.
	xyz := func(name string) ([][3]float64, error) {
		a, err := read(name)
		if err != nil {
			return nil, err
		}
		if s := a.Shape(); len(s) != 2 || int64(s[0]) != m || s[1] != 3 {
			return nil, fmt.Errorf("%s: %s has shape %v: want (%d, 3), one row per point (offsets[-1] = %d)", p, name, s, m, m)
		}
		v, err := npzFloats(p, name, a)
		if err != nil {
			return nil, err
		}
		out := make([][3]float64, m)
		for i := range out {
			for k := range 3 {
				if a.Fortran() {
					out[i][k] = v[int64(k)*m+int64(i)]
				} else {
					out[i][k] = v[int64(i)*3+int64(k)]
				}
			}
		}
		return out, nil
	}
	if nz.points, err = xyz("points"); err != nil {
		return nil, err
	}
	for i := range n {
		for j := nz.offsets[i]; j < nz.offsets[i+1]; j++ {
			pt := &nz.points[j]
			for k := range 3 {
				if !finite(pt[k]) {
					return nil, fmt.Errorf("%s: neuron %s (index %d), point %d (row %d of points): %c = %v is not a finite number", p, nz.ids[i], i, j-nz.offsets[i], j, "xyz"[k], pt[k])
				}
				pt[k] = toMicrons(pt[k])
			}
		}
	}
	if have["vectors"] {
		if nz.vectors, err = xyz("vectors"); err != nil {
			return nil, err
		}
	}
	if have["alpha"] {
		if a, err = read("alpha"); err != nil {
			return nil, err
		}
		if s := a.Shape(); len(s) != 1 || int64(s[0]) != m {
			return nil, fmt.Errorf("%s: alpha has shape %v: want (%d,), one value per point", p, s, m)
		}
		if nz.alpha, err = npzFloats(p, "alpha", a); err != nil {
			return nil, err
		}
	}
	return nz, nil
}

// checkNPZUnits checks a neuron's units (as navis records them) against
// scale, the µm per coordinate unit of --units / --scale (0: µm), as
// checkUnitsMetadata does for Parquet files.
func checkNPZUnits(p string, id scoring.ID, units string, scale float64) error {
	um, err := ParseUnits(units)
	switch {
	case errors.Is(err, ErrUnknownUnits):
		return nil
	case err != nil:
		return fmt.Errorf("%s: neuron %s: %v: fix its units, or convert the neuron to µm with navis (n.convert_units('um'))", p, id, err)
	case scale == 0 && math.Abs(um-1) > unitsTolerance:
		return fmt.Errorf("%s: neuron %s has units %q (%g µm per unit), but coordinates are read as µm: pass --units %q (or --scale %g) to convert them, or convert the neurons with navis (neurons.convert_units('um'))", p, id, strings.TrimSpace(units), um, strings.TrimSpace(units), um)
	case scale > 0 && math.Abs(um-scale) > unitsTolerance*scale:
		return fmt.Errorf("%s: neuron %s has units %q (%g µm per unit) but --units/--scale says %g µm per unit: the inputs of one run must share units: give the right --units, or convert the neurons with navis (neurons.convert_units('um'))", p, id, strings.TrimSpace(units), um, scale)
	}
	return nil
}

// npzType names an array's element type for errors, e.g. "[]float32".
func npzType(a *npy.Array) string { return fmt.Sprintf("an array of %T", a.Data()) }

// npzIDs reads the ids array: integers (int64 ids) or strings.
func npzIDs(p string, a *npy.Array) ([]scoring.ID, error) {
	if strs, ok := a.Data().([]string); ok {
		ids := make([]scoring.ID, len(strs))
		for i, s := range strs {
			if s == "" {
				return nil, fmt.Errorf("%s: ids[%d] is an empty string: every neuron needs an id", p, i)
			}
			ids[i] = scoring.StrID(s)
		}
		return ids, nil
	}
	v, err := npzInts(p, "ids", a)
	if err != nil {
		return nil, fmt.Errorf("%v (string ids: a str array, numpy.array(ids, dtype=str))", err)
	}
	ids := make([]scoring.ID, len(v))
	for i, x := range v {
		ids[i] = scoring.IntID(x)
	}
	return ids, nil
}

// npzInts returns an integer array's values as int64.
func npzInts(p, name string, a *npy.Array) ([]int64, error) {
	conv := func(n int, at func(i int) (int64, bool)) ([]int64, error) {
		out := make([]int64, n)
		for i := range out {
			v, ok := at(i)
			if !ok {
				return nil, fmt.Errorf("%s: %s[%d] does not fit an int64", p, name, i)
			}
			out[i] = v
		}
		return out, nil
	}
	switch d := a.Data().(type) {
	case []int64:
		return slices.Clone(d), nil
	case []int32:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	case []int16:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	case []int8:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	case []uint64:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), d[i] <= math.MaxInt64 })
	case []uint32:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	case []uint16:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	case []uint8:
		return conv(len(d), func(i int) (int64, bool) { return int64(d[i]), true })
	}
	return nil, fmt.Errorf("%s: %s is %s: want integers", p, name, npzType(a))
}

// npzFloats returns a float32 or float64 array's values as float64.
func npzFloats(p, name string, a *npy.Array) ([]float64, error) {
	switch d := a.Data().(type) {
	case []float64:
		return d, nil
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %s is %s: want float32 or float64", p, name, npzType(a))
}

// IsNPZ reports whether p names a NumPy .npz archive of neurons.
func IsNPZ(p string) bool { return strings.EqualFold(path.Ext(p), ".npz") }

// readNPZDotprops reads a neurons .npz (NPZLayout) with vectors as a
// scoring run's input, as ReadDotpropsFile reads a Parquet file:
// coordinates multiplied by opt.Factor() (the units array, if any, checked
// against opt.Scale as Parquet units metadata is), vectors and alpha as
// stored, no alpha with opt.IgnoreAlpha, neurons in file order,
// unvalidated. An archive without vectors (point clouds) is refused: a
// scoring run needs dotprops.
func readNPZDotprops(ctx context.Context, p string, opt ReadOptions) ([]*scoring.Dotprops, error) {
	if err := opt.check(p); err != nil {
		return nil, err
	}
	f := opt.Factor()
	nz, err := readNPZ(ctx, p, opt.Scale, func(v float64) float64 { return v * f })
	if err != nil {
		return nil, err
	}
	if nz.vectors == nil {
		return nil, fmt.Errorf("%s: no vectors array: the neurons are point clouds, and scoring needs dotprops: make them first with runner dotprops --in %s --out neurons.parquet (or add vectors, see NPZLayout)", p, p)
	}
	dps := make([]*scoring.Dotprops, len(nz.ids))
	for i, id := range nz.ids {
		lo, hi := nz.offsets[i], nz.offsets[i+1]
		d := &scoring.Dotprops{ID: id, Points: nz.points[lo:hi:hi], Vectors: nz.vectors[lo:hi:hi]}
		if nz.alpha != nil && !opt.IgnoreAlpha {
			d.Alpha = nz.alpha[lo:hi:hi]
		}
		dps[i] = d
	}
	return dps, nil
}

// npzNeuronIndex is ReadNeuronIndex for a neurons .npz: the same sums in
// point order, so that the index agrees with readNPZDotprops' points.
func npzNeuronIndex(ctx context.Context, p string, opt ReadOptions) ([]NeuronInfo, error) {
	dps, err := readNPZDotprops(ctx, p, opt)
	if err != nil {
		return nil, err
	}
	out := make([]NeuronInfo, len(dps))
	for i, d := range dps {
		n := NeuronInfo{ID: d.ID, Points: len(d.Points), Min: d.Points[0], Max: d.Points[0], File: p}
		for _, pt := range d.Points {
			for k := range 3 {
				n.Centroid[k] += pt[k]
				n.Min[k], n.Max[k] = min(n.Min[k], pt[k]), max(n.Max[k], pt[k])
			}
		}
		for k := range 3 {
			n.Centroid[k] /= float64(n.Points)
		}
		out[i] = n
	}
	return out, nil
}
