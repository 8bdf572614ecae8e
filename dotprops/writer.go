package dotprops

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

	_ "github.com/nblast-go/nblast/internal/pqzstd" // reuse zstd encoders across pages (same bytes)
	"github.com/nblast-go/nblast/scoring"
)

// DotpropsWriter streams dotprops to one Parquet file in navis' layout, a
// neuron at a time, holding at most one row group of encoded pages
// (WriteRowGroupRows rows, ~60 MB) plus writeBatchRows rows of values
// (~4 MB) and the ids seen so far, whatever the number of neurons.
//
// The file is what WriteDotpropsParquet writes for the same neurons, byte
// for byte: columns x, y, z, vect_x, vect_y, vect_z, alpha (DOUBLE; alpha
// only if the writer was opened with hasAlpha) and neuron (INT64 or
// STRING), one row per point in the order written; file metadata
// "<id>:id" and "<id>:units" = MicrometreUnits per neuron, in the order
// written (kept in memory and written in the footer by Close); row groups
// of up to WriteRowGroupRows rows; columns zstd-compressed, the neuron
// column dictionary-encoded; the schema's root REQUIRED (not arrow-go's
// default REPEATED).
//
// Invariants: every neuron written has the id kind the writer was opened
// with, a distinct id, and passes scoring.Dotprops.Validate. A neuron that
// breaks them is refused (Write returns an error and writes nothing of it;
// the writer stays usable). A failure of the underlying writer is sticky:
// every later Write and Close returns it. A DotpropsWriter is not safe for
// concurrent use.
type DotpropsWriter struct {
	fw     *pqarrow.FileWriter
	b      *array.RecordBuilder
	floats []*array.Float64Builder // x, y, z, vect_x, vect_y, vect_z[, alpha]
	ints   *array.Int64Builder     // neuron column for int64 ids (nil for string ids)
	strs   *array.StringBuilder    // neuron column for string ids (nil for int64 ids)
	dotpropsChecker
	buffered int   // rows in b not yet handed to fw, < writeBatchRows
	err      error // sticky failure of fw
}

// NewDotpropsWriter starts a dotprops Parquet file on w (see DotpropsWriter).
// strIDs chooses the neuron column's type (STRING rather than INT64);
// hasAlpha adds the alpha column, which every neuron written must then
// have. Without hasAlpha the neurons' alpha values, if any, are not
// written. The Parquet magic is written to w at once; Close writes the
// footer. w is not closed.
func NewDotpropsWriter(w io.Writer, strIDs, hasAlpha bool) (*DotpropsWriter, error) {
	return newDotpropsWriter(w, strIDs, hasAlpha, compress.Codecs.Zstd)
}

