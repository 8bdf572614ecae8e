// Package parquettest writes dotprops Parquet files without any
// validation (the project's writer refuses bad data), so tests can make
// bad inputs. Import it from _test.go files only.
package parquettest

import (
	"os"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
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
