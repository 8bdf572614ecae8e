package zarr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/nblast-go/nblast/internal/files"
)

// specials are values whose conversion is easy to get wrong.
var specials = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0,
	65504, 65519.99, 65520, -65520, 1e300, -1e300,
	0x1p-24, 0x1p-25, 0x1p-25 * (1 + 0x1p-52), 3 * 0x1p-25, 5 * 0x1p-25, 0x1p-14 - 0x1p-25,
	1 + 0x1p-11, 1 + 3*0x1p-11, 0.1, -1.0 / 3,
	3e-39, 1e-46, math.MaxFloat32 * 2, math.SmallestNonzeroFloat64,
	math.Float64frombits(0x7ff8000000000abc), // NaN with a payload
}

// testValues returns rows*cols values: the specials first, then a ramp.
func testValues(rows, cols int) []float64 {
	v := make([]float64, rows*cols)
	for k := range v {
		if k < len(specials) {
			v[k] = specials[k]
		} else {
			v[k] = float64(k)/7 - 3.5
		}
	}
	return v
}

// stored is what a value reads back as after storing it as dtype.
func stored(dtype string, v float64) float64 {
	switch dtype {
	case "float16":
		return Float16Frombits(Float16Bits(v))
	case "float32":
		return float64(float32(v))
	}
	return v
}

