package dotprops

// Reading and writing dotprops in navis' Parquet layout (see
// shared/docs/formats.md, "Input: dotprops in Parquet (navis layout)"):
// one row per point, columns x, y, z, vect_x, vect_y, vect_z, optional alpha
// (DOUBLE or FLOAT) and neuron (INT64 or STRING), file key/value metadata
// "<id>:units", "<id>:id", "<id>:name".

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/skeleton"
)

// Column names of navis' dotprops layout.
const (
	colX      = "x"
	colY      = "y"
	colZ      = "z"
	colVX     = "vect_x"
	colVY     = "vect_y"
	colVZ     = "vect_z"
	colAlpha  = "alpha"
	colNeuron = "neuron"
)

// MicrometreUnits is the "<id>:units" value WriteDotpropsParquet writes
// (what navis writes for neurons in µm).
const MicrometreUnits = "1 micrometer"

// WriteRowGroupRows is the row-group size WriteDotpropsParquet uses: about
// 64 MiB of uncompressed values per row group (8 columns of 8 bytes).
const WriteRowGroupRows = 1 << 20

// writeBatchRows is how many rows WriteDotpropsParquet hands to the Parquet
// writer at a time.
const writeBatchRows = 1 << 16

var requiredColumns = []string{colX, colY, colZ, colVX, colVY, colVZ, colNeuron}

const layoutHint = "dotprops Parquet files need columns x, y, z, vect_x, vect_y, vect_z (DOUBLE or FLOAT), neuron (INT64 or STRING) and optionally alpha, as written by navis.write_parquet"

// ExpandInputs turns a --queries/--targets value into the list of Parquet
// files: one file, a glob, or a directory (all *.parquet directly inside,
// sorted; names starting with "." or "_" are skipped, as Spark and Hadoop
// use them for hidden and marker files). Error if nothing matches, naming
// the spec.
func ExpandInputs(ctx context.Context, spec string) ([]string, error) {
	return expandInputs(ctx, spec, parquetInputs)
}

// inputKind says what expandInputs looks for: the file name patterns of a
// directory's files, and how to name them in errors.
type inputKind struct {
	patterns []string // e.g. "*.parquet"
	files    string   // e.g. "*.parquet files"
	give     string   // e.g. "a Parquet file, a glob or a directory of Parquet files"
	dirGive  string   // advice when a directory holds none
}

var parquetInputs = inputKind{
	patterns: []string{"*.parquet", "*.npz"},
	files:    "*.parquet files (nor .npz archives)",
	give:     "a Parquet file, a glob or a directory of Parquet files (or NumPy .npz archives of dotprops)",
	dirGive:  "give a directory of dotprops Parquet files, a glob, or one file",
}

