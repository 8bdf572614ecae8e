package dotprops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/internal/parquettest"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
)

// goldenFile is a navis-layout Parquet file of the shared data and its CSV twin.
type goldenFile struct {
	parquet, csv string
	intIDs       bool
	float32      bool // float columns stored as FLOAT
}

var goldenFiles = []goldenFile{
	{"golden/synthetic.dotprops.parquet", "golden/synthetic.dotprops.csv", true, false},
	{"golden/synthetic.dotprops.str_ids.parquet", "golden/synthetic.dotprops.csv", false, false},
	{"golden/synthetic.dotprops.float32.parquet", "golden/synthetic.dotprops.csv", true, true},
	{"golden/synthetic.dotprops.interleaved.parquet", "golden/synthetic.dotprops.csv", true, false},
	{"neurons/navis_examples_k5_res1um.dotprops.parquet", "neurons/navis_examples_k5_res1um.dotprops.csv", true, false},
}

// round is what a value of the CSV becomes in the Parquet file.
func (g goldenFile) round(v float64) float64 {
	if g.float32 {
		return float64(float32(v))
	}
	return v
}

func TestReadDotpropsGolden(t *testing.T) {
	dir := reference.Dir(t)
	ctx := context.Background()
	for _, g := range goldenFiles {
		t.Run(filepath.Base(g.parquet), func(t *testing.T) {
			want, err := reference.LoadDotpropsCSV(filepath.Join(dir, g.csv), g.intIDs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadDotpropsFile(ctx, filepath.Join(dir, g.parquet), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d neurons, want %d", len(got), len(want))
			}
			for i, w := range want {
				d := got[i]
				if d.ID != w.ID {
					t.Fatalf("neuron %d: id %+v, want %+v", i, d.ID, w.ID)
				}
				if d.Len() != w.Len() || len(d.Vectors) != w.Len() || len(d.Alpha) != w.Len() {
					t.Fatalf("neuron %s: %d points, %d vectors, %d alpha, want %d", w.ID, d.Len(), len(d.Vectors), len(d.Alpha), w.Len())
				}
				for j := range w.Points {
					for k := 0; k < 3; k++ {
						if d.Points[j][k] != g.round(w.Points[j][k]) {
							t.Fatalf("neuron %s point %d[%d] = %v, want %v", w.ID, j, k, d.Points[j][k], g.round(w.Points[j][k]))
						}
						if d.Vectors[j][k] != g.round(w.Vectors[j][k]) {
							t.Fatalf("neuron %s vector %d[%d] = %v, want %v", w.ID, j, k, d.Vectors[j][k], g.round(w.Vectors[j][k]))
						}
					}
					if d.Alpha[j] != g.round(w.Alpha[j]) {
						t.Fatalf("neuron %s alpha %d = %v, want %v", w.ID, j, d.Alpha[j], g.round(w.Alpha[j]))
					}
				}
			}
		})
	}
}

func TestReadNeuronIndexGolden(t *testing.T) {
	dir := reference.Dir(t)
	ctx := context.Background()
	for _, g := range goldenFiles {
		t.Run(filepath.Base(g.parquet), func(t *testing.T) {
			want, err := reference.LoadDotpropsCSV(filepath.Join(dir, g.csv), g.intIDs)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, g.parquet)
			got, err := ReadNeuronIndex(ctx, p, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d neurons, want %d", len(got), len(want))
			}
			for i, w := range want {
				n := got[i]
				if n.ID != w.ID || n.Points != w.Len() || n.File != p {
					t.Fatalf("neuron %d: %+v, want id %s, %d points, file %s", i, n, w.ID, w.Len(), p)
				}
				var c [3]float64
				for _, pt := range w.Points {
					for k := range c {
						c[k] += g.round(pt[k])
					}
				}
				for k := range c {
					c[k] /= float64(w.Len())
					if math.Abs(n.Centroid[k]-c[k]) > 1e-9 {
						t.Fatalf("neuron %s: centroid %v, want %v", w.ID, n.Centroid, c)
					}
				}
			}
		})
	}
}

