package sinks

// The sparse output (the "Output 2" contract in docs/formats.md): scores at
// or above a threshold as Parquet rows `query, target, score`, one part file
// per query block, plus OUT/_manifest.json written last.
//
// Layout at OUT (a local directory or a gs:// prefix):
//
//	OUT/part-<qb>.parquet       the rows of query block qb (against every
//	                            target), in row-major order: by query in
//	                            plan order, then target in plan order;
//	                            written whole, atomically, even when it
//	                            has no rows
//	OUT/_manifest.json          {"complete": true, "rows": N, "parts": P,
//	                            "parameters": {...}}, written after every
//	                            part
//
// pandas/pyarrow, DuckDB, Spark and BigQuery read OUT as a directory of
// Parquet files (read_parquet('OUT/part-*.parquet') in DuckDB; the
// leading "_" hides the manifest from Spark and pyarrow's dataset reader).
// Encoding is deterministic, so a retried or duplicated query block
// rewrites its part with identical bytes and the output never holds a row
// twice; the number of parts is the number of query blocks (about N/64),
// not of work items.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn2x3[context.Context, scores.Chunk, string, int64, error](&writeSparsePartFn{})
}

// Column names of the sparse and top-k outputs.
const (
	colQuery  = "query"
	colTarget = "target"
	colScore  = "score"
	colRank   = "rank"
)

// OutputRowGroupRows is the largest row group the sparse and top-k writers
// make.
const OutputRowGroupRows = 1 << 20

// SparseConfig says how WriteSparse writes.
type SparseConfig struct {
	// Threshold: only scores >= Threshold are written (compared in
	// float64, before any rounding to FLOAT). NaN scores (pairs pruned
	// because their bound is below the threshold) are never written.
	Threshold float64
	// Float64 writes score as DOUBLE instead of FLOAT.
	Float64 bool
	// PriorParts and PriorRows count the parts a resumed run found
	// already written, and their rows; the manifest adds them to this
	// run's.
	PriorParts int
	PriorRows  int64
	// Manifest is a JSON document recording the run's parameters, built
	// by the caller; it is stored verbatim (compacted) under "parameters"
	// in OUT/_manifest.json. Empty means {}.
	Manifest string
	// Owner is checked before the manifest is written (RunOwner.Check).
	Owner RunOwner
}

// SparseRow is one row of a sparse output.
type SparseRow struct {
	Query, Target scoring.ID
	Score         float64
}

// PartName is the name, under OUT, of the part file of query block qb:
// part-<qb>.parquet, zero-padded to at least five digits.
func PartName(qb int) string {
	return fmt.Sprintf("part-%05d.parquet", qb)
}

// WrittenParts lists the part files already under out, by query block,
// with one listing (one request on an object store). Parts are written
// whole and atomically, so a listed part is a complete one.
func WrittenParts(ctx context.Context, out string) (map[int]string, error) {
	found, err := files.Glob(ctx, files.Join(out, SparsePartPattern))
	if err != nil {
		return nil, err
	}
	parts := map[int]string{}
	for _, p := range found {
		var qb int
		name := path.Base(strings.ReplaceAll(p, "\\", "/"))
		if _, err := fmt.Sscanf(name, "part-%d.parquet", &qb); err != nil || qb < 0 || PartName(qb) != name {
			// Readers take every part-*.parquet, so a part of another
			// layout (an older version wrote part-<qb>-<tb>.parquet,
			// one per work item) would add its rows twice.
			return nil, fmt.Errorf("%s: not a part this version writes (part-<query block>.parquet); an older version wrote one part per work item, and resuming would count those rows twice: rerun with --exists overwrite, or choose another --out", p)
		}
		parts[qb] = p
	}
	return parts, nil
}

// PartRows returns the row count of a part file, from its footer (a
// ranged read of the file's end, not the whole file).
func PartRows(ctx context.Context, p string) (rows int64, err error) {
	defer recoverCorrupt(p, &err)
	ra, err := files.OpenReaderAt(ctx, p)
	if err != nil {
		return 0, err
	}
	defer ra.Close()
	rdr, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		return 0, &files.DamagedError{Path: p, Detail: fmt.Sprintf("not a Parquet file (%v)", err), Advice: PartCorruptAdvice}
	}
	defer rdr.Close()
	return rdr.NumRows(), nil
}