// sameFloat is bitwise equality, with all NaNs equal.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// writeArray encodes and writes every chunk of vals (row-major, spec.Shape)
// except those listed in skip.
func writeArray(t *testing.T, out string, spec ArraySpec, vals []float64, skip ...[2]int) {
	t.Helper()
	ctx := context.Background()
	g := grid(spec.Shape, spec.Chunks)
	for i := 0; i < g[0]; i++ {
		for j := 0; j < g[1]; j++ {
			if slices.Contains(skip, [2]int{i, j}) {
				continue
			}
			r0, c0 := i*spec.Chunks[0], j*spec.Chunks[1]
			r1, c1 := min(r0+spec.Chunks[0], spec.Shape[0]), min(c0+spec.Chunks[1], spec.Shape[1])
			var region []float64
			for r := r0; r < r1; r++ {
				region = append(region, vals[r*spec.Shape[1]+c0:r*spec.Shape[1]+c1]...)
			}
			data, err := EncodeChunk(spec, r1-r0, c1-c0, region)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteChunk(ctx, out, spec, i, j, data); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name          string
		shape, chunks [2]int
	}{
		{"edge chunks", [2]int{7, 10}, [2]int{3, 4}},
		{"exact grid", [2]int{6, 8}, [2]int{3, 4}},
		{"one small chunk", [2]int{2, 3}, [2]int{5, 5}},
		{"single row", [2]int{1, 40}, [2]int{1, 16}},
	}
	for _, dtype := range []string{"float16", "float32", "float64"} {
		for _, tc := range cases {
			t.Run(dtype+"/"+tc.name, func(t *testing.T) {
				out := t.TempDir()
				spec := ArraySpec{Name: "scores", Shape: tc.shape, Chunks: tc.chunks, DType: dtype}
				if err := Create(ctx, out, []ArraySpec{spec}); err != nil {
					t.Fatal(err)
				}
				vals := testValues(tc.shape[0], tc.shape[1])
				writeArray(t, out, spec, vals)
				z, err := Open(ctx, out, "scores")
				if err != nil {
					t.Fatal(err)
				}
				if z.Shape != tc.shape || z.Chunks != tc.chunks || z.DType != dtype {
					t.Fatalf("metadata %v %v %s, want %v %v %s", z.Shape, z.Chunks, z.DType, tc.shape, tc.chunks, dtype)
				}
				// The whole array, then a window crossing chunk borders.
				windows := [][4]int{{0, tc.shape[0], 0, tc.shape[1]}, {tc.shape[0] / 2, tc.shape[0], 1, tc.shape[1] - 1}, {0, 0, 0, 1}}
				for _, w := range windows {
					got, err := z.Read(ctx, w[0], w[1], w[2], w[3])
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != (w[1]-w[0])*(w[3]-w[2]) {
						t.Fatalf("window %v: %d values", w, len(got))
					}
					for r := w[0]; r < w[1]; r++ {
						for c := w[2]; c < w[3]; c++ {
							want := stored(dtype, vals[r*tc.shape[1]+c])
							if g := got[(r-w[0])*(w[3]-w[2])+c-w[2]]; !sameFloat(g, want) {
								t.Errorf("window %v [%d,%d] = %v, want %v", w, r, c, g, want)
							}
						}
					}
				}
			})
		}
	}
}

func TestFloat16Bits(t *testing.T) {
	cases := []struct {
		in   float64
		want uint16
	}{
		{0, 0x0000},
		{math.Copysign(0, -1), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.1, 0x2e66},           // 0.0999755859375
		{1.0 / 3, 0x3555},       // rounds down
		{1 + 0x1p-11, 0x3c00},   // tie, even stays
		{1 + 3*0x1p-11, 0x3c02}, // tie, odd rounds up to even
		{1 + 0x1p-11 + 0x1p-40, 0x3c01},
		{65504, 0x7bff},    // largest finite
		{65519.99, 0x7bff}, // just below the overflow tie
		{65520, 0x7c00},    // tie with 65536 rounds to even: Inf
		{-70000, 0xfc00},
		{1e300, 0x7c00},
		{math.Inf(1), 0x7c00},
		{math.Inf(-1), 0xfc00},
		{0x1p-14, 0x0400},                     // least normal
		{0x1p-14 - 0x1p-25, 0x0400},           // tie rounds up into the normals
		{0x1p-24, 0x0001},                     // least subnormal
		{0x1p-25, 0x0000},                     // tie with 0: even
		{0x1p-25 * (1 + 0x1p-52), 0x0001},     // just above the tie
		{3 * 0x1p-25, 0x0002},                 // 1.5 units of 2^-24: tie to even 2
		{3 * 0x1p-26, 0x0001},                 // 0.75 units
		{5 * 0x1p-25, 0x0002},                 // 2.5 units: tie to even 2
		{-0x1p-24 * 1023, 0x83ff},             // largest subnormal
		{math.SmallestNonzeroFloat64, 0x0000}, // float64 subnormal
		{-1e-300, 0x8000},
		{math.NaN(), 0x7e00},
		{math.Float64frombits(0xfff0000000000001), 0x7e00}, // signalling, negative NaN
	}
	for _, tc := range cases {
		if got := Float16Bits(tc.in); got != tc.want {
			t.Errorf("Float16Bits(%g [%#x]) = %#04x, want %#04x", tc.in, math.Float64bits(tc.in), got, tc.want)
		}
	}
	back := map[uint16]float64{0x3c00: 1, 0x7bff: 65504, 0x0001: 0x1p-24, 0x0400: 0x1p-14, 0xfc00: math.Inf(-1), 0x8000: math.Copysign(0, -1)}
	for h, want := range back {
		if got := Float16Frombits(h); !sameFloat(got, want) {
			t.Errorf("Float16Frombits(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsNaN(Float16Frombits(0x7c01)) {
		t.Errorf("Float16Frombits(0x7c01) is not NaN")
	}
}

// TestFloat16Exhaustive checks every finite half: exact round trip, and
// rounding at, just above and just below each midpoint to the next half.
func TestFloat16Exhaustive(t *testing.T) {
	for h := uint16(0); h < 0x7c00; h++ {
		for _, sign := range []uint16{0, 0x8000} {
			if got := Float16Bits(Float16Frombits(sign | h)); got != sign|h {
				t.Fatalf("round trip %#04x -> %#04x", sign|h, got)
			}
		}
		lo, hi := Float16Frombits(h), Float16Frombits(h+1) // h+1 = 0x7c00 is Inf
		if h == 0x7bff {
			hi = 65536
		}
		mid := (lo + hi) / 2
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		checks := []struct {
			v    float64
			want uint16
		}{{mid, even}, {math.Nextafter(mid, math.Inf(1)), h + 1}, {math.Nextafter(mid, 0), h}}
		for _, c := range checks {
			if got := Float16Bits(c.v); got != c.want {
				t.Fatalf("Float16Bits(%g) = %#04x, want %#04x (between %#04x and %#04x)", c.v, got, c.want, h, h+1)
			}
			if got := Float16Bits(-c.v); got != 0x8000|c.want {
				t.Fatalf("Float16Bits(%g) = %#04x, want %#04x", -c.v, got, 0x8000|c.want)
			}
		}
	}
}

func TestEncodeChunkDeterministicWithContentSize(t *testing.T) {
	cases := []struct {
		name       string
		dtype      string
		chunks     [2]int
		rows, cols int
		single     bool // zstd single-segment frame expected
	}{
		{"tiny float16", "float16", [2]int{1, 1}, 1, 1, true},
		{"small padded float32", "float32", [2]int{4, 4}, 3, 2, true},
		{"1.6 MB float64", "float64", [2]int{400, 500}, 399, 500, true},      // klauspost's choice
		{"8.4 MB float64", "float64", [2]int{1030, 1024}, 1030, 1000, false}, // above its window
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := ArraySpec{Name: "s", Shape: tc.chunks, Chunks: tc.chunks, DType: tc.dtype}
			vals := testValues(tc.rows, tc.cols)
			a, err := EncodeChunk(spec, tc.rows, tc.cols, vals)
			if err != nil {
				t.Fatal(err)
			}
			// A different NaN payload must not change the bytes.
			vals[0] = math.Float64frombits(0xfff0000000000123)
			b, err := EncodeChunk(spec, tc.rows, tc.cols, vals)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatal("same input, different bytes")
			}
			raw := tc.chunks[0] * tc.chunks[1] * itemSize(tc.dtype)
			var h zstd.Header
			if err := h.Decode(a); err != nil || !h.HasFCS || h.FrameContentSize != uint64(raw) || h.SingleSegment != tc.single {
				t.Fatalf("frame header %+v (err %v), want content size %d, single segment %v", h, err, raw, tc.single)
			}
			dec, err := zstdDec.DecodeAll(a, nil)
			if err != nil || len(dec) != raw {
				t.Fatalf("decoded %d bytes (err %v), want %d", len(dec), err, raw)
			}
			if n := len(a) - h.HeaderSize; n <= 0 {
				t.Fatalf("empty frame body")
			}
		})
	}
}