// TestGoldenIDArrival pins how the shared files' neuron column arrives
// through pqarrow: DuckDB dictionary-encodes it in Parquet, but without an
// ARROW:schema key pqarrow decodes INT64 ids to a plain Int64 array; STRING
// ids are read through their Parquet dictionary (SetReadDict) and arrive as
// one *array.Dictionary chunk per row group, each with its own dictionary;
// (*input).read reads chunk by chunk, so every column has (at least) one
// chunk per row group.
func TestGoldenIDArrival(t *testing.T) {
	dir := reference.Dir(t)
	ctx := context.Background()
	for _, g := range goldenFiles {
		in, err := openInput(ctx, filepath.Join(dir, g.parquet), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cols, release, err := in.read(ctx, []string{"neuron", "x"})
		if err != nil {
			t.Fatal(err)
		}
		c := cols["neuron"]
		t.Logf("%s: %d row groups; neuron %s in %d chunk(s); x in %d chunk(s)", g.parquet, in.rdr.NumRowGroups(), c.DataType(), len(c.Chunks()), len(cols["x"].Chunks()))
		for _, ch := range c.Chunks() {
			_, isDict := ch.(*array.Dictionary)
			_, isInt := ch.(*array.Int64)
			if g.intIDs && !isInt || !g.intIDs && !isDict {
				t.Errorf("%s: neuron chunk arrived as %T", g.parquet, ch)
			}
		}
		if !g.intIDs && len(c.Chunks()) != in.rdr.NumRowGroups() {
			t.Errorf("%s: %d neuron chunks for %d row groups", g.parquet, len(c.Chunks()), in.rdr.NumRowGroups())
		}
		release()
		in.close()
	}
}

// pqCol is one column of a hand-made test file.
type pqCol struct {
	name string
	arr  arrow.Array
}

func f64(vals ...float64) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func f32(vals ...float32) arrow.Array {
	b := array.NewFloat32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func i64(vals ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func i32(vals ...int32) arrow.Array {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func strs(vals ...string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func largeStrs(vals ...string) arrow.Array {
	b := array.NewLargeStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

// dictStrs builds a dictionary<int32, utf8> array.
func dictStrs(vals ...string) arrow.Array {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, v := range vals {
		if err := b.AppendString(v); err != nil {
			panic(err)
		}
	}
	return b.NewArray()
}

// writePQ writes cols to path with pqarrow, splitting the rows into row
// groups of rowGroup rows (0: one row group), with key/value metadata meta.
// With storeSchema the Arrow schema is stored too (as pyarrow does), so
// dictionary and large-string types survive.
func writePQ(t testing.TB, path string, cols []pqCol, meta map[string]string, rowGroup int, storeSchema bool) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
	}
	sc := arrow.NewSchema(fields, nil)
	rows := int64(0)
	if len(arrs) > 0 {
		rows = int64(arrs[0].Len())
	}
	rec := array.NewRecord(sc, arrs, rows)
	defer rec.Release()
	writePQRecords(t, path, []arrow.Record{rec}, meta, rowGroup, storeSchema)
}

// writePQRecords writes each record as a row group (split further into
// rowGroup rows when rowGroup > 0).
func writePQRecords(t testing.TB, path string, recs []arrow.Record, meta map[string]string, rowGroup int, storeSchema bool) {
	t.Helper()
	sc := recs[0].Schema()
	var buf bytes.Buffer
	opts := []pqarrow.WriterOption{}
	if storeSchema {
		opts = append(opts, pqarrow.WithStoreSchema())
	}
	props := parquet.NewWriterProperties()
	if rowGroup > 0 {
		props = parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowGroup)))
	}
	fw, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.NewArrowWriterProperties(opts...))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if err := fw.AppendKeyValueMetadata(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range recs {
		if rowGroup > 0 || len(recs) > 1 {
			err = fw.Write(rec) // a new row group, split into rowGroup rows
		} else {
			err = fw.WriteBuffered(rec)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodCols is a valid 5-point file: neuron 7 (3 points) and neuron 3 (2
// points), rows interleaved 7, 3, 7, 3, 7.
func goodCols() []pqCol {
	return []pqCol{
		{"x", f64(1, 10, 2, 11, 3)},
		{"y", f64(0, 0, 0, 0, 0)},
		{"z", f64(0, 5, 0, 5, 0)},
		{"vect_x", f64(1, 0, 1, 0, 1)},
		{"vect_y", f64(0, 1, 0, 1, 0)},
		{"vect_z", f64(0, 0, 0, 0, 0)},
		{"alpha", f64(0.5, 0.25, 0.5, 0.25, 1)},
		{"neuron", i64(7, 3, 7, 3, 7)},
	}
}

func withCol(cols []pqCol, name string, arr arrow.Array) []pqCol {
	out := append([]pqCol(nil), cols...)
	for i := range out {
		if out[i].name == name {
			out[i].arr = arr
			return out
		}
	}
	return append(out, pqCol{name, arr})
}

func withoutCol(cols []pqCol, name string) []pqCol {
	var out []pqCol
	for _, c := range cols {
		if c.name != name {
			out = append(out, c)
		}
	}
	return out
}

func renameCol(cols []pqCol, from, to string) []pqCol {
	out := append([]pqCol(nil), cols...)
	for i := range out {
		if out[i].name == from {
			out[i].name = to
		}
	}
	return out
}

func wantGood(strIDs bool) []*scoring.Dotprops {
	id7, id3 := scoring.IntID(7), scoring.IntID(3)
	if strIDs {
		id7, id3 = scoring.StrID("n7"), scoring.StrID("n3")
	}
	return []*scoring.Dotprops{
		{ID: id7, Points: [][3]float64{{1, 0, 0}, {2, 0, 0}, {3, 0, 0}}, Vectors: [][3]float64{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}}, Alpha: []float64{0.5, 0.5, 1}},
		{ID: id3, Points: [][3]float64{{10, 0, 5}, {11, 0, 5}}, Vectors: [][3]float64{{0, 1, 0}, {0, 1, 0}}, Alpha: []float64{0.25, 0.25}},
	}
}

// TestReadVariants reads hand-made files in the layouts a foreign writer
// may produce: id column types, float32, chunked columns over row groups,
// dictionary arrays, no alpha.
func TestReadVariants(t *testing.T) {
	ctx := context.Background()
	sids := []string{"n7", "n3", "n7", "n3", "n7"}
	noAlpha := wantGood(false)
	for _, d := range noAlpha {
		d.Alpha = nil
	}
	cases := []struct {
		name        string
		cols        []pqCol
		rowGroup    int
		storeSchema bool
		want        []*scoring.Dotprops
	}{
		{"int64", goodCols(), 0, false, wantGood(false)},
		{"int64 row groups of 2", goodCols(), 2, false, wantGood(false)},
		{"int32 ids", withCol(goodCols(), "neuron", i32(7, 3, 7, 3, 7)), 0, false, wantGood(false)},
		{"string ids", withCol(goodCols(), "neuron", strs(sids...)), 0, false, wantGood(true)},
		{"string ids row groups of 1", withCol(goodCols(), "neuron", strs(sids...)), 1, false, wantGood(true)},
		{"large string ids", withCol(goodCols(), "neuron", largeStrs(sids...)), 2, true, wantGood(true)},
		{"dictionary string ids", withCol(goodCols(), "neuron", dictStrs(sids...)), 0, true, wantGood(true)},
		{"float32", []pqCol{
			{"x", f32(1, 10, 2, 11, 3)}, {"y", f32(0, 0, 0, 0, 0)}, {"z", f32(0, 5, 0, 5, 0)},
			{"vect_x", f32(1, 0, 1, 0, 1)}, {"vect_y", f32(0, 1, 0, 1, 0)}, {"vect_z", f32(0, 0, 0, 0, 0)},
			{"alpha", f32(0.5, 0.25, 0.5, 0.25, 1)}, {"neuron", i64(7, 3, 7, 3, 7)},
		}, 2, false, wantGood(false)},
		{"no alpha", withoutCol(goodCols(), "alpha"), 0, false, noAlpha},
		{"extra columns and other order", append([]pqCol{{"neuron", i64(7, 3, 7, 3, 7)}, {"label", strs("a", "b", "c", "d", "e")}}, withoutCol(goodCols(), "neuron")...), 0, false, wantGood(false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.parquet")
			writePQ(t, p, tc.cols, map[string]string{"7:units": "1 micrometer"}, tc.rowGroup, tc.storeSchema)
			got, err := ReadDotpropsFile(ctx, p, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", dpsString(got), dpsString(tc.want))
			}
			idx, err := ReadNeuronIndex(ctx, p, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantIdx := []NeuronInfo{
				{ID: tc.want[0].ID, Points: 3, Centroid: [3]float64{2, 0, 0}, Min: [3]float64{1, 0, 0}, Max: [3]float64{3, 0, 0}, File: p},
				{ID: tc.want[1].ID, Points: 2, Centroid: [3]float64{10.5, 0, 5}, Min: [3]float64{10, 0, 5}, Max: [3]float64{11, 0, 5}, File: p},
			}
			if !reflect.DeepEqual(idx, wantIdx) {
				t.Fatalf("index %+v, want %+v", idx, wantIdx)
			}
		})
	}
}

// TestReadDictionaryRowGroups reads a dictionary<utf8> id column stored
// over two row groups with different dictionaries ([n7] and [n3, n7]), as a
// pyarrow writer with a categorical column may produce. (pqarrow's
// FileWriter.Write cannot slice dictionary arrays into row groups, so the
// test writes one record per row group.)
func TestReadDictionaryRowGroups(t *testing.T) {
	good := goodCols()
	var recs []arrow.Record
	for _, rg := range [][2]int{{0, 1}, {1, 5}} {
		fields := make([]arrow.Field, len(good))
		arrs := make([]arrow.Array, len(good))
		for i, c := range good {
			arrs[i] = array.NewSlice(c.arr, int64(rg[0]), int64(rg[1]))
			if c.name == "neuron" {
				arrs[i] = dictStrs([]string{"n7", "n3", "n7", "n3", "n7"}[rg[0]:rg[1]]...)
			}
			fields[i] = arrow.Field{Name: c.name, Type: arrs[i].DataType(), Nullable: true}
		}
		recs = append(recs, array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(rg[1]-rg[0])))
	}
	p := filepath.Join(t.TempDir(), "dict.parquet")
	writePQRecords(t, p, recs, nil, 0, true)
	got, err := ReadDotpropsFile(context.Background(), p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := wantGood(true); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", dpsString(got), dpsString(want))
	}
}

func dpsString(dps []*scoring.Dotprops) []scoring.Dotprops {
	out := make([]scoring.Dotprops, len(dps))
	for i, d := range dps {
		out[i] = *d
	}
	return out
}

func TestReadErrors(t *testing.T) {
	ctx := context.Background()
	good := goodCols()
	nanX := withCol(good, "x", f64(1, 10, math.NaN(), 11, 3))
	zeroVec := withCol(withCol(good, "vect_x", f64(1, 0, 0, 0, 1)), "vect_y", f64(0, 1, 0, 1, 0))
	longVec := withCol(good, "vect_x", f64(1, 0, 2, 0, 1))
	badAlpha := withCol(good, "alpha", f64(0.5, 1.5, 0.5, 0.25, 1))
	nullX := func() arrow.Array {
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		defer b.Release()
		b.AppendValues([]float64{1, 10, 2, 0, 3}, []bool{true, true, true, false, true})
		return b.NewArray()
	}()
	empty := []pqCol{
		{"x", f64()}, {"y", f64()}, {"z", f64()}, {"vect_x", f64()}, {"vect_y", f64()}, {"vect_z", f64()}, {"neuron", i64()},
	}
	cases := []struct {
		name string
		cols []pqCol // nil: raw bytes
		raw  string
		meta map[string]string
		want []string // substrings of the error, besides the file name
		// index: ReadNeuronIndex fails too (it reads neuron, x, y, z only)
		index bool
	}{
		{name: "csv renamed parquet", raw: "neuron_id,x,y,z,vx,vy,vz,alpha\n1,0,0,0,1,0,0,1\n", want: []string{"not a Parquet file"}, index: true},
		{name: "empty bytes", raw: "", want: []string{"not a Parquet file"}, index: true},
		{name: "zero rows", cols: empty, want: []string{"0 rows", "no neurons"}, index: true},
		{name: "missing vect_z", cols: withoutCol(good, "vect_z"), want: []string{"missing column(s) vect_z", "the file has columns x, y, z, vect_x, vect_y, alpha, neuron"}},
		{name: "missing x and y", cols: withoutCol(withoutCol(good, "x"), "y"), want: []string{"missing column(s) x, y"}, index: true},
		{name: "renamed neuron", cols: renameCol(good, "neuron", "neuron_id"), want: []string{"missing column(s) neuron", "neuron_id"}, index: true},
		{name: "renamed vect", cols: renameCol(renameCol(renameCol(good, "vect_x", "vx"), "vect_y", "vy"), "vect_z", "vz"), want: []string{"missing column(s) vect_x, vect_y, vect_z", "vx, vy, vz"}},
		{name: "x as int64", cols: withCol(good, "x", i64(1, 10, 2, 11, 3)), want: []string{"column x has type INT64", "want DOUBLE or FLOAT"}, index: true},
		{name: "alpha as string", cols: withCol(good, "alpha", strs("a", "b", "c", "d", "e")), want: []string{"column alpha has type BYTE_ARRAY", "want DOUBLE or FLOAT"}},
		{name: "neuron as double", cols: withCol(good, "neuron", f64(7, 3, 7, 3, 7)), want: []string{"column neuron has type DOUBLE", "want INT64 or STRING"}, index: true},
		{name: "null x", cols: withCol(good, "x", nullX), want: []string{"column x is null at row 3"}, index: true},
		{name: "NaN coordinate", cols: nanX, want: []string{"neuron 7", "non-finite coordinate"}, index: true},
		{name: "zero vector", cols: zeroVec, want: []string{"neuron 7", "point 1 has a zero tangent vector"}},
		{name: "non-unit vector", cols: longVec, want: []string{"neuron 7", "not a unit vector"}},
		{name: "alpha out of range", cols: badAlpha, want: []string{"neuron 3", "alpha 1.5"}},
		{name: "nanometre units", cols: good, meta: map[string]string{"7:id": "7", "7:units": "8 nanometer"}, want: []string{"neuron 7", `"8 nanometer"`, "read as µm", "--scale 0.008"}, index: true},
		{name: "millimetre units", cols: good, meta: map[string]string{"3:units": "mm"}, want: []string{"neuron 3", "read as µm", "--scale 1000"}, index: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad_input.parquet")
			if tc.cols == nil {
				if err := os.WriteFile(p, []byte(tc.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				writePQ(t, p, tc.cols, tc.meta, 0, false)
			}
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				msg := err.Error()
				for _, w := range append([]string{p}, tc.want...) {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: error %q does not contain %q", what, msg, w)
					}
				}
			}
			dps, err := ReadDotpropsFile(ctx, p, ReadOptions{})
			check("ReadDotpropsFile", err)
			if dps != nil {
				t.Errorf("ReadDotpropsFile returned neurons with an error")
			}
			_, err = ReadNeuronIndex(ctx, p, ReadOptions{})
			if tc.index {
				check("ReadNeuronIndex", err)
			} else if err != nil {
				t.Errorf("ReadNeuronIndex: %v", err)
			}
		})
	}

	t.Run("no such file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "absent.parquet")
		_, err := ReadDotpropsFile(ctx, p, ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("error %v does not name %s", err, p)
		}
	})
}

func TestParseUnits(t *testing.T) {
	const unknown = -1.0
	for _, tc := range []struct {
		units string
		um    float64 // µm per unit; unknown: ErrUnknownUnits; 0: an error
	}{
		{"1 micrometer", 1}, {"micrometer", 1}, {"um", 1}, {"µm", 1}, {"μm", 1},
		{"1 micron", 1}, {"microns", 1}, {"1.0 micrometer", 1}, {"1µm", 1},
		{" 1 Micrometre ", 1}, {"micrometers", 1}, {"1 um", 1}, {"0.001 mm", 1}, {"1000 nanometer", 1},
		{"8 nanometer", 0.008}, {"8 nm", 0.008}, {"8nm", 0.008}, {"nanometer", 0.001}, {"nm", 0.001},
		{"0.008 um", 0.008}, {"3 nanometres", 0.003}, {"2 micrometer", 2}, {"1e3 nm", 1},
		{"mm", 1000}, {"1 millimeter", 1000}, {"cm", 1e4}, {"1 meter", 1e6},
		{"None", unknown}, {"", unknown}, {"  ", unknown}, {"dimensionless", unknown}, {"1 dimensionless", unknown}, {"NaN", unknown},
		{"8 dimensionless", 0}, {"voxels", 0}, {"8 voxels", 0}, {"8", 0}, {"-8 nm", 0}, {"0 nm", 0}, {"nm nm", 0}, {"1e400 nm", 0},
	} {
		got, err := ParseUnits(tc.units)
		switch {
		case tc.um == unknown:
			if !errors.Is(err, ErrUnknownUnits) {
				t.Errorf("ParseUnits(%q) = %v, %v; want ErrUnknownUnits", tc.units, got, err)
			}
		case tc.um == 0:
			if err == nil || errors.Is(err, ErrUnknownUnits) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.units)) ||
				!strings.Contains(err.Error(), "nanometer") || !strings.Contains(err.Error(), "micrometer") {
				t.Errorf("ParseUnits(%q) = %v, %v; want an error naming the string and the accepted units", tc.units, got, err)
			}
		default:
			if err != nil || got != tc.um {
				t.Errorf("ParseUnits(%q) = %v, %v; want %v", tc.units, got, err, tc.um)
			}
		}
	}
}