// expandInputs is ExpandInputs for files of the given kind: a directory's
// files matching any of kind.patterns, sorted.
func expandInputs(ctx context.Context, spec string, kind inputKind) ([]string, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("empty input path: give %s", kind.give)
	}
	switch {
	case files.IsDir(spec):
		var out []string
		for _, pat := range kind.patterns {
			found, err := files.Glob(ctx, files.Join(spec, pat))
			if err != nil {
				return nil, fmt.Errorf("list input directory %s: %w", spec, err)
			}
			for _, f := range found {
				base := path.Base(strings.ReplaceAll(f, "\\", "/"))
				if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || files.IsDir(f) {
					continue
				}
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("input %s: the directory holds no %s: %s", spec, kind.files, kind.dirGive)
		}
		sort.Strings(out)
		return out, nil
	case hasGlobMeta(spec):
		found, err := files.Glob(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("expand input pattern %s: %w", spec, err)
		}
		var out []string
		for _, f := range found {
			if !files.IsDir(f) {
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("input %s: no file matches this pattern: check the path (quote globs so the shell does not expand them)", spec)
		}
		sort.Strings(out)
		return out, nil
	default:
		ok, err := files.Exists(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", spec, err)
		}
		if !ok && files.IsRemote(spec) {
			// An object store has no directories: gs://b/dir is the
			// directory gs://b/dir/ when objects lie under it.
			if under, err := files.Glob(ctx, files.Join(spec, "*")); err == nil && len(under) > 0 {
				return expandInputs(ctx, spec+"/", kind)
			}
		}
		if !ok {
			return nil, fmt.Errorf("input %s: no such file or directory: give %s", spec, kind.give)
		}
		return []string{spec}, nil
	}
}

func hasGlobMeta(s string) bool {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return strings.ContainsAny(s, "*?[")
}

// ReadOptions say how ReadDotpropsFile and ReadNeuronIndex read a file.
// The zero value reads coordinates as µm (the file's units metadata must
// say µm or nothing) and reads and checks alpha when the file has it.
type ReadOptions struct {
	// Scale is the number of µm per input coordinate unit (--units or
	// --scale): coordinates are multiplied by it. 0 means 1, with the
	// file's units required to be µm.
	Scale float64
	// IgnoreAlpha skips the alpha column (not read, not checked; the
	// neurons have no alpha): for runs without --use_alpha.
	IgnoreAlpha bool
}

// Factor is the factor coordinates are multiplied by: Scale, or 1.
func (o ReadOptions) Factor() float64 {
	if o.Scale == 0 {
		return 1
	}
	return o.Scale
}

// check refuses a negative, NaN or infinite Scale.
func (o ReadOptions) check(path string) error {
	if !(o.Scale >= 0) || math.IsInf(o.Scale, 0) {
		return fmt.Errorf("%s: scale %v is not a positive number of µm per coordinate unit: pass --units (e.g. \"8 nm\") or a positive --scale (e.g. 0.008)", path, o.Scale)
	}
	return nil
}

// NeuronInfo is what planning needs, read cheaply (only the neuron and
// x, y, z columns).
type NeuronInfo struct {
	ID       scoring.ID
	Points   int        // number of points
	Centroid [3]float64 // mean of the points, µm
	Min, Max [3]float64 // bounding box of the points, µm
	File     string     // the Parquet file holding the neuron
}

// Extent is the neuron's point count and bounding box, for bounds.
func (n NeuronInfo) Extent() scoring.Extent {
	return scoring.Extent{Points: n.Points, Min: n.Min, Max: n.Max}
}

// ReadDotpropsFile reads one navis-layout Parquet file: columns x, y, z,
// vect_x, vect_y, vect_z (DOUBLE or FLOAT), optional alpha (DOUBLE or FLOAT),
// neuron (INT64, or STRING/LARGE_STRING, possibly dictionary-encoded).
// Neurons are returned in order of first appearance; rows of one neuron need
// not be contiguous; per-neuron point order is row order. Values are float64
// (float32 columns are widened exactly); the coordinates x, y, z are then
// multiplied by opt.Scale (when not 0) to give µm, the tangent vectors and
// alpha are not. The file's "<id>:units" metadata must agree with opt
// (checkUnitsMetadata). With opt.IgnoreAlpha the alpha column is not read
// and the neurons have no alpha (nil Alpha). Every neuron is then
// validated (scoring.Dotprops.Validate). The file is read row group by row
// group (ReadDotpropsRowGroups of all of them), so besides the neurons at
// most decodeAhead()+1 row groups are held at once. Errors are one line
// naming the file and, where relevant, the neuron, the row group or the
// column, with advice; a damaged file is an error, never a panic. A NumPy
// .npz archive of dotprops (NPZLayout, with vectors) is read the same way,
// whole (readNPZDotprops).
func ReadDotpropsFile(ctx context.Context, path string, opt ReadOptions) (dps []*scoring.Dotprops, err error) {
	if IsNPZ(path) {
		dps, err = readNPZDotprops(ctx, path, opt)
	} else {
		dps, err = readParquetDotprops(ctx, path, opt)
	}
	if err != nil {
		return nil, err
	}
	for _, d := range dps {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w: %s", path, err, InvalidAdvice(err, opt.Factor()))
		}
	}
	return dps, nil
}