// VerifyPart decodes every row of part p (a top-k part with rank) and
// returns their number: an error (naming p) means the part was damaged
// after it was written.
func VerifyPart(ctx context.Context, p string, rank bool) (rows int64, err error) {
	err = readPart(ctx, p, rank, func(outputColumns, int) { rows++ })
	return rows, err
}

// WriteSparse writes each chunk's scores >= cfg.Threshold (Chunk.Values;
// NaN never) as one Parquet part file per chunk, OUT/PartName(QB): the
// chunks are whole query blocks (transforms.ScoreConfig.Row),
// with columns query and target (INT64, or STRING for string ids) and score
// (FLOAT, or DOUBLE with cfg.Float64). A part is written even when it has no
// rows. Once every part is written, OUT/_manifest.json records the row and
// part counts (with cfg.PriorParts and cfg.PriorRows) and cfg.Manifest; it
// is written only if the number of distinct parts written equals expected
// (the number of query blocks in chunks), else the pipeline fails. A query
// block seen twice (a retry, or a duplicated element) rewrites the same part
// with the same bytes and counts once. WriteSparse panics if cfg.Manifest is not valid JSON, as Beam's
// transforms do on bad arguments at construction.
func WriteSparse(s beam.Scope, chunks beam.PCollection, out string, cfg SparseConfig, expected int) {
	s = s.Scope("WriteSparse")
	params, err := manifestParameters(cfg.Manifest)
	if err != nil {
		panic(fmt.Sprintf("sinks.WriteSparse(%s): %v", out, err))
	}
	written := beam.ParDo(s, &writeSparsePartFn{Out: out, Threshold: scores.Threshold(cfg.Threshold), Float64: cfg.Float64}, chunks)
	writeManifest(s, written, manifestConfig{Dir: out, What: "sparse parts", Expected: expected, PriorParts: cfg.PriorParts, PriorRows: cfg.PriorRows,
		Parameters: string(params), Owner: cfg.Owner})
}

// writeSparsePartFn writes one query block's part and reports its name and
// row count. DoFns travel as JSON, which has no -Inf or NaN, so the
// threshold is carried as its math.Float64bits.
type writeSparsePartFn struct {
	Out       string
	Threshold scores.Threshold
	Float64   bool
}

func (f *writeSparsePartFn) ProcessElement(ctx context.Context, c scores.Chunk) (string, int64, error) {
	data, rows, err := EncodeSparsePart(c, float64(f.Threshold), f.Float64)
	if err != nil {
		return "", 0, err
	}
	name := PartName(c.QB)
	if err := files.WriteFile(ctx, files.Join(f.Out, name), data); err != nil {
		return "", 0, err
	}
	return name, rows, nil
}

// EncodeSparsePart encodes the part file of chunk c: the rows (query i,
// target j, Values[i*Cols+j]) with a score >= threshold, in row-major order,
// as Parquet (zstd; query and target dictionary-encoded; score FLOAT, or
// DOUBLE if float64). It returns the file's bytes and its row count. Same
// chunk, same bytes.
func EncodeSparsePart(c scores.Chunk, threshold float64, float64Score bool) ([]byte, int64, error) {
	where := fmt.Sprintf("sparse part (query block %d)", c.QB)
	if len(c.Queries) != c.Rows || len(c.Targets) != c.Cols || len(c.Values) != c.Rows*c.Cols {
		return nil, 0, fmt.Errorf("%s: chunk has %d query ids, %d target ids and %d values for %dx%d", where, len(c.Queries), len(c.Targets), len(c.Values), c.Rows, c.Cols)
	}
	qStr, err := idsKind(c.Queries)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: query %w", where, err)
	}
	tStr, err := idsKind(c.Targets)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: target %w", where, err)
	}
	schema := outputSchema(qStr, tStr, float64Score, false)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	var rows int64
	for i := 0; i < c.Rows; i++ {
		for j := 0; j < c.Cols; j++ {
			v := c.Values[i*c.Cols+j]
			if !(v >= threshold) { // also drops NaN
				continue
			}
			appendID(b.Field(0), c.Queries[i])
			appendID(b.Field(1), c.Targets[j])
			appendScore(b.Field(2), v)
			rows++
		}
	}
	data, err := encodeRecord(mem, schema, b)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", where, err)
	}
	return data, rows, nil
}