func TestMarkCompleteKeepsAttrs(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	big := int64(1<<62 + 12345) // above 2^53: must survive exactly
	spec := ArraySpec{Name: "scores", Shape: [2]int{3, 2}, Chunks: [2]int{2, 2}, DType: "float32",
		Attrs: map[string]any{"queries": []any{big, int64(-7), int64(3)}, "targets": []any{"a", "b"}, "max_dist": 12.5, "complete": "ignored"}}
	if err := Create(ctx, out, []ArraySpec{spec}); err != nil {
		t.Fatal(err)
	}
	if spec.Attrs["complete"] != "ignored" {
		t.Fatal("Create modified the caller's attrs")
	}
	check := func(complete bool) {
		t.Helper()
		z, err := Open(ctx, out, "scores")
		if err != nil {
			t.Fatal(err)
		}
		if z.Complete() != complete {
			t.Fatalf("Complete() = %v, want %v", z.Complete(), complete)
		}
		q, _ := z.Attrs["queries"].([]any)
		if len(q) != 3 || q[0] != json.Number("4611686018427400249") || q[1] != json.Number("-7") {
			t.Fatalf("queries = %#v", z.Attrs["queries"])
		}
		if tg, _ := z.Attrs["targets"].([]any); len(tg) != 2 || tg[1] != "b" {
			t.Fatalf("targets = %#v", z.Attrs["targets"])
		}
		if z.Attrs["max_dist"] != json.Number("12.5") {
			t.Fatalf("max_dist = %#v", z.Attrs["max_dist"])
		}
	}
	check(false)
	if err := MarkComplete(ctx, out, spec); err != nil {
		t.Fatal(err)
	}
	check(true)
	raw, err := os.ReadFile(filepath.Join(out, "scores", ".zattrs"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(out, "scores", ".zarray"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(meta), `"dtype": "<f4"`) || !strings.Contains(string(meta), `"fill_value": "NaN"`) {
		t.Fatalf(".zarray:\n%s", meta)
	}
	if !strings.Contains(string(raw), "4611686018427400249") {
		t.Fatalf(".zattrs lost the exact id:\n%s", raw)
	}
	if err := MarkComplete(ctx, t.TempDir(), spec); err == nil || !strings.Contains(err.Error(), ".zattrs") {
		t.Fatalf("MarkComplete without Create: err = %v, want one naming .zattrs", err)
	}
}

func TestMissingChunkReadsNaN(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	spec := ArraySpec{Name: "scores", Shape: [2]int{5, 5}, Chunks: [2]int{2, 3}, DType: "float32"}
	if err := Create(ctx, out, []ArraySpec{spec}); err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, 25)
	for k := range vals {
		vals[k] = float64(k)
	}
	writeArray(t, out, spec, vals, [2]int{1, 1}) // rows 2-3, cols 3-4
	z, err := Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	// A temporary file left by an interrupted write is not a chunk.
	if err := os.WriteFile(filepath.Join(out, "scores", "1.1.tmp-0123abcd"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	written, err := z.WrittenChunks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		i, j int
		want bool
	}{{0, 0, true}, {1, 1, false}, {2, 1, true}} {
		if written[[2]int{c.i, c.j}] != c.want {
			t.Errorf("chunk (%d, %d) written: %v; want %v", c.i, c.j, written[[2]int{c.i, c.j}], c.want)
		}
	}
	if n := len(written); n != 5 {
		t.Errorf("%d chunks listed as written, want 5 (3×2 less (1, 1)): %v", n, written)
	}
	got, err := z.Read(ctx, 0, 5, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 5; r++ {
		for c := 0; c < 5; c++ {
			missing := r >= 2 && r < 4 && c >= 3
			if g := got[r*5+c]; missing != math.IsNaN(g) || !missing && g != vals[r*5+c] {
				t.Errorf("[%d,%d] = %v (missing chunk: %v)", r, c, g, missing)
			}
		}
	}
}

func TestErrorsNameThePathAndProblem(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	good := ArraySpec{Name: "scores", Shape: [2]int{5, 5}, Chunks: [2]int{2, 2}, DType: "float32"}
	bad := func(f func(*ArraySpec)) ArraySpec { s := good; f(&s); return s }
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"dtype", Create(ctx, out, []ArraySpec{bad(func(s *ArraySpec) { s.DType = "int8" })}), []string{out, "int8"}},
		{"chunks", Create(ctx, out, []ArraySpec{bad(func(s *ArraySpec) { s.Chunks = [2]int{0, 2} })}), []string{out, "chunk shape"}},
		{"name", Create(ctx, out, []ArraySpec{bad(func(s *ArraySpec) { s.Name = "a/b" })}), []string{"a/b"}},
		{"twice", Create(ctx, out, []ArraySpec{good, good}), []string{"twice"}},
		{"attrs", Create(ctx, out, []ArraySpec{bad(func(s *ArraySpec) { s.Attrs = map[string]any{"x": math.NaN()} })}), []string{".zattrs", "JSON"}},
		{"region", func() error { _, err := EncodeChunk(good, 3, 1, []float64{1, 2, 3}); return err }(), []string{"scores", "3x1"}},
		{"len", func() error { _, err := EncodeChunk(good, 2, 2, []float64{1}); return err }(), []string{"1 values"}},
		{"grid", WriteChunk(ctx, out, good, 3, 0, []byte{1}), []string{filepath.Join(out, "scores", "3.0"), "grid"}},
		{"open", func() error { _, err := Open(ctx, out, "nope"); return err }(), []string{filepath.Join(out, "nope", ".zarray")}},
	}
	for _, tc := range cases {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, tc.err, w)
			}
		}
	}
	if err := Create(ctx, out, []ArraySpec{good}); err != nil {
		t.Fatal(err)
	}
	z, err := Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Read(ctx, 0, 6, 0, 1); err == nil || !strings.Contains(err.Error(), "outside shape") {
		t.Errorf("Read outside the shape: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "scores", "0.0"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := z.Read(ctx, 0, 1, 0, 1); err == nil || !strings.Contains(err.Error(), filepath.Join(out, "scores", "0.0")) {
		t.Errorf("corrupt chunk: err = %v", err)
	}
	if d, ok := errors.AsType[*files.DamagedError](z.CheckChunk(ctx, 0, 0)); !ok || d.Path != filepath.Join(out, "scores", "0.0") || d.Advice != ChunkCorruptAdvice {
		t.Errorf("CheckChunk of a corrupt chunk: want a *files.DamagedError naming it, with ChunkCorruptAdvice, got %#v", d)
	}
}