// readParquetDotprops is ReadDotpropsFile's reading of a Parquet file,
// row group by row group (at most decodeAhead()+1 decoded at once), the
// neurons' pieces concatenated in row-group order.
func readParquetDotprops(ctx context.Context, path string, opt ReadOptions) (dps []*scoring.Dotprops, err error) {
	defer recoverCorrupt(path, &err)
	in, err := openInput(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	defer in.close()
	return in.readDotprops(ctx, 0, in.rdr.NumRowGroups(), opt)
}

// InvalidAdvice is what to do about a neuron that fails Validate.
func InvalidAdvice(err error, scale float64) string {
	var ie *scoring.InvalidError
	if !errors.As(err, &ie) {
		return "fix or remove this neuron"
	}
	switch ie.Problem {
	case scoring.BadAlpha:
		return "alpha is used with --use_alpha (recompute the dotprops with navis.make_dotprops, or run without --use_alpha, which ignores alpha)"
	case scoring.BadVector:
		return "tangent vectors (vect_x, vect_y, vect_z) must be finite unit vectors: recompute this neuron's dotprops with navis.make_dotprops, or remove the neuron"
	case scoring.BadPoint:
		if scale != 1 {
			return fmt.Sprintf("coordinates (x, y, z, times --scale %g) must be finite: drop the non-finite points and recompute this neuron's dotprops, or remove the neuron", scale)
		}
		return "coordinates (x, y, z) must be finite: drop the non-finite points and recompute this neuron's dotprops, or remove the neuron"
	}
	return "remove this neuron or rewrite the file with its dotprops (navis.write_parquet)"
}

// ReadNeuronIndex reads the ids, point counts, centroids and bounding boxes
// of the neurons in one navis-layout Parquet file, in order of first
// appearance, reading only the neuron and x, y, z columns. Coordinates are
// scaled as ReadDotpropsFile scales them (the same v * opt.Scale), so the
// index agrees exactly with the points ReadDotpropsFile returns. It checks
// the layout, the units and that the (scaled) coordinates are finite; the
// full check is ReadDotpropsFile's. Centroid is the sum of the scaled
// coordinates in row order divided by Points. Row groups are decoded in
// parallel (up to decodeAhead() ahead, one goroutine each) and accumulated
// in order, so the results do not depend on the number of CPUs, and memory
// is the index plus at most decodeAhead()+1 row groups' four columns. A
// .npz archive is indexed from its arrays, read whole (npzNeuronIndex).
func ReadNeuronIndex(ctx context.Context, path string, opt ReadOptions) (out []NeuronInfo, err error) {
	if IsNPZ(path) {
		return npzNeuronIndex(ctx, path, opt)
	}
	defer recoverCorrupt(path, &err)
	in, err := openInput(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	defer in.close()
	cs, err := in.columns([]string{colNeuron, colX, colY, colZ})
	if err != nil {
		return nil, err
	}
	// Row group by row group, in order (so every sum runs in row order),
	// at most decodeAhead()+1 row groups decoded at once.
	ids := newIDIndex()
	var rowNeuron []int32
	scale := opt.Factor()
	err = cs.scan(ctx, 0, in.rdr.NumRowGroups(), func(g *rowGroup) error {
		var err error
		if rowNeuron, err = ids.appendRows(path, g, g.cols[0], rowNeuron[:0]); err != nil {
			return err
		}
		out, err = indexRowGroup(path, g, ids, rowNeuron, out, scale)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		for k := range out[i].Centroid {
			out[i].Centroid[k] /= float64(out[i].Points)
		}
	}
	return out, nil
}

// recoverCorrupt turns a panic inside the Parquet reader in the calling
// goroutine (a damaged footer or schema can cause one) into an error naming
// the file. Damaged pages are caught per column chunk, by ReadColumnChunks.
func recoverCorrupt(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: corrupt or unsupported Parquet file (%v): %s", path, r, corruptAdvice)
	}
}

// corruptAdvice is what to do about a damaged input file.
const corruptAdvice = "the file is damaged (truncated or altered after it was written): restore it, or rewrite it with navis.write_parquet or pyarrow"

// input is one opened Parquet file.
type input struct {
	path   string
	ra     files.ReaderAt
	rdr    *file.Reader
	schema *arrow.Schema // Arrow view of the file's schema
}

func openInput(ctx context.Context, path string, opt ReadOptions) (*input, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := opt.check(path); err != nil {
		return nil, err
	}
	ra, err := files.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	mem := memory.NewGoAllocator()
	rdr, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("%s: not a Parquet file (%v): inputs must be dotprops in Parquet, e.g. written by navis.write_parquet", path, err)
	}
	in := &input{path: path, ra: ra, rdr: rdr}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err == nil {
		in.schema, err = fr.Schema()
	}
	if err != nil {
		in.close()
		return nil, fmt.Errorf("%s: unsupported Parquet schema (%v): %s", path, err, layoutHint)
	}
	if err := checkUnitsMetadata(path, rdr.MetaData().KeyValueMetadata(), opt.Scale); err != nil {
		in.close()
		return nil, err
	}
	if rdr.NumRows() == 0 {
		in.close()
		return nil, fmt.Errorf("%s: the file has 0 rows (no neurons): remove it from the inputs or rewrite it with its dotprops", path)
	}
	rows := int64(0)
	for rg := 0; rg < rdr.NumRowGroups(); rg++ {
		rows += rdr.MetaData().RowGroup(rg).NumRows()
	}
	if rows != rdr.NumRows() {
		in.close()
		return nil, fmt.Errorf("%s: the row groups hold %d rows but the footer says the file has %d: %s", path, rows, rdr.NumRows(), corruptAdvice)
	}
	return in, nil
}

func (in *input) close() {
	in.rdr.Close() // closes the section reader only
	in.ra.Close()
}

func (in *input) has(name string) bool {
	return len(in.schema.FieldIndices(name)) > 0 && in.rdr.MetaData().Schema.ColumnIndexByName(name) >= 0
}

// read checks that the named columns exist with usable types (columns)
// and reads them whole from every row group (ReadColumnChunks: a damaged
// page is an error naming the row group and the column). Each column has
// one chunk or more per row group; the neuron column, when STRING, is read
// through its Parquet dictionary. The caller calls the returned release
// when done. The readers of dotprops read row group by row group instead
// (columnSet.scan); this is for tests and small files.
func (in *input) read(ctx context.Context, names []string) (map[string]*arrow.Chunked, func(), error) {
	cs, err := in.columns(names)
	if err != nil {
		return nil, nil, err
	}
	chunked, err := ReadColumnChunks(ctx, in.path, cs.fr, cs.leaves, corruptAdvice)
	if err != nil {
		return nil, nil, err
	}
	release := func() {
		for _, c := range chunked {
			c.Release()
		}
	}
	cols := make(map[string]*arrow.Chunked, len(names))
	for i, n := range names {
		c := chunked[i]
		if int64(c.Len()) != in.rdr.NumRows() {
			release()
			return nil, nil, fmt.Errorf("%s: column %s has %d values for %d rows: %s", in.path, n, c.Len(), in.rdr.NumRows(), corruptAdvice)
		}
		cols[n] = c
	}
	return cols, release, nil
}

// ReadColumnChunks reads the leaf columns leaves (indices into the Parquet
// schema of fr's file; each must be a top-level column, not nested) from
// every row group, in order, and returns one chunked array per leaf (one
// chunk or more per row group), decoded as fr's properties say (e.g.
// dictionary reads). It reads column chunk by column chunk in the calling
// goroutine, unlike pqarrow's FileReader.ReadTable and ReadRowGroups, whose
// decoding goroutines crash the process when a damaged page makes arrow's
// decompressors (snappy, zstd, ...) panic: here every damaged page, and
// every decoding error, becomes an error of one line,
//
//	PATH: row group R, column C: corrupt Parquet data (...): ADVICE
//
// and a row group whose chunk has the wrong number of values is refused
// too. On success the caller releases the arrays; on error none is left
// to release.
func ReadColumnChunks(ctx context.Context, path string, fr *pqarrow.FileReader, leaves []int, advice string) ([]*arrow.Chunked, error) {
	rdr := fr.ParquetReader()
	md := rdr.MetaData()
	fields, err := leafFields(path, fr, leaves)
	if err != nil {
		return nil, err
	}
	chunks := make([][]arrow.Array, len(leaves))
	release := func() {
		for _, cs := range chunks {
			for _, c := range cs {
				c.Release()
			}
		}
	}
	for rg := 0; rg < rdr.NumRowGroups(); rg++ {
		cols, err := readRowGroupChunks(ctx, path, fr, rg, leaves, fields, advice)
		if err != nil {
			release()
			return nil, err
		}
		for i, c := range cols {
			for _, a := range c.Chunks() {
				a.Retain()
				chunks[i] = append(chunks[i], a)
			}
			c.Release()
		}
	}
	out := make([]*arrow.Chunked, len(leaves))
	for i, cs := range chunks {
		var t arrow.DataType // the first chunk's; the schema's for no row groups
		if len(cs) > 0 {
			t = cs[0].DataType()
		} else if f := fr.Manifest.Fields[fields[i]].Field; f != nil {
			t = f.Type
		}
		for k, c := range cs {
			if !arrow.TypeEqual(c.DataType(), t) {
				release()
				for _, o := range out[:i] {
					o.Release()
				}
				return nil, fmt.Errorf("%s: column %s arrived as Arrow %s in one chunk and %s in another (chunk %d): rewrite the file with one type per column", path, md.Schema.Column(leaves[i]).Path(), t, c.DataType(), k)
			}
		}
		if t == nil {
			t = arrow.Null
		}
		out[i] = arrow.NewChunked(t, cs)
	}
	release() // NewChunked retains what it keeps
	return out, nil
}

// readColumnChunk reads column field of row group rg in the calling
// goroutine (pqarrow's ColumnChunkReader.Read of a leaf starts none), so a
// panic of the decoder is recovered here and returned as an error.
func readColumnChunk(ctx context.Context, fr *pqarrow.FileReader, rg, field int) (c *arrow.Chunked, err error) {
	defer func() {
		if r := recover(); r != nil {
			if c != nil {
				c.Release()
			}
			c, err = nil, fmt.Errorf("corrupt Parquet data (%v)", r)
		}
	}()
	c, err = fr.RowGroup(rg).Column(field).Read(ctx)
	if err != nil {
		if c != nil {
			c.Release()
		}
		return nil, fmt.Errorf("corrupt Parquet data or unreadable file (%v)", err)
	}
	return c, nil
}

func isFloatType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.FLOAT64, arrow.FLOAT32:
		return true
	}
	return false
}

