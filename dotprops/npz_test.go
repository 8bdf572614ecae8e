package dotprops

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/skeleton"
)

// npyBytes is one .npy file: v written by npyio (C order), or a raw
// array given as *rawNPY (any dtype, order or byte order).
func npyBytes(t *testing.T, v any) []byte {
	t.Helper()
	if r, ok := v.(*rawNPY); ok {
		return r.bytes()
	}
	var b bytes.Buffer
	if err := npy.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rawNPY is a .npy written by hand: the header numpy writes (version
// 1.0) for descr, fortran and shape, then data as given.
type rawNPY struct {
	descr   string
	fortran bool
	shape   string // e.g. "(4, 3)"
	data    []byte
}

func (r *rawNPY) bytes() []byte {
	order := "False"
	if r.fortran {
		order = "True"
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", r.descr, order, r.shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(r.data)
	return b.Bytes()
}

// writeNPZ writes arrays (name without ".npy" -> value for npyBytes) as
// an .npz in dir and returns its path.
func writeNPZ(t *testing.T, dir, name string, arrays map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for n, v := range arrays {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n + ".npy", Method: zip.Store}) // as numpy.savez
		if err != nil {
			t.Fatal(err)
		}
		w.Write(npyBytes(t, v))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAllNPZ(t *testing.T, p string, opt NeuronReadOptions) ([]*NeuronInput, error) {
	t.Helper()
	var got []*NeuronInput
	err := ReadNeuronInputs(context.Background(), p, opt, func(in *NeuronInput) error {
		got = append(got, in)
		return nil
	})
	return got, err
}

// Two dotprops neurons: int64 ids, float64 points, float32 vectors and
// alpha, units; emitted in order as dotprops given as they are.
func TestNPZDotprops(t *testing.T) {
	dir := t.TempDir()
	pts := [][3]float64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {0.1, 0.2, 0.3}}
	vec := [][3]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.6, 0.8, 0}}
	p := writeNPZ(t, dir, "n.npz", map[string]any{
		"ids":     []int64{720575940693177896, -5},
		"offsets": []int32{0, 3, 4},
		"points":  pts,
		"vectors": vec,
		"alpha":   []float32{0.5, 1, 0, 0.25},
		"units":   []string{"1 micrometer", ""},
	})
	got, err := readAllNPZ(t, p, NeuronReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d neurons, want 2", len(got))
	}
	wantIDs := []scoring.ID{scoring.IntID(720575940693177896), scoring.IntID(-5)}
	for n, in := range got {
		d := in.Dotprops
		if d == nil {
			t.Fatalf("neuron %d: no dotprops (vectors were given)", n)
		}
		if in.ID != wantIDs[n] || d.ID != wantIDs[n] {
			t.Errorf("neuron %d: id %v / %v, want %v", n, in.ID, d.ID, wantIDs[n])
		}
		lo := []int{0, 3}[n]
		for i := range d.Points {
			if d.Points[i] != pts[lo+i] {
				t.Errorf("neuron %d point %d: %v, want %v", n, i, d.Points[i], pts[lo+i])
			}
			for k := range 3 {
				if d.Vectors[i][k] != float64(vec[lo+i][k]) {
					t.Errorf("neuron %d vector %d: %v, want %v", n, i, d.Vectors[i], vec[lo+i])
				}
			}
		}
		if err := d.Validate(); err != nil {
			t.Error(err)
		}
		// Given as they are: MakeNeuronDotprops does not recompute them.
		made, err := MakeNeuronDotprops(in, 20, 1)
		if err != nil || made != d {
			t.Errorf("neuron %d: MakeNeuronDotprops = %p, %v; want the given dotprops", n, made, err)
		}
	}
	if a := got[0].Dotprops.Alpha; len(a) != 3 || a[0] != 0.5 || a[2] != 0 || got[1].Dotprops.Alpha[0] != 0.25 {
		t.Errorf("alpha %v, %v", a, got[1].Dotprops.Alpha)
	}
	if !strings.Contains(got[1].Source, "n.npz points 3-3") {
		t.Errorf("source %q", got[1].Source)
	}
}