// idsKind reports whether ids are strings, failing if they mix kinds. No
// ids count as int64.
func idsKind(ids []scoring.ID) (bool, error) {
	if len(ids) == 0 {
		return false, nil
	}
	k := ids[0].IsStr
	for _, id := range ids[1:] {
		if id.IsStr != k {
			return false, fmt.Errorf("ids mix int64 (%s) and string (%s) ids: a column holds one kind", ids[0], id)
		}
	}
	return k, nil
}

// outputSchema is the Arrow schema of a sparse (rank false) or top-k (rank
// true) part: query, [rank INT32,] target, score; ids INT64 or STRING,
// score FLOAT or DOUBLE; no column is nullable.
func outputSchema(qStr, tStr, float64Score, rank bool) *arrow.Schema {
	idType := func(isStr bool) arrow.DataType {
		if isStr {
			return arrow.BinaryTypes.String
		}
		return arrow.PrimitiveTypes.Int64
	}
	scoreType := arrow.DataType(arrow.PrimitiveTypes.Float32)
	if float64Score {
		scoreType = arrow.PrimitiveTypes.Float64
	}
	fields := []arrow.Field{{Name: colQuery, Type: idType(qStr)}}
	if rank {
		fields = append(fields, arrow.Field{Name: colRank, Type: arrow.PrimitiveTypes.Int32})
	}
	fields = append(fields,
		arrow.Field{Name: colTarget, Type: idType(tStr)},
		arrow.Field{Name: colScore, Type: scoreType})
	return arrow.NewSchema(fields, nil)
}

func appendID(b array.Builder, id scoring.ID) {
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(id.Str)
	case *array.Int64Builder:
		b.Append(id.Int)
	}
}

func appendScore(b array.Builder, v float64) {
	switch b := b.(type) {
	case *array.Float32Builder:
		b.Append(float32(v))
	case *array.Float64Builder:
		b.Append(v)
	}
}