// newDotpropsWriter is NewDotpropsWriter with the columns compressed by
// codec.
func newDotpropsWriter(w io.Writer, strIDs, hasAlpha bool, codec compress.Compression) (*DotpropsWriter, error) {
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
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(WriteRowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(colNeuron, true),
		parquet.WithCreatedBy("nblast-go"),
		// arrow-go's default root is REPEATED, which some readers reject.
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	)
	fw, err := pqarrow.NewFileWriter(schema, noCloseWriter{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, fmt.Errorf("write dotprops Parquet: %w", err)
	}
	dw := &DotpropsWriter{
		fw:              fw,
		b:               array.NewRecordBuilder(mem, schema),
		dotpropsChecker: newDotpropsChecker(strIDs, hasAlpha),
	}
	for i := range floatCols {
		dw.floats = append(dw.floats, dw.b.Field(i).(*array.Float64Builder))
	}
	if strIDs {
		dw.strs = dw.b.Field(len(floatCols)).(*array.StringBuilder)
	} else {
		dw.ints = dw.b.Field(len(floatCols)).(*array.Int64Builder)
	}
	return dw, nil
}

// dotpropsChecker enforces a file's invariants on the neurons written to
// it: one id kind, distinct ids, valid dotprops, alpha if the file has an
// alpha column.
type dotpropsChecker struct {
	strIDs   bool
	hasAlpha bool
	first    scoring.ID              // the first neuron accepted, for error messages
	seen     map[scoring.ID]struct{} // ids accepted so far
	closed   bool                    // set by DotpropsWriter.Close
}

func newDotpropsChecker(strIDs, hasAlpha bool) dotpropsChecker {
	return dotpropsChecker{strIDs: strIDs, hasAlpha: hasAlpha, seen: make(map[scoring.ID]struct{})}
}

// Write checks d (id kind, distinct id, Validate, alpha when the file has
// an alpha column) and appends its points as rows and its "<id>:id" and
// "<id>:units" metadata. d is not retained.
func (dw *DotpropsWriter) Write(d *scoring.Dotprops) error {
	if err := dw.check(d); err != nil {
		return err
	}
	return dw.write(d)
}

// check refuses a neuron that breaks the file's invariants and, if it
// passes, records its id as written.
func (dw *dotpropsChecker) check(d *scoring.Dotprops) error {
	if dw.closed {
		return fmt.Errorf("write dotprops Parquet: neuron %s written after Close", d.ID)
	}
	if d.ID.IsStr != dw.strIDs {
		intID, strID := dw.first, d.ID
		if dw.strIDs {
			intID, strID = d.ID, dw.first
		}
		if len(dw.seen) == 0 {
			kind, want := "an int64", "string"
			if d.ID.IsStr {
				kind, want = "a string", "int64"
			}
			return fmt.Errorf("write dotprops Parquet: neuron %s has %s id but the file was opened for %s ids: one file holds one kind", d.ID, kind, want)
		}
		return fmt.Errorf("write dotprops Parquet: neuron ids mix int64 (%s) and string (%s) ids: one file holds one kind", intID, strID)
	}
	if _, dup := dw.seen[d.ID]; dup {
		return fmt.Errorf("write dotprops Parquet: neuron %s appears twice: ids must be unique", d.ID)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("write dotprops Parquet: %w", err)
	}
	if dw.hasAlpha && !d.HasAlpha() {
		return fmt.Errorf("write dotprops Parquet: neuron %s has no alpha values but the file has an alpha column: give every neuron alpha, or write the file without alpha", d.ID)
	}
	if len(dw.seen) == 0 {
		dw.first = d.ID
	}
	dw.seen[d.ID] = struct{}{}
	return nil
}

// write appends a checked neuron: its metadata, then its rows, handing
// every writeBatchRows rows (counted over the whole file) to the Parquet
// writer, which cuts row groups of WriteRowGroupRows rows.
func (dw *DotpropsWriter) write(d *scoring.Dotprops) error {
	if dw.err != nil {
		return dw.err
	}
	id := d.ID.String()
	if err := dw.fw.AppendKeyValueMetadata(id+":id", id); err != nil {
		return dw.fail(err)
	}
	if err := dw.fw.AppendKeyValueMetadata(id+":units", MicrometreUnits); err != nil {
		return dw.fail(err)
	}
	for j := 0; j < len(d.Points); {
		// Append up to the end of the current batch in one go per column.
		n := min(len(d.Points)-j, writeBatchRows-dw.buffered)
		for k := 0; k < 3; k++ {
			fp, fv := dw.floats[k], dw.floats[3+k]
			fp.Reserve(n)
			fv.Reserve(n)
			for i := j; i < j+n; i++ {
				fp.UnsafeAppend(d.Points[i][k])
				fv.UnsafeAppend(d.Vectors[i][k])
			}
		}
		if dw.hasAlpha {
			dw.floats[6].AppendValues(d.Alpha[j:j+n], nil)
		}
		if dw.strIDs {
			dw.strs.Reserve(n)
			for range n {
				dw.strs.Append(d.ID.Str)
			}
		} else {
			dw.ints.Reserve(n)
			for range n {
				dw.ints.UnsafeAppend(d.ID.Int)
			}
		}
		j += n
		dw.buffered += n
		if dw.buffered == writeBatchRows {
			if err := dw.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush hands the buffered rows to the Parquet writer.
func (dw *DotpropsWriter) flush() error {
	rec := dw.b.NewRecord()
	defer rec.Release()
	dw.buffered = 0
	if rec.NumRows() == 0 {
		return nil
	}
	if err := dw.fw.WriteBuffered(rec); err != nil {
		return dw.fail(err)
	}
	return nil
}

// fail records the first failure of the Parquet writer.
func (dw *DotpropsWriter) fail(err error) error {
	if dw.err == nil {
		dw.err = fmt.Errorf("write dotprops Parquet: %w", err)
	}
	return dw.err
}

// Close writes the remaining rows and the footer (with every neuron's
// metadata) and releases the writer; w is not closed. It is an error to
// close a writer to which no neuron was written (the footer is still
// written). Close after Close returns nil.
func (dw *DotpropsWriter) Close() error {
	if dw.closed {
		return nil
	}
	dw.closed = true
	defer dw.b.Release()
	if dw.err == nil {
		dw.flush()
	}
	if err := dw.fw.Close(); err != nil && dw.err == nil {
		dw.fail(err)
	}
	if dw.err != nil {
		return dw.err
	}
	if len(dw.seen) == 0 {
		return errors.New("write dotprops Parquet: no neurons to write")
	}
	return nil
}

// Neurons is the number of neurons written so far.
func (dw *DotpropsWriter) Neurons() int { return len(dw.seen) }