// String ids (numpy's "<U"), point clouds (no vectors), Fortran order and
// big-endian floats (what numpy.savez writes for such arrays), units
// converted (points only; vectors are unit tangents).
func TestNPZLayouts(t *testing.T) {
	dir := t.TempDir()
	// points (3, 3) in Fortran order, big-endian float64: column x, y, z.
	cols := []float64{1, 2, 3, 10, 20, 30, 100, 200, 300}
	var raw bytes.Buffer
	binary.Write(&raw, binary.BigEndian, cols)
	p := writeNPZ(t, dir, "s.npz", map[string]any{
		"ids":     []string{"KC-γ-1", "007"},
		"offsets": []int64{0, 2, 3},
		"points":  &rawNPY{descr: ">f8", fortran: true, shape: "(3, 3)", data: raw.Bytes()},
	})
	got, err := readAllNPZ(t, p, NeuronReadOptions{Units: skeleton.Units{Mul: 8, Div: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != scoring.StrID("KC-γ-1") || got[1].ID != scoring.StrID("007") {
		t.Fatalf("ids %v", got)
	}
	for _, in := range got {
		if in.Dotprops != nil {
			t.Errorf("%s: dotprops without vectors", in.ID)
		}
	}
	want := [][3]float64{{1, 10, 100}, {2, 20, 200}, {3, 30, 300}}
	all := append(append([][3]float64{}, got[0].Points...), got[1].Points...)
	for i, w := range want {
		for k := range 3 {
			if x := w[k] * 8 / 1000; all[i][k] != x {
				t.Errorf("point %d: %v, want %v (Fortran order, 8 nm -> µm)", i, all[i], w)
			}
		}
	}
}

// Units: a neuron in 8 nm is refused without --units, with advice, and
// read with --units "8 nm"; unknown units are accepted.
func TestNPZUnits(t *testing.T) {
	dir := t.TempDir()
	p := writeNPZ(t, dir, "u.npz", map[string]any{
		"ids":     []int64{1, 2},
		"offsets": []int64{0, 1, 2},
		"points":  [][3]float64{{125, 0, 0}, {0, 250, 0}},
		"vectors": [][3]float64{{1, 0, 0}, {0, 1, 0}},
		"units":   []string{"8 nanometer", "dimensionless"},
	})
	_, err := readAllNPZ(t, p, NeuronReadOptions{})
	if err == nil || !strings.Contains(err.Error(), `neuron 1 has units "8 nanometer"`) || !strings.Contains(err.Error(), `--units "8 nanometer"`) {
		t.Errorf("8 nm read as µm: %v", err)
	}
	got, err := readAllNPZ(t, p, NeuronReadOptions{Units: skeleton.Units{Mul: 8, Div: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Dotprops.Points[0][0] != 1 || got[1].Dotprops.Points[0][1] != 2 || got[0].Dotprops.Vectors[0][0] != 1 {
		t.Errorf("converted: %v %v, vectors %v", got[0].Dotprops.Points, got[1].Dotprops.Points, got[0].Dotprops.Vectors)
	}
}

// Bad archives fail with the file, the array and the problem.
func TestNPZBadInput(t *testing.T) {
	dir := t.TempDir()
	good := func() map[string]any {
		return map[string]any{
			"ids":     []int64{1, 2},
			"offsets": []int64{0, 2, 3},
			"points":  [][3]float64{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}},
			"vectors": [][3]float64{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}},
		}
	}
	for _, c := range []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"no offsets", func(m map[string]any) { delete(m, "offsets") }, "missing array(s) offsets"},
		{"alpha alone", func(m map[string]any) { delete(m, "vectors"); m["alpha"] = []float64{1, 1, 1} }, "alpha array without vectors"},
		{"offsets length", func(m map[string]any) { m["offsets"] = []int64{0, 3} }, "offsets has shape [2] for 2 ids: want (3,)"},
		{"offsets start", func(m map[string]any) { m["offsets"] = []int64{1, 2, 3} }, "offsets[0] is 1"},
		{"empty neuron", func(m map[string]any) { m["offsets"] = []int64{0, 0, 3} }, "neuron 1 (index 0) has no points"},
		{"points rows", func(m map[string]any) { m["offsets"] = []int64{0, 2, 4} }, "points has shape [3 3]: want (4, 3)"},
		{"points 1-D", func(m map[string]any) { m["points"] = []float64{0, 0, 0, 1, 0, 0, 2, 0, 0} }, "points has shape [9]"},
		{"vectors rows", func(m map[string]any) { m["vectors"] = [][3]float64{{1, 0, 0}} }, "vectors has shape [1 3]"},
		{"int points", func(m map[string]any) { m["points"] = [][3]int64{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}} }, "points is an array of []int64: want float32 or float64"},
		{"NaN", func(m map[string]any) { m["points"] = [][3]float64{{0, 0, 0}, {1, math.NaN(), 0}, {2, 0, 0}} }, "neuron 1 (index 0), point 1 (row 1 of points): y = NaN is not a finite number"},
		{"float ids", func(m map[string]any) { m["ids"] = []float64{1, 2} }, "ids is an array of []float64: want integers"},
		{"empty id", func(m map[string]any) { m["ids"] = []string{"a", ""} }, "ids[1] is an empty string"},
		{"no ids", func(m map[string]any) { m["ids"] = &rawNPY{descr: "<i8", shape: "(0,)"}; m["offsets"] = []int64{0} }, "no neurons"},
		{"bad units", func(m map[string]any) { m["units"] = []string{"furlong", ""} }, `neuron 1: units "furlong": unknown unit`},
		{"units length", func(m map[string]any) { m["units"] = []string{"1 micrometer"} }, "units is an array of []string of shape [1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := good()
			c.change(m)
			p := writeNPZ(t, dir, strings.ReplaceAll(c.name, " ", "_")+".npz", m)
			_, err := readAllNPZ(t, p, NeuronReadOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and saying %q", err, p, c.want)
			}
		})
	}
	// A dtype npyio cannot read ("<U0") is an error, not a panic.
	m := good()
	m["units"] = []string{"", ""}
	if _, err := readAllNPZ(t, writeNPZ(t, dir, "u0.npz", m), NeuronReadOptions{}); err == nil || !strings.Contains(err.Error(), "damaged or unsupported") {
		t.Errorf("<U0 units: %v", err)
	}
	// Not a zip archive at all.
	p := filepath.Join(dir, "text.npz")
	os.WriteFile(p, []byte("neuron,x,y,z\n"), 0o644)
	if _, err := readAllNPZ(t, p, NeuronReadOptions{}); err == nil || !strings.Contains(err.Error(), "not a NumPy .npz archive") {
		t.Errorf("text file: %v", err)
	}
}

