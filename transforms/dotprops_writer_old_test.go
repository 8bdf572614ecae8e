package transforms

// TEMPORARY: the pre-streaming WriteDotpropsParquet, kept only to check that
// the streaming writer's bytes are identical. To be deleted.

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/scoring"
)

func writeDotpropsParquetOld(w io.Writer, dps []*scoring.Dotprops) error {
	if len(dps) == 0 {
		return errors.New("write dotprops Parquet: no neurons to write")
	}
	strIDs := dps[0].ID.IsStr
	hasAlpha := true
	seen := make(map[scoring.ID]bool, len(dps))
	for _, d := range dps {
		if d.ID.IsStr != strIDs {
			return fmt.Errorf("write dotprops Parquet: neuron ids mix int64 (%s) and string (%s) ids: one file holds one kind", dps[0].ID, d.ID)
		}
		if seen[d.ID] {
			return fmt.Errorf("write dotprops Parquet: neuron %s appears twice: ids must be unique", d.ID)
		}
		seen[d.ID] = true
		if err := d.Validate(); err != nil {
			return fmt.Errorf("write dotprops Parquet: %w", err)
		}
		hasAlpha = hasAlpha && d.HasAlpha()
	}

	floatCols := []string{colX, colY, colZ, colVX, colVY, colVZ}
	if hasAlpha {
		floatCols = append(floatCols, colAlpha)
	}
	fields := make([]arrow.Field, 0, len(floatCols)+1)
	for _, n := range floatCols {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64})
	}
	idType := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if strIDs {
		idType = arrow.BinaryTypes.String
	}
	fields = append(fields, arrow.Field{Name: colNeuron, Type: idType})
	schema := arrow.NewSchema(fields, nil)

	mem := memory.NewGoAllocator()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(WriteRowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(colNeuron, true),
		parquet.WithCreatedBy("nblast-go"),
		// arrow-go's default root is REPEATED, which some readers reject.
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	)
	fw, err := pqarrow.NewFileWriter(schema, noCloseWriter{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return fmt.Errorf("write dotprops Parquet: %w", err)
	}
	for _, d := range dps {
		id := d.ID.String()
		if err := fw.AppendKeyValueMetadata(id+":id", id); err != nil {
			fw.Close()
			return fmt.Errorf("write dotprops Parquet: %w", err)
		}
		if err := fw.AppendKeyValueMetadata(id+":units", MicrometreUnits); err != nil {
			fw.Close()
			return fmt.Errorf("write dotprops Parquet: %w", err)
		}
	}

	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecord()
		defer rec.Release()
		if rec.NumRows() == 0 {
			return nil
		}
		return fw.WriteBuffered(rec)
	}
	rows := 0
	for _, d := range dps {
		for j := range d.Points {
			p, v := d.Points[j], d.Vectors[j]
			for k := 0; k < 3; k++ {
				b.Field(k).(*array.Float64Builder).Append(p[k])
				b.Field(3 + k).(*array.Float64Builder).Append(v[k])
			}
			if hasAlpha {
				b.Field(6).(*array.Float64Builder).Append(d.Alpha[j])
			}
			idb := b.Field(len(floatCols))
			if strIDs {
				idb.(*array.StringBuilder).Append(d.ID.Str)
			} else {
				idb.(*array.Int64Builder).Append(d.ID.Int)
			}
			rows++
			if rows%writeBatchRows == 0 {
				if err := flush(); err != nil {
					fw.Close()
					return fmt.Errorf("write dotprops Parquet: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		fw.Close()
		return fmt.Errorf("write dotprops Parquet: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("write dotprops Parquet: %w", err)
	}
	return nil
}