// encodeRecord writes the builder's rows as a whole Parquet file: zstd,
// id columns dictionary-encoded, row groups of at most OutputRowGroupRows
// rows (none for 0 rows), statistics on, a REQUIRED schema root (not
// arrow-go's default REPEATED, which some readers reject). Deterministic.
func encodeRecord(mem memory.Allocator, schema *arrow.Schema, b *array.RecordBuilder) ([]byte, error) {
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(OutputRowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(colQuery, true),
		parquet.WithDictionaryFor(colTarget, true),
		parquet.WithCreatedBy("nblast-go"),
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	)
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, noCloseWriter{&buf}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, err
	}
	rec := b.NewRecord()
	defer rec.Release()
	if rec.NumRows() > 0 {
		if err := fw.WriteBuffered(rec); err != nil {
			fw.Close()
			return nil, err
		}
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// noCloseWriter hides Close from the Parquet writer, which closes a sink
// that is an io.Closer.
type noCloseWriter struct{ w io.Writer }

func (n noCloseWriter) Write(p []byte) (int, error) { return n.w.Write(p) }

// ReadSparse reads every part of the sparse output at out
// (OUT/part-*.parquet, in name order; rows in file order). It does not
// check the manifest (ReadManifest does).
func ReadSparse(ctx context.Context, out string) ([]SparseRow, error) {
	var rows []SparseRow
	err := readParts(ctx, out, SparsePartPattern, false, func(c outputColumns, i int) {
		rows = append(rows, SparseRow{Query: c.query(i), Target: c.target(i), Score: c.score(i)})
	})
	return rows, err
}

// outputColumns are the columns of one part file, as Arrow arrays.
type outputColumns struct {
	Query, Rank, Target, Score arrow.Array
}

func idAt(a arrow.Array, i int) scoring.ID {
	switch a := a.(type) {
	case *array.Int64:
		return scoring.IntID(a.Value(i))
	case *array.String:
		return scoring.StrID(a.Value(i))
	case *array.LargeString:
		return scoring.StrID(a.Value(i))
	}
	panic("unreachable: column type checked in readParts")
}

func (c outputColumns) query(i int) scoring.ID  { return idAt(c.Query, i) }
func (c outputColumns) target(i int) scoring.ID { return idAt(c.Target, i) }

func (c outputColumns) score(i int) float64 {
	switch a := c.Score.(type) {
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	}
	panic("unreachable: column type checked in readParts")
}

func (c outputColumns) rank(i int) int {
	switch a := c.Rank.(type) {
	case *array.Int32:
		return int(a.Value(i))
	case *array.Int64:
		return int(a.Value(i))
	}
	panic("unreachable: column type checked in readParts")
}

// readParts calls row for every row of every file matching pattern under
// out, in name order.
func readParts(ctx context.Context, out, pattern string, rank bool, row func(c outputColumns, i int)) error {
	names, err := ListParts(ctx, out, pattern)
	if err != nil {
		return err
	}
	for _, p := range names {
		if err := readPart(ctx, p, rank, row); err != nil {
			return err
		}
	}
	return nil
}

func readPart(ctx context.Context, p string, rank bool, row func(c outputColumns, i int)) (err error) {
	defer recoverCorrupt(p, &err)
	ra, err := files.OpenReaderAt(ctx, p)
	if err != nil {
		return err
	}
	defer ra.Close()
	mem := memory.NewGoAllocator()
	rdr, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return &files.DamagedError{Path: p, Detail: "not a Parquet file: " + err.Error(), Advice: PartCorruptAdvice}
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return &files.DamagedError{Path: p, Detail: err.Error(), Advice: PartCorruptAdvice}
	}
	names := []string{colQuery, colTarget, colScore}
	if rank {
		names = append(names, colRank)
	}
	leaves := make([]int, len(names))
	for i, n := range names {
		if leaves[i] = rdr.MetaData().Schema.ColumnIndexByName(n); leaves[i] < 0 {
			return fmt.Errorf("%s: no column %q", p, n)
		}
	}
	// Column chunk by column chunk in this goroutine: a damaged page is
	// an error naming the row group and the column (pqarrow's ReadTable
	// decodes in goroutines of its own, where a decompressor's panic
	// kills the process).
	cols, err := dotprops.ReadColumnChunks(ctx, p, fr, leaves, PartCorruptAdvice)
	if err != nil {
		return err
	}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: cols[i].DataType()}
	}
	sc := arrow.NewSchema(fields, nil)
	columns := make([]arrow.Column, len(names))
	for i := range names {
		columns[i] = *arrow.NewColumn(sc.Field(i), cols[i])
		cols[i].Release() // the column holds it
		defer columns[i].Release()
	}
	tbl := array.NewTable(sc, columns, -1)
	defer tbl.Release()
	// Row groups may chunk the columns differently; a table reader slices
	// them in step.
	tr := array.NewTableReader(tbl, OutputRowGroupRows)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		c := outputColumns{}
		for k, n := range names {
			a := rec.Column(k)
			if a.NullN() > 0 {
				return fmt.Errorf("%s: column %s holds nulls", p, n)
			}
			ok := false
			switch n {
			case colQuery, colTarget:
				ok = a.DataType().ID() == arrow.INT64 || a.DataType().ID() == arrow.STRING || a.DataType().ID() == arrow.LARGE_STRING
			case colScore:
				ok = a.DataType().ID() == arrow.FLOAT32 || a.DataType().ID() == arrow.FLOAT64
			case colRank:
				ok = a.DataType().ID() == arrow.INT32 || a.DataType().ID() == arrow.INT64
			}
			if !ok {
				return fmt.Errorf("%s: column %s has type %s", p, n, a.DataType())
			}
			switch k {
			case 0:
				c.Query = a
			case 1:
				c.Target = a
			case 2:
				c.Score = a
			case 3:
				c.Rank = a
			}
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row(c, i)
		}
	}
	return tr.Err()
}

// recoverCorrupt turns a panic of the Parquet reader in the calling
// goroutine (a damaged footer can cause one) into an error naming the part.
// Damaged pages are caught per column chunk by dotprops.ReadColumnChunks.
func recoverCorrupt(p string, err *error) {
	if r := recover(); r != nil {
		*err = &files.DamagedError{Path: p, Detail: fmt.Sprintf("corrupt Parquet file (%v)", r), Advice: PartCorruptAdvice}
	}
}

// PartCorruptAdvice is what to do about a damaged sparse or top-k part.
const PartCorruptAdvice = "the part was damaged after it was written (altered or truncated): rerun the same command with --exists resume, which scores it again"