// A directory of inputs includes its .npz files.
func TestNPZInDirectory(t *testing.T) {
	dir := t.TempDir()
	writeNPZ(t, dir, "a.npz", map[string]any{"ids": []int64{1}, "offsets": []int64{0, 2}, "points": [][3]float64{{0, 0, 0}, {1, 1, 1}}})
	paths, err := ExpandNeuronInputs(context.Background(), dir)
	if err != nil || len(paths) != 1 || filepath.Base(paths[0]) != "a.npz" {
		t.Errorf("ExpandNeuronInputs(%s) = %v, %v", dir, paths, err)
	}
}

// A .npz of dotprops is a scoring run's input like a Parquet file of the
// same neurons: ReadDotpropsFile, ReadNeuronIndex (with --scale) and
// ReadDotpropsRowGroups give the same neurons, index and pieces; it is
// one row group of all its points.
func TestNPZAsScoringInput(t *testing.T) {
	ctx := context.Background()
	const golden = "../testdata/golden_synthetic.dotprops.parquet"
	dps, err := ReadDotpropsFile(ctx, golden, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids, offsets []int64
	var pts, vecs [][3]float64
	var alpha []float64
	offsets = append(offsets, 0)
	for _, d := range dps {
		ids = append(ids, d.ID.Int)
		pts, vecs, alpha = append(pts, d.Points...), append(vecs, d.Vectors...), append(alpha, d.Alpha...)
		offsets = append(offsets, int64(len(pts)))
	}
	p := writeNPZ(t, t.TempDir(), "golden.npz", map[string]any{"ids": ids, "offsets": offsets, "points": pts, "vectors": vecs, "alpha": alpha})

	for _, opt := range []ReadOptions{{}, {IgnoreAlpha: true}} {
		want, err := ReadDotpropsFile(ctx, golden, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadDotpropsFile(ctx, p, opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		pieces, err := ReadDotpropsRowGroups(ctx, p, 0, 1, opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if len(got) != len(want) || len(pieces) != len(want) {
			t.Fatalf("%+v: %d neurons, %d pieces, want %d", opt, len(got), len(pieces), len(want))
		}
		for i := range want {
			if d := Diff(want[i], got[i]); d != "" {
				t.Errorf("%+v: neuron %s: %s", opt, want[i].ID, d)
			}
			if d := Diff(want[i], pieces[i]); d != "" {
				t.Errorf("%+v: row group piece of neuron %s: %s", opt, want[i].ID, d)
			}
		}
		wantIx, err := ReadNeuronIndex(ctx, golden, opt)
		if err != nil {
			t.Fatal(err)
		}
		gotIx, err := ReadNeuronIndex(ctx, p, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range wantIx {
			wantIx[i].File = p
			if gotIx[i] != wantIx[i] {
				t.Errorf("%+v: index of neuron %s: %+v, want %+v", opt, wantIx[i].ID, gotIx[i], wantIx[i])
			}
		}
	}
	// --scale multiplies coordinates as it does a Parquet file's.
	scaled, err := ReadDotpropsFile(ctx, p, ReadOptions{Scale: 0.008})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range scaled {
		for j, pt := range d.Points {
			for k := range 3 {
				if want := dps[i].Points[j][k] * 0.008; pt[k] != want {
					t.Fatalf("--scale 0.008: neuron %s point %d: %v, want %v", d.ID, j, pt[k], want)
				}
			}
		}
	}
	rows, err := RowGroupRows(ctx, p)
	if err != nil || len(rows) != 1 || rows[0] != int64(len(pts)) {
		t.Errorf("RowGroupRows = %v, %v: want one row group of %d points", rows, err, len(pts))
	}
	if _, err := ReadDotpropsRowGroups(ctx, p, 1, 1, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "read whole") {
		t.Errorf("row group 1 of a .npz: %v", err)
	}
}