// pyExpect is the JSON handed to testdata/check_zarr.py.
type pyExpect struct {
	Queries []any     `json:"queries"`
	Targets []any     `json:"targets"`
	Arrays  []pyArray `json:"arrays"`
	// PyOut is where the script writes arrays with zarr-python for the Go
	// reader to check.
	PyOut string `json:"py_out"`
	// Source is the float64 bit patterns of the values, row-major, before
	// missing chunks are blanked; for py_out arrays.
	Source []uint64 `json:"source_bits"`
	Shape  [2]int   `json:"shape"`
	Chunks [2]int   `json:"chunks"`
	// Ramp is an array of big chunks (windowed zstd frames) holding
	// float64(k)/7 - 3.5 at flat index k, which the script recomputes.
	Ramp pyRamp `json:"ramp"`
}

type pyRamp struct {
	Path   string `json:"path"`
	Shape  [2]int `json:"shape"`
	Chunks [2]int `json:"chunks"`
	DType  string `json:"dtype"`
}

type pyArray struct {
	Name     string   `json:"name"`
	DType    string   `json:"dtype"` // numpy dtype string, e.g. "<f2"
	Complete bool     `json:"complete"`
	Bits     []uint64 `json:"bits"` // float64 bits of what was written (NaN where missing)
}

