// Package parquettest writes dotprops Parquet files without any
// validation (the project's writer refuses bad data), so tests can make
// bad inputs. Import it from _test.go files only.
package parquettest

import (
	"bytes"
	"os"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/scoring"
)

// WriteRaw writes the neurons in navis' layout (x, y, z, vect_x, vect_y,
// vect_z, alpha if the first neuron has it, neuron as INT64 or STRING as
// the first id), as they are, with each entry of meta as file key/value
// metadata. It returns path.
func WriteRaw(t testing.TB, path string, dps []*scoring.Dotprops, meta map[string]string) string {
	t.Helper()
	names := []string{"x", "y", "z", "vect_x", "vect_y", "vect_z"}
	alpha := len(dps) > 0 && len(dps[0].Alpha) > 0
	if alpha {
		names = append(names, "alpha")
	}
	var fields []arrow.Field
	for _, n := range names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64})
	}
	str := len(dps) > 0 && dps[0].ID.IsStr
	idType := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if str {
		idType = arrow.BinaryTypes.String
	}
	fields = append(fields, arrow.Field{Name: "neuron", Type: idType})
	var keys, vals []string
	for k, v := range meta {
		keys, vals = append(keys, k), append(vals, v)
	}
	md := arrow.NewMetadata(keys, vals)
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, &md))
	defer b.Release()
	for _, d := range dps {
		for i := range d.Points {
			for k := range 3 {
				b.Field(k).(*array.Float64Builder).Append(d.Points[i][k])
				b.Field(3 + k).(*array.Float64Builder).Append(d.Vectors[i][k])
			}
			if alpha {
				b.Field(6).(*array.Float64Builder).Append(d.Alpha[i])
			}
			if str {
				b.Field(len(names)).(*array.StringBuilder).Append(d.ID.Str)
			} else {
				b.Field(len(names)).(*array.Int64Builder).Append(d.ID.Int)
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBuffered(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteRecord writes rec to path as Parquet with the writer properties
// props (codec, dictionaries, row groups), as they are.
func WriteRecord(t testing.TB, path string, rec arrow.Record, props *parquet.WriterProperties) {
	t.Helper()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Neuron is a valid straight 20-point neuron along x, shifted by shift µm,
// with alpha 0.9.
func Neuron(id scoring.ID, shift float64) *scoring.Dotprops {
	d := &scoring.Dotprops{ID: id}
	for i := range 20 {
		d.Points = append(d.Points, [3]float64{float64(i) + shift, shift, 0})
		d.Vectors = append(d.Vectors, [3]float64{1, 0, 0})
		d.Alpha = append(d.Alpha, 0.9)
	}
	return d
}

// pageHeaderSizes reads the first three fields of a Thrift-compact Parquet
// PageHeader at b (type, uncompressed_page_size, compressed_page_size), as
// every writer emits them first.
func pageHeaderSizes(t testing.TB, b []byte) (uncompressed, compressed int) {
	t.Helper()
	var vals [3]int
	pos := 0
	for f := range vals {
		if pos >= len(b) || b[pos] != 0x15 { // field delta 1, type i32
			t.Fatalf("unexpected page header byte %#x at %d", b[pos], pos)
		}
		pos++
		var u uint64
		for shift := 0; ; shift += 7 {
			c := b[pos]
			pos++
			u |= uint64(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		vals[f] = int(int64(u>>1) ^ -int64(u&1)) // zigzag
	}
	return vals[1], vals[2]
}

// DamagePage overwrites n bytes of the compressed payload of column col's
// data page (or, with dict, its dictionary page) in row group rg, at
// fraction at of the payload, with fill. The chunk must hold one data page.
func DamagePage(t testing.TB, path string, rg int, col string, dict bool, at float64, n int, fill byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	md := rdr.MetaData()
	k := md.Schema.ColumnIndexByName(col)
	cc, err := md.RowGroup(rg).ColumnChunk(k)
	if err != nil {
		t.Fatal(err)
	}
	start := cc.DataPageOffset()
	end := start
	if cc.HasDictionaryPage() {
		end = cc.DictionaryPageOffset()
	}
	end += cc.TotalCompressedSize()
	if dict {
		if !cc.HasDictionaryPage() {
			t.Fatalf("column %s has no dictionary page", col)
		}
		start, end = cc.DictionaryPageOffset(), cc.DataPageOffset()
	}
	rdr.Close()
	_, comp := pageHeaderSizes(t, data[start:])
	payload := end - int64(comp)
	if payload <= start || comp < n {
		t.Fatalf("column %s: page at %d..%d has a %d-byte payload: not one page?", col, start, end, comp)
	}
	off := payload + int64(at*float64(comp-n))
	for i := int64(0); i < int64(n); i++ {
		data[off+i] = fill
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