func isIDType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8,
		arrow.UINT64, arrow.UINT32, arrow.UINT16, arrow.UINT8,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	case arrow.DICTIONARY:
		return isIDType(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// idIndex numbers neuron ids in order of first appearance.
type idIndex struct {
	byInt map[int64]int32
	byStr map[string]int32
	ids   []scoring.ID
}

func (x *idIndex) intID(v int64) int32 {
	if n, ok := x.byInt[v]; ok {
		return n
	}
	n := int32(len(x.ids))
	x.byInt[v] = n
	x.ids = append(x.ids, scoring.IntID(v))
	return n
}

func (x *idIndex) strID(s string) int32 {
	if n, ok := x.byStr[s]; ok {
		return n
	}
	s = strings.Clone(s) // do not keep the Arrow buffer alive
	n := int32(len(x.ids))
	x.byStr[s] = n
	x.ids = append(x.ids, scoring.StrID(s))
	return n
}

// rowFunc returns, for a plain (non-dictionary) id array, a function giving
// the neuron number of row i; ok is false for a null or an out-of-range id.
func (x *idIndex) rowFunc(arr arrow.Array) (func(i int) (n int32, ok bool), error) {
	switch a := arr.(type) {
	case *array.Int64:
		return func(i int) (int32, bool) { return x.intID(a.Value(i)), true }, nil
	case *array.Int32:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.Int16:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.Int8:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.Uint64:
		return func(i int) (int32, bool) {
			v := a.Value(i)
			if v > math.MaxInt64 {
				return 0, false
			}
			return x.intID(int64(v)), true
		}, nil
	case *array.Uint32:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.Uint16:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.Uint8:
		return func(i int) (int32, bool) { return x.intID(int64(a.Value(i))), true }, nil
	case *array.String:
		return func(i int) (int32, bool) { return x.strID(a.Value(i)), true }, nil
	case *array.LargeString:
		return func(i int) (int32, bool) { return x.strID(a.Value(i)), true }, nil
	case *array.Binary:
		return func(i int) (int32, bool) { return x.strID(a.ValueString(i)), true }, nil
	case *array.LargeBinary:
		return func(i int) (int32, bool) { return x.strID(a.ValueString(i)), true }, nil
	}
	return nil, fmt.Errorf("Arrow type %s", arr.DataType())
}

// unitsRE splits a (lower-case, trimmed) units string into an optional
// factor and a unit name, e.g. "1 micrometer", "8nm", "0.008 um", "µm".
var unitsRE = regexp.MustCompile(`^([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?)?\s*(.*)$`)

// lengthUnit is a unit of length: mul/div µm (one of them is 1, so that
// factor*mul/div is one correctly rounded operation: 8 nm is exactly the
// float64 nearest 0.008).
type lengthUnit struct{ mul, div float64 }

// lengthUnits are the unit names ParseUnits accepts (lower case), as pint
// (navis) writes them in full or abbreviated, and as users type them.
var lengthUnits = map[string]lengthUnit{
	"nm": {1, 1e3}, "nanometer": {1, 1e3}, "nanometers": {1, 1e3}, "nanometre": {1, 1e3}, "nanometres": {1, 1e3},
	"um": {1, 1}, "µm": {1, 1}, "μm": {1, 1}, "micrometer": {1, 1}, "micrometers": {1, 1},
	"micrometre": {1, 1}, "micrometres": {1, 1}, "micron": {1, 1}, "microns": {1, 1},
	"mm": {1e3, 1}, "millimeter": {1e3, 1}, "millimeters": {1e3, 1}, "millimetre": {1e3, 1}, "millimetres": {1e3, 1},
	"cm": {1e4, 1}, "centimeter": {1e4, 1}, "centimeters": {1e4, 1}, "centimetre": {1e4, 1}, "centimetres": {1e4, 1},
	"m": {1e6, 1}, "meter": {1e6, 1}, "meters": {1e6, 1}, "metre": {1e6, 1}, "metres": {1e6, 1},
}

const acceptedUnits = `an optional positive factor and a unit of length: nm (nanometer), µm (um, micrometer, micron), mm (millimeter), cm (centimeter) or m (meter), plurals and -metre spellings too, e.g. "8 nanometer", "8 nm", "1 micrometer", "0.008 um"`

// unknownUnits are the values navis writes for a neuron without units
// (lower case); they are accepted, as navis itself does not check them.
var unknownUnits = map[string]bool{"": true, "none": true, "dimensionless": true, "nan": true}

// ErrUnknownUnits is the error (wrapped; test it with errors.Is) that
// ParseUnits returns for navis' markers of "no units recorded": "", "none",
// "dimensionless", "1 dimensionless", "nan" (any case). Such a file's
// coordinates are read without a units check.
var ErrUnknownUnits = errors.New("no units recorded")

// ParseUnits parses a units string as navis (pint) writes it in
// "<id>:units" metadata or as a user gives it to --units: an optional
// positive factor and a unit of length, e.g. "1 micrometer", "µm", "um",
// "microns", "8 nanometer", "8 nm", "nm", "0.008 um", "mm", "millimeter"
// (case and surrounding space do not matter). It returns the number of µm
// per unit: 1 for "1 micrometer", 0.008 for "8 nanometer", 1000 for "mm".
// navis' markers of no units return an error wrapping ErrUnknownUnits; any
// other string that is not such a length is an error naming it and listing
// the accepted names.
func ParseUnits(s string) (umPerUnit float64, err error) {
	mul, div, err := ParseUnitsRatio(s)
	if err != nil {
		return 0, err
	}
	return mul / div, nil
}

// ResolveUnits is the one reading of the --units and --scale flags (a
// scoring run, runner smat, runner dotprops): the exact conversion to µm
// (skeleton.Units; Factor is the µm per unit), or the zero Units (inputs
// are µm) when neither is given. --scale 0 is "not given" here; a command
// refuses it given (it cannot tell the default from the flag).
func ResolveUnits(units string, scale float64) (skeleton.Units, error) {
	switch {
	case units != "" && scale != 0:
		return skeleton.Units{}, fmt.Errorf("--units %q and --scale %v both given: give one (--units \"8 nm\" is --scale 0.008)", units, scale)
	case scale != 0:
		if !(scale > 0) || math.IsInf(scale, 0) {
			return skeleton.Units{}, fmt.Errorf("--scale %v: want the positive number of µm per input coordinate unit (e.g. 0.008 for 8 nm voxels); omit --scale for µm", scale)
		}
		return skeleton.Units{Mul: scale, Div: 1}, nil
	case units != "" && strings.TrimSpace(units) == "":
		return skeleton.Units{}, fmt.Errorf("--units %q: want a unit of length such as nm, \"8 nm\", um or mm (omit --units for µm)", units)
	case units != "":
		mul, div, err := ParseUnitsRatio(units)
		if err != nil {
			return skeleton.Units{}, fmt.Errorf("--units: %w", err)
		}
		return skeleton.Units{Mul: mul, Div: div}, nil
	}
	return skeleton.Units{}, nil
}

// ResolveScale is ResolveUnits as ReadOptions.Scale takes it: the µm per
// unit, 0 when neither flag is given.
func ResolveScale(units string, scale float64) (float64, error) {
	u, err := ResolveUnits(units, scale)
	if err != nil || u == (skeleton.Units{}) {
		return 0, err
	}
	return u.Factor(), nil
}

// ParseUnitsRatio is ParseUnits giving the µm per unit as the exact ratio
// mul/div of which ParseUnits returns the one correctly rounded quotient
// ("8 nm": 8 and 1000), so that a coordinate can be converted as
// v*mul/div: for 8 nm voxels that is the float64 nearest v/125, the
// conversion of navis' reference skeletons (v*0.008 can differ in the last
// bit). Errors as ParseUnits.
func ParseUnitsRatio(s string) (mul, div float64, err error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if unknownUnits[t] {
		return 0, 0, fmt.Errorf("units %q: %w", s, ErrUnknownUnits)
	}
	m := unitsRE.FindStringSubmatch(t)
	if m == nil {
		return 0, 0, fmt.Errorf("units %q: not a length: want %s", s, acceptedUnits)
	}
	factor := 1.0
	if m[1] != "" {
		factor, err = strconv.ParseFloat(m[1], 64)
		if err != nil || !(factor > 0) || math.IsInf(factor, 0) {
			return 0, 0, fmt.Errorf("units %q: factor %s is not a positive number: want %s", s, m[1], acceptedUnits)
		}
	}
	name := strings.TrimSpace(m[2])
	if name == "dimensionless" {
		if factor == 1 { // pint's "1 dimensionless": no units
			return 0, 0, fmt.Errorf("units %q: %w", s, ErrUnknownUnits)
		}
		return 0, 0, fmt.Errorf("units %q: a factor without a unit of length: want %s", s, acceptedUnits)
	}
	u, ok := lengthUnits[name]
	if !ok {
		if name == "" {
			return 0, 0, fmt.Errorf("units %q: no unit after the factor: want %s", s, acceptedUnits)
		}
		return 0, 0, fmt.Errorf("units %q: unknown unit %q: want %s", s, name, acceptedUnits)
	}
	mul, div = factor*u.mul, u.div
	if um := mul / div; !(um > 0) || math.IsInf(um, 0) || math.IsInf(mul, 0) {
		return 0, 0, fmt.Errorf("units %q: %g µm per unit is out of range: want %s", s, um, acceptedUnits)
	}
	return mul, div, nil
}

// unitsTolerance is the relative difference above which a file's units and
// the run's scale (or µm) disagree.
const unitsTolerance = 1e-9

// checkUnitsMetadata checks every "<id>:units" value of a file's key/value
// metadata against scale (ReadOptions.Scale, µm per coordinate unit; 0 means
// coordinates are read as µm): known units must agree with it (relative
// difference at most unitsTolerance); unknown units (ErrUnknownUnits) are
// accepted; unparsable units are refused. Keys starting with "_" are not
// neurons' and are skipped.
func checkUnitsMetadata(path string, kv interface {
	Keys() []string
	Values() []string
}, scale float64) error {
	keys, vals := kv.Keys(), kv.Values()
	for i, k := range keys {
		if !strings.HasSuffix(k, ":units") || strings.HasPrefix(k, "_") {
			continue
		}
		id, v := strings.TrimSuffix(k, ":units"), strings.TrimSpace(vals[i])
		um, err := ParseUnits(vals[i])
		switch {
		case errors.Is(err, ErrUnknownUnits):
			continue
		case err != nil:
			return fmt.Errorf("%s: neuron %s (metadata key %q): %v: fix the units metadata, or convert the neurons to µm with navis (neurons.convert_units('um')) and rewrite the file", path, id, k, err)
		case scale == 0 && math.Abs(um-1) > unitsTolerance:
			return fmt.Errorf("%s: neuron %s has units %q (%g µm per unit), but coordinates are read as µm: pass --units %q (or --scale %g) to convert them, or convert the neurons with navis (neurons.convert_units('um'))", path, id, v, um, v, um)
		case scale > 0 && math.Abs(um-scale) > unitsTolerance*scale:
			return fmt.Errorf("%s: neuron %s has units %q (%g µm per unit) but --units/--scale says %g µm per unit: these neurons need --units %q (or --scale %g), and the inputs of one run must share units: give the right --units, or convert the neurons with navis (neurons.convert_units('um'))", path, id, v, um, scale, v, um)
		}
	}
	return nil
}

// WriteDotpropsParquet writes dotprops in navis' layout with a
// DotpropsWriter (see there for the columns, metadata, row groups and
// encodings): the alpha column only if every neuron has alpha. All ids must
// be of one kind and distinct, and every neuron valid; they are all checked
// before anything is written. w is not closed.
func WriteDotpropsParquet(w io.Writer, dps []*scoring.Dotprops) error {
	return writeDotpropsParquet(w, dps, compress.Codecs.Zstd)
}

// WriteParquetFile writes the staging area's file p (local or gs://) as
// WriteDotpropsParquet would, streamed to it (files.Create: whole or not
// at all) and uncompressed: staged files live for one run, and zstd gains
// little on float64 coordinates (about 12% on a synthetic brain) while
// writing and reading them compressed, and growing an in-memory copy,
// cost about a tenth of a 300-neuron run's CPU.
func WriteParquetFile(ctx context.Context, p string, dps []*scoring.Dotprops) error {
	w, err := files.Create(ctx, p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := writeDotpropsParquet(bw, dps, compress.Codecs.Uncompressed); err != nil {
		w.Abort()
		return err
	}
	if err := bw.Flush(); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

func writeDotpropsParquet(w io.Writer, dps []*scoring.Dotprops, codec compress.Compression) error {
	if len(dps) == 0 {
		return errors.New("write dotprops Parquet: no neurons to write")
	}
	hasAlpha := true
	for _, d := range dps {
		hasAlpha = hasAlpha && d.HasAlpha()
	}
	c := newDotpropsChecker(dps[0].ID.IsStr, hasAlpha)
	for _, d := range dps {
		if err := c.check(d); err != nil {
			return err
		}
	}
	dw, err := newDotpropsWriter(w, c.strIDs, c.hasAlpha, codec)
	if err != nil {
		return err
	}
	dw.dotpropsChecker = c
	for _, d := range dps {
		if err := dw.write(d); err != nil {
			dw.Close()
			return err
		}
	}
	return dw.Close()
}

// noCloseWriter hides the Close method of the caller's writer: the Parquet
// writer closes its sink when it is an io.Closer.
type noCloseWriter struct{ w io.Writer }

func (n noCloseWriter) Write(p []byte) (int, error) { return n.w.Write(p) }

// Diff describes the first difference between a and b, or "".
func Diff(a, b *scoring.Dotprops) string {
	if a.Len() != b.Len() {
		return fmt.Sprintf("%d vs %d points", a.Len(), b.Len())
	}
	if a.HasAlpha() != b.HasAlpha() || len(a.Alpha) != len(b.Alpha) {
		return "alpha present in only one"
	}
	for i := range a.Points {
		if a.Points[i] != b.Points[i] {
			return fmt.Sprintf("point %d: %v vs %v", i, a.Points[i], b.Points[i])
		}
		if a.Vectors[i] != b.Vectors[i] {
			return fmt.Sprintf("tangent %d: %v vs %v", i, a.Vectors[i], b.Vectors[i])
		}
	}
	for i := range a.Alpha {
		if a.Alpha[i] != b.Alpha[i] {
			return fmt.Sprintf("alpha %d: %v vs %v", i, a.Alpha[i], b.Alpha[i])
		}
	}
	return ""
}