// TestZarrPythonReadsOurArrays checks with Debian's zarr-python that our
// arrays open as the contract says, that numpy's float64->dtype conversion
// gives the same values as ours, and that our reader reads arrays written by
// zarr-python.
func TestZarrPythonReadsOurArrays(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import zarr").CombinedOutput(); err != nil {
		msg := "skipping: " + python + " cannot import zarr (apt-get install python3-zarr python3-numcodecs): " + strings.TrimSpace(string(out)) + " " + err.Error()
		if os.Getenv("NBLAST_REQUIRE_PYTHON_ZARR") == "1" {
			t.Fatal(msg + " [NBLAST_REQUIRE_PYTHON_ZARR=1]")
		}
		t.Skip(msg)
	}
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	shape, chunks := [2]int{7, 10}, [2]int{3, 4} // 3x3 chunk grid with edges
	queries := []any{int64(1<<53 + 1), int64(9007199254740993123 / 1000), int64(-(1 << 60) - 3), int64(1), int64(2), int64(3), int64(1<<63 - 1)}
	targets := make([]any, shape[1])
	for k := range targets {
		targets[k] = int64(1<<54 + 2*k + 1)
	}
	vals := testValues(shape[0], shape[1])
	exp := pyExpect{Queries: queries, Targets: targets, PyOut: filepath.Join(dir, "py"), Shape: shape, Chunks: chunks}
	for _, v := range vals {
		exp.Source = append(exp.Source, math.Float64bits(v))
	}
	var specs []ArraySpec
	for _, dtype := range []string{"float32", "float16", "float64"} {
		specs = append(specs, ArraySpec{Name: "scores_" + dtype, Shape: shape, Chunks: chunks, DType: dtype,
			Attrs: map[string]any{"queries": queries, "targets": targets, "scores": "forward"}})
	}
	specs[0].Name = "scores" // the contract's default array
	if err := Create(ctx, out, specs); err != nil {
		t.Fatal(err)
	}
	for k, spec := range specs {
		pa := pyArray{Name: spec.Name, DType: zarrDType[spec.DType], Complete: k != 2}
		var skip [][2]int
		if !pa.Complete { // leave the middle chunk out: it must read as NaN
			skip = append(skip, [2]int{1, 1})
		}
		writeArray(t, out, spec, vals, skip...)
		for r := 0; r < shape[0]; r++ {
			for c := 0; c < shape[1]; c++ {
				v := vals[r*shape[1]+c]
				if !pa.Complete && r/chunks[0] == 1 && c/chunks[1] == 1 {
					v = math.NaN()
				}
				pa.Bits = append(pa.Bits, math.Float64bits(v))
			}
		}
		if pa.Complete {
			if err := MarkComplete(ctx, out, spec); err != nil {
				t.Fatal(err)
			}
		}
		exp.Arrays = append(exp.Arrays, pa)
	}
	ramp := ArraySpec{Name: "ramp", Shape: [2]int{1031, 1024}, Chunks: [2]int{1030, 1024}, DType: "float64"} // 8.4 MB chunks
	if err := Create(ctx, filepath.Join(dir, "ramp"), []ArraySpec{ramp}); err != nil {
		t.Fatal(err)
	}
	rv := make([]float64, ramp.Shape[0]*ramp.Shape[1])
	for k := range rv {
		rv[k] = float64(k)/7 - 3.5
	}
	writeArray(t, filepath.Join(dir, "ramp"), ramp, rv)
	exp.Ramp = pyRamp{filepath.Join(dir, "ramp", "ramp"), ramp.Shape, ramp.Chunks, zarrDType[ramp.DType]}
	b, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	expPath := filepath.Join(dir, "expect.json")
	if err := os.WriteFile(expPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "check_zarr.py"), out, expPath)
	res, err := cmd.CombinedOutput()
	t.Logf("check_zarr.py:\n%s", res)
	if err != nil {
		t.Fatalf("check_zarr.py failed: %v", err)
	}

	// Arrays written by zarr-python: zstd <f4, and uncompressed >f8 with
	// "/" as dimension separator.
	for _, c := range []struct{ name, dtype string }{{"py_zstd_f4", "float32"}, {"py_raw_f8", "float64"}} {
		z, err := Open(ctx, exp.PyOut, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if z.Shape != shape || z.Chunks != chunks || z.DType != c.dtype {
			t.Fatalf("%s: metadata %v %v %s", c.name, z.Shape, z.Chunks, z.DType)
		}
		got, err := z.Read(ctx, 0, shape[0], 0, shape[1])
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range vals {
			if want := stored(c.dtype, v); !sameFloat(got[k], want) {
				t.Errorf("%s[%d] = %v, want %v", c.name, k, got[k], want)
			}
		}
	}
}