// randomDotprops makes n neurons of varying sizes with unit vectors.
func randomDotprops(rng *rand.Rand, n int, strIDs, alpha bool) []*scoring.Dotprops {
	var out []*scoring.Dotprops
	for i := 0; i < n; i++ {
		id := scoring.IntID(int64(1)<<60 + int64(i)*7919) // > 2^53: must not pass through float64
		if strIDs {
			id = scoring.StrID("neuron-" + string(rune('a'+i)) + "/é")
		}
		d := &scoring.Dotprops{ID: id}
		m := 1 + rng.Intn(300)
		for j := 0; j < m; j++ {
			d.Points = append(d.Points, [3]float64{rng.NormFloat64() * 100, rng.NormFloat64() * 100, rng.Float64()})
			v := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			s := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
			d.Vectors = append(d.Vectors, [3]float64{v[0] / s, v[1] / s, v[2] / s})
			if alpha {
				d.Alpha = append(d.Alpha, rng.Float64())
			}
		}
		out = append(out, d)
	}
	return out
}

func TestWriteRoundTrip(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		name          string
		strIDs, alpha bool
	}{
		{"int ids with alpha", false, true},
		{"int ids without alpha", false, false},
		{"string ids with alpha", true, true},
		{"string ids without alpha", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dps := randomDotprops(rng, 12, tc.strIDs, tc.alpha)
			var buf bytes.Buffer
			if err := WriteDotpropsParquet(&buf, dps); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "out.parquet")
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadDotpropsFile(ctx, p, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, dps) {
				t.Fatal("round trip changed the neurons")
			}

			rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			if n := rdr.NumRowGroups(); n != 1 {
				t.Errorf("%d row groups, want 1", n)
			}
			md := rdr.MetaData()
			wantCols := []string{"x", "y", "z", "vect_x", "vect_y", "vect_z"}
			if tc.alpha {
				wantCols = append(wantCols, "alpha")
			}
			wantCols = append(wantCols, "neuron")
			var cols []string
			for i := 0; i < md.Schema.NumColumns(); i++ {
				c := md.Schema.Column(i)
				cols = append(cols, c.Name())
				want := parquet.Types.Double
				if c.Name() == "neuron" {
					want = parquet.Types.Int64
					if tc.strIDs {
						want = parquet.Types.ByteArray
					}
				}
				if c.PhysicalType() != want {
					t.Errorf("column %s: %s, want %s", c.Name(), c.PhysicalType(), want)
				}
			}
			if !reflect.DeepEqual(cols, wantCols) {
				t.Errorf("columns %v, want %v", cols, wantCols)
			}
			kv := md.KeyValueMetadata()
			for _, d := range dps {
				if v := kv.FindValue(d.ID.String() + ":units"); v == nil || *v != "1 micrometer" {
					t.Errorf("%s:units = %v, want 1 micrometer", d.ID, v)
				}
			}
			if kv.FindValue("ARROW:schema") != nil {
				t.Errorf("unexpected ARROW:schema key")
			}
		})
	}

	t.Run("mixed alpha drops alpha", func(t *testing.T) {
		dps := randomDotprops(rng, 3, false, true)
		dps[1].Alpha = nil
		var buf bytes.Buffer
		if err := WriteDotpropsParquet(&buf, dps); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "out.parquet")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadDotpropsFile(ctx, p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range got {
			if d.Alpha != nil || !reflect.DeepEqual(d.Points, dps[i].Points) {
				t.Fatalf("neuron %s: alpha %v or points changed", d.ID, d.Alpha)
			}
		}
	})

	t.Run("several batches, one row group", func(t *testing.T) {
		d := randomDotprops(rng, 1, false, true)[0]
		for d.Len() < 3*writeBatchRows+5 {
			d.Points = append(d.Points, d.Points...)
			d.Vectors = append(d.Vectors, d.Vectors...)
			d.Alpha = append(d.Alpha, d.Alpha...)
		}
		var buf bytes.Buffer
		if err := WriteDotpropsParquet(&buf, []*scoring.Dotprops{d}); err != nil {
			t.Fatal(err)
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Close()
		if rdr.NumRowGroups() != 1 || rdr.NumRows() != int64(d.Len()) {
			t.Fatalf("%d row groups, %d rows; want 1, %d", rdr.NumRowGroups(), rdr.NumRows(), d.Len())
		}
	})

	t.Run("errors", func(t *testing.T) {
		dps := randomDotprops(rng, 2, false, true)
		mixed := []*scoring.Dotprops{dps[0], {ID: scoring.StrID("s"), Points: dps[1].Points, Vectors: dps[1].Vectors}}
		dup := []*scoring.Dotprops{dps[0], dps[0]}
		bad := []*scoring.Dotprops{{ID: scoring.IntID(5), Points: [][3]float64{{0, 0, 0}}, Vectors: [][3]float64{{0, 0, 0}}}}
		for _, tc := range []struct {
			name string
			dps  []*scoring.Dotprops
			want string
		}{
			{"none", nil, "no neurons"},
			{"mixed ids", mixed, "mix int64"},
			{"duplicate", dup, "appears twice"},
			{"invalid", bad, "neuron 5: point 0 has a zero tangent vector"},
		} {
			err := WriteDotpropsParquet(&bytes.Buffer{}, tc.dps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
			}
		}
	})
}

// closeRecorder fails the test if the Parquet writer closes the caller's writer.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestWriteDoesNotCloseWriter(t *testing.T) {
	var w closeRecorder
	if err := WriteDotpropsParquet(&w, wantGood(false)); err != nil {
		t.Fatal(err)
	}
	if w.closed {
		t.Fatal("WriteDotpropsParquet closed the caller's writer")
	}
	if w.Len() == 0 {
		t.Fatal("nothing written")
	}
}

// TestGoldenRewrite writes the golden set with WriteDotpropsParquet and reads
// it back unchanged.
func TestGoldenRewrite(t *testing.T) {
	dir := reference.Dir(t)
	ctx := context.Background()
	for _, name := range []string{"golden/synthetic.dotprops.parquet", "golden/synthetic.dotprops.str_ids.parquet"} {
		dps, err := ReadDotpropsFile(ctx, filepath.Join(dir, name), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteDotpropsParquet(&buf, dps); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "rewritten.parquet")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadDotpropsFile(ctx, p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, dps) {
			t.Fatalf("%s: rewrite changed the neurons", name)
		}
	}
}

func TestExpandInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, n := range []string{"b.parquet", "a.parquet", "c.csv", "_SUCCESS", ".a.parquet.crc", ".hidden.parquet", "_meta.parquet"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	for _, tc := range []struct {
		name, spec string
		want       []string
		err        string
	}{
		{"file", a, []string{a}, ""},
		{"glob", filepath.Join(dir, "[ab].parquet"), []string{a, b}, ""},
		{"glob star", filepath.Join(dir, "?.parquet"), []string{a, b}, ""},
		{"dir", dir, []string{a, b}, ""},
		{"dir with slash", dir + string(filepath.Separator), []string{a, b}, ""},
		{"no match", filepath.Join(dir, "*.nope"), nil, "no file matches"},
		{"missing file", filepath.Join(dir, "absent.parquet"), nil, "no such file"},
		{"empty dir", emptyDir, nil, "no *.parquet files"},
		{"empty spec", "", nil, "empty input path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExpandInputs(ctx, tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.spec) {
					t.Fatalf("error %v, want one naming %q and saying %q", err, tc.spec, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpandInputsGolden(t *testing.T) {
	dir := reference.Dir(t)
	got, err := ExpandInputs(context.Background(), filepath.Join(dir, "golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("golden/: %v, want the 4 Parquet files", got)
	}
}

func BenchmarkReadDotpropsGolden(b *testing.B) {
	dir := reference.Dir(b)
	ctx := context.Background()
	for _, g := range goldenFiles {
		p := filepath.Join(dir, g.parquet)
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(g.parquet), func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := ReadDotpropsFile(ctx, p, ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("index/synthetic.dotprops.parquet", func(b *testing.B) {
		p := filepath.Join(dir, goldenFiles[0].parquet)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ReadNeuronIndex(ctx, p, ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRootRepetitionRequired: WriteDotpropsParquet writes a REQUIRED root
// (arrow-go's default is REPEATED, which some readers reject).
func TestRootRepetitionRequired(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDotpropsParquet(&buf, wantGood(false)); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if got := rdr.MetaData().Schema.Root().RepetitionType(); got != parquet.Repetitions.Required {
		t.Fatalf("root repetition %s, want %s", got, parquet.Repetitions.Required)
	}
}

// dotpropsCols is the navis layout of dps as test columns (alpha when the
// first neuron has it).
func dotpropsCols(dps []*scoring.Dotprops) []pqCol {
	var x, y, z, vx, vy, vz, alpha []float64
	var ids []int64
	for _, d := range dps {
		for j, p := range d.Points {
			x, y, z = append(x, p[0]), append(y, p[1]), append(z, p[2])
			v := d.Vectors[j]
			vx, vy, vz = append(vx, v[0]), append(vy, v[1]), append(vz, v[2])
			if d.HasAlpha() {
				alpha = append(alpha, d.Alpha[j])
			}
			ids = append(ids, d.ID.Int)
		}
	}
	cols := []pqCol{{"x", f64(x...)}, {"y", f64(y...)}, {"z", f64(z...)}, {"vect_x", f64(vx...)}, {"vect_y", f64(vy...)}, {"vect_z", f64(vz...)}}
	if dps[0].HasAlpha() {
		cols = append(cols, pqCol{"alpha", f64(alpha...)})
	}
	return append(cols, pqCol{"neuron", i64(ids...)})
}

// writeCodecPQ writes cols with the given codec (every column), the neuron
// column dictionary-encoded, in row groups of rowGroup rows.
func writeCodecPQ(t testing.TB, path string, cols []pqCol, codec compress.Compression, rowGroup int) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType()}
		arrs[i] = c.arr
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(sc, arrs, int64(arrs[0].Len()))
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(codec), parquet.WithMaxRowGroupLength(int64(rowGroup)),
		parquet.WithDictionaryDefault(false), parquet.WithDictionaryFor("neuron", true))
	parquettest.WriteRecord(t, path, rec, props)
}

// TestCorruptPagesAreErrors damages a data or dictionary page of zstd and
// snappy files at several places: every read must return an error naming
// the file, the row group and the column, never panic (arrow's codecs panic
// on corrupt input, in goroutines pqarrow's table readers start).
func TestCorruptPagesAreErrors(t *testing.T) {
	ctx := context.Background()
	dps := randomDotprops(rand.New(rand.NewSource(3)), 6, false, true)
	for _, tc := range []struct {
		name  string
		codec compress.Compression
		col   string
		dict  bool
		rg    int
		at    float64
		fill  byte
	}{
		{"zstd x middle", compress.Codecs.Zstd, "x", false, 0, 0.5, 0xff},
		{"zstd x start", compress.Codecs.Zstd, "x", false, 0, 0, 0x00},
		{"zstd vect_z end", compress.Codecs.Zstd, "vect_z", false, 1, 1, 0xa5},
		{"zstd alpha middle", compress.Codecs.Zstd, "alpha", false, 0, 0.5, 0x00},
		{"zstd neuron dictionary", compress.Codecs.Zstd, "neuron", true, 0, 0.5, 0xff},
		{"zstd neuron indices", compress.Codecs.Zstd, "neuron", false, 1, 0, 0xff},
		{"snappy x start", compress.Codecs.Snappy, "x", false, 0, 0, 0xff},
		{"snappy z start", compress.Codecs.Snappy, "z", false, 1, 0, 0xff},
		{"snappy vect_y start", compress.Codecs.Snappy, "vect_y", false, 0, 0, 0xff},
		{"snappy neuron dictionary", compress.Codecs.Snappy, "neuron", true, 1, 0, 0xff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "damaged.parquet")
			cols := dotpropsCols(dps)
			rows := cols[0].arr.Len()
			writeCodecPQ(t, p, cols, tc.codec, (rows+1)/2)
			if _, err := ReadDotpropsFile(ctx, p, ReadOptions{}); err != nil {
				t.Fatalf("before damage: %v", err)
			}
			parquettest.DamagePage(t, p, tc.rg, tc.col, tc.dict, tc.at, 8, tc.fill)
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error for a damaged page", what)
				}
				msg := err.Error()
				t.Logf("%s: %s", what, msg)
				for _, w := range []string{p + ": ", fmt.Sprintf("row group %d", tc.rg), "column " + tc.col, "corrupt"} {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: error %q does not say %q", what, msg, w)
					}
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("%s: error %q has more than one line", what, msg)
				}
			}
			_, err := ReadDotpropsFile(ctx, p, ReadOptions{})
			check("ReadDotpropsFile", err)
			_, err = ReadNeuronIndex(ctx, p, ReadOptions{})
			switch tc.col {
			case "neuron", "x", "y", "z":
				check("ReadNeuronIndex", err)
			default:
				if err != nil {
					t.Errorf("ReadNeuronIndex reads only neuron, x, y, z, but failed: %v", err)
				}
			}
		})
	}
	t.Run("WriteDotpropsParquet file", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteDotpropsParquet(&buf, dps); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "written.parquet")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		parquettest.DamagePage(t, p, 0, "y", false, 0.5, 8, 0xff)
		for what, read := range map[string]func() error{
			"ReadDotpropsFile": func() error { _, err := ReadDotpropsFile(ctx, p, ReadOptions{}); return err },
			"ReadNeuronIndex":  func() error { _, err := ReadNeuronIndex(ctx, p, ReadOptions{}); return err },
		} {
			err := read()
			if err == nil || !strings.Contains(err.Error(), p+": row group 0, column y: corrupt") {
				t.Errorf("%s: error %v, want it to name %s, row group 0 and column y", what, err, p)
			}
		}
	})
}

// unitsCols is a file of neuron 5 (3 points) and neuron 6 (1 point).
func unitsCols() []pqCol {
	return []pqCol{
		{"x", f64(1000, 2000, 4000, -8)},
		{"y", f64(10, 0, 0.5, 8)},
		{"z", f64(3, 3, 3, 1e6)},
		{"vect_x", f64(1, 0, 0, 0.6)},
		{"vect_y", f64(0, 1, 0, 0.8)},
		{"vect_z", f64(0, 0, 1, 0)},
		{"alpha", f64(0.5, 0.25, 1, 0)},
		{"neuron", i64(5, 5, 5, 6)},
	}
}

// TestReadScale reads files whose units metadata says nm (or nothing)
// with and without ReadOptions.Scale.
func TestReadScale(t *testing.T) {
	ctx := context.Background()
	raw := unitsCols()
	rawVals := func(name string) []float64 {
		for _, c := range raw {
			if c.name == name {
				return c.arr.(*array.Float64).Float64Values()
			}
		}
		panic(name)
	}
	for _, tc := range []struct {
		name  string
		meta  map[string]string
		scale float64
		errs  []string // nil: read, with coordinates times scale
	}{
		{"nm without scale", map[string]string{"5:units": "8 nanometer"}, 0,
			[]string{"neuron 5", `units "8 nanometer"`, "(0.008 µm per unit)", "coordinates are read as µm", `--units "8 nanometer"`, "--scale 0.008", "convert_units('um')"}},
		{"nm with its scale", map[string]string{"5:units": "8 nanometer", "6:units": "8 nm"}, 0.008, nil},
		{"nm with the wrong scale", map[string]string{"5:units": "8 nanometer"}, 0.001,
			[]string{"neuron 5", `units "8 nanometer"`, "(0.008 µm per unit)", "--units/--scale says 0.001 µm per unit"}},
		{"µm with a scale", map[string]string{"6:units": "1 micrometer"}, 0.008,
			[]string{"neuron 6", `units "1 micrometer"`, "(1 µm per unit)", "--units/--scale says 0.008 µm per unit"}},
		{"unknown units with a scale", map[string]string{"5:units": "1 dimensionless", "6:units": ""}, 0.008, nil},
		{"no units with a scale", nil, 0.5, nil},
		{"µm with scale 1", map[string]string{"5:units": "µm"}, 1, nil},
		{"1000 nm is µm", map[string]string{"5:units": "1000 nanometer"}, 0, nil},
		{"mm without scale", map[string]string{"6:units": "mm"}, 0, []string{"neuron 6", `units "mm"`, "(1000 µm per unit)", "--scale 1000"}},
		{"unparsable units", map[string]string{"6:units": "8 voxels"}, 0.008, []string{"neuron 6", `"8 voxels"`, "nanometer", "micrometer"}},
		{"negative scale", nil, -1, []string{"scale -1", "positive"}},
		{"NaN scale", nil, math.NaN(), []string{"scale NaN", "positive"}},
		{"overflow after scaling", nil, 1e303, []string{"neuron 6", "non-finite coordinate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "units.parquet")
			writePQ(t, p, raw, tc.meta, 0, false)
			opt := ReadOptions{Scale: tc.scale}
			dps, err := ReadDotpropsFile(ctx, p, opt)
			idx, ierr := ReadNeuronIndex(ctx, p, opt)
			if tc.errs != nil {
				for what, err := range map[string]error{"ReadDotpropsFile": err, "ReadNeuronIndex": ierr} {
					if err == nil {
						t.Fatalf("%s: no error", what)
					}
					msg := err.Error()
					t.Logf("%s: %s", what, msg)
					for _, w := range append([]string{p + ": "}, tc.errs...) {
						if !strings.Contains(msg, w) {
							t.Errorf("%s: error %q does not say %q", what, msg, w)
						}
					}
					if strings.Contains(msg, "\n") {
						t.Errorf("%s: error %q has more than one line", what, msg)
					}
				}
				return
			}
			if err != nil || ierr != nil {
				t.Fatalf("ReadDotpropsFile: %v; ReadNeuronIndex: %v", err, ierr)
			}
			scale := tc.scale
			if scale == 0 {
				scale = 1
			}
			row := 0
			for _, d := range dps {
				for j := range d.Points {
					for k, name := range []string{"x", "y", "z"} {
						if got, want := d.Points[j][k], rawVals(name)[row]*scale; got != want {
							t.Fatalf("neuron %s point %d[%d] = %v, want %v", d.ID, j, k, got, want)
						}
					}
					for k, name := range []string{"vect_x", "vect_y", "vect_z"} {
						if got, want := d.Vectors[j][k], rawVals(name)[row]; got != want {
							t.Fatalf("neuron %s vector %d[%d] = %v, want %v (vectors are not scaled)", d.ID, j, k, got, want)
						}
					}
					if got, want := d.Alpha[j], rawVals("alpha")[row]; got != want {
						t.Fatalf("neuron %s alpha %d = %v, want %v", d.ID, j, got, want)
					}
					row++
				}
			}
			// The index must agree exactly with the points it plans for.
			if len(idx) != len(dps) {
				t.Fatalf("%d index entries for %d neurons", len(idx), len(dps))
			}
			for i, d := range dps {
				w := NeuronInfo{ID: d.ID, Points: d.Len(), File: p}
				for k := range 3 {
					w.Min[k], w.Max[k] = math.Inf(1), math.Inf(-1)
					for _, pt := range d.Points {
						w.Centroid[k] += pt[k]
						w.Min[k], w.Max[k] = min(w.Min[k], pt[k]), max(w.Max[k], pt[k])
					}
					w.Centroid[k] /= float64(d.Len())
				}
				if !reflect.DeepEqual(idx[i], w) {
					t.Errorf("index %+v, want %+v (from the read points)", idx[i], w)
				}
			}
		})
	}
}

// TestReadAlphaOptions reads a file whose neuron 7 has alpha 1.3 at its
// point 1, with and without IgnoreAlpha.
func TestReadAlphaOptions(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "alpha.parquet")
	writePQ(t, p, withCol(goodCols(), "alpha", f64(0.5, 0.25, 1.3, 0.25, 1)), nil, 0, false)

	_, err := ReadDotpropsFile(ctx, p, ReadOptions{})
	if err == nil {
		t.Fatal("alpha 1.3 accepted")
	}
	msg := err.Error()
	for _, w := range []string{p + ": neuron 7", "point 1", "alpha 1.3", "outside [0, 1]", "--use_alpha", "navis.make_dotprops", "run without --use_alpha, which ignores alpha"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if _, err := ReadNeuronIndex(ctx, p, ReadOptions{}); err != nil {
		t.Errorf("ReadNeuronIndex does not read alpha, but: %v", err)
	}

	got, err := ReadDotpropsFile(ctx, p, ReadOptions{IgnoreAlpha: true})
	if err != nil {
		t.Fatalf("IgnoreAlpha: %v", err)
	}
	want := wantGood(false)
	for _, d := range want {
		d.Alpha = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("IgnoreAlpha: got %+v\nwant %+v", dpsString(got), dpsString(want))
	}

	// With IgnoreAlpha the column is not read: not even its type matters.
	p2 := filepath.Join(t.TempDir(), "alpha_strings.parquet")
	writePQ(t, p2, withCol(goodCols(), "alpha", strs("a", "b", "c", "d", "e")), nil, 0, false)
	if got, err := ReadDotpropsFile(ctx, p2, ReadOptions{IgnoreAlpha: true}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("IgnoreAlpha, string alpha column: %v, %v", dpsString(got), err)
	}

	p3 := filepath.Join(t.TempDir(), "alpha_nan.parquet")
	writePQ(t, p3, withCol(goodCols(), "alpha", f64(0.5, math.NaN(), 1, 0.25, 1)), nil, 0, false)
	if _, err := ReadDotpropsFile(ctx, p3, ReadOptions{}); err == nil || !strings.Contains(err.Error(), p3+": neuron 3") || !strings.Contains(err.Error(), "alpha NaN") || !strings.Contains(err.Error(), "--use_alpha") {
		t.Errorf("NaN alpha: error %v", err)
	}
}

// TestValidationAdvice: each invalid neuron gets advice that fits its
// problem, on one line naming the file and the neuron.
func TestValidationAdvice(t *testing.T) {
	ctx := context.Background()
	good := goodCols()
	for _, tc := range []struct {
		name      string
		cols      []pqCol
		want, not []string
	}{
		{"zero tangent", withCol(withCol(good, "vect_x", f64(1, 0, 0, 0, 1)), "vect_y", f64(0, 1, 0, 1, 0)),
			[]string{"neuron 7", "point 1 has a zero tangent vector", "unit", "navis.make_dotprops"}, []string{"alpha", "µm"}},
		{"long tangent", withCol(good, "vect_x", f64(1, 0, 2, 0, 1)),
			[]string{"neuron 7", "not a unit vector", "navis.make_dotprops"}, []string{"alpha"}},
		{"NaN coordinate", withCol(good, "x", f64(1, math.NaN(), 2, 11, 3)),
			[]string{"neuron 3", "non-finite coordinate", "finite"}, []string{"alpha", "tangent"}},
		{"NaN tangent", withCol(good, "vect_z", f64(0, 0, 0, math.NaN(), 0)),
			[]string{"neuron 3", "non-finite tangent vector", "navis.make_dotprops"}, []string{"alpha"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "invalid.parquet")
			writePQ(t, p, tc.cols, nil, 0, false)
			_, err := ReadDotpropsFile(ctx, p, ReadOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, p+": neuron ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the file and the neuron", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(msg, w) {
					t.Errorf("error %q says %q, which is not this neuron's problem", msg, w)
				}
			}
		})
	}
}
