package dotprops

// Reading navis-layout Parquet row group by row group: a bounded number of
// row groups are decoded ahead, in parallel, of one in-order accumulator,
// so that memory is a few row groups, not whole columns of the file, and
// results do not depend on the number of decoders.

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// FileRowGroups returns the number of row groups of the Parquet file at
// path (local or gs://), reading only its footer (ranged reads): the splits
// ReadDotpropsRowGroups reads. It does not check the dotprops layout.
func FileRowGroups(ctx context.Context, path string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rows, err := RowGroupRows(ctx, path)
	return len(rows), err
}

// ReadDotpropsRowGroups reads row groups [first, first+n) of one
// navis-layout Parquet file (0 <= first, n >= 1, first+n <= FileRowGroups)
// with ReadDotpropsFile's column, type, units and damage checks, and
// returns the pieces of the neurons that have rows there: one Dotprops per
// neuron, in order of first appearance in those row groups, its points in
// row order. Coordinates are v * opt.Factor() µm, exactly as
// ReadDotpropsFile scales them; tangent vectors and alpha are as stored.
//
// Rows of one neuron need not be contiguous, so a neuron may have pieces
// in several splits: the pieces are not validated (a piece may be, e.g.,
// too short on its own). The caller concatenates a neuron's pieces in
// row-group order, which gives ReadDotpropsFile's neuron exactly, and
// validates the whole neuron (scoring.Dotprops.Validate). Errors are one
// line naming the file and, where relevant, the row group, the column and
// the row (numbered from the start of the file), with advice.
func ReadDotpropsRowGroups(ctx context.Context, path string, first, n int, opt ReadOptions) (dps []*scoring.Dotprops, err error) {
	if IsNPZ(path) { // one "row group": the whole archive
		if first != 0 || n != 1 {
			return nil, fmt.Errorf("%s: row groups %d to %d are out of range: a .npz archive is read whole, as row group 0", path, first, first+n-1)
		}
		return readNPZDotprops(ctx, path, opt)
	}
	defer recoverCorrupt(path, &err)
	in, err := openInput(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	defer in.close()
	if total := in.rdr.NumRowGroups(); first < 0 || n < 1 || first > total-n {
		return nil, fmt.Errorf("%s: row groups %d to %d (first %d, n %d) are out of range: the file has %d row groups, numbered 0 to %d: ask FileRowGroups for the count and read splits with first >= 0, n >= 1, first+n <= the count",
			path, first, first+n-1, first, n, total, total-1)
	}
	return in.readDotprops(ctx, first, n, opt)
}

// readDotprops reads the dotprops pieces of row groups [first, first+n)
// of in, unvalidated (see ReadDotpropsRowGroups).
func (in *input) readDotprops(ctx context.Context, first, n int, opt ReadOptions) ([]*scoring.Dotprops, error) {
	names := append([]string(nil), requiredColumns...)
	hasAlpha := in.has(colAlpha) && !opt.IgnoreAlpha
	if hasAlpha {
		names = append(names, colAlpha)
	}
	cs, err := in.columns(names)
	if err != nil {
		return nil, err
	}
	col := make(map[string]int, len(names))
	for i, name := range names {
		col[name] = i
	}
	scale := opt.Factor()
	var (
		ids       = newIDIndex()
		dps       []*scoring.Dotprops
		rowNeuron []int32 // neuron number of each row of the row group
		count     []int   // per neuron: its rows in the row group (0 outside visit)
		cursor    []int   // per neuron: next point to fill
		touched   []int32 // neurons with rows in the row group
	)
	err = cs.scan(ctx, first, n, func(g *rowGroup) error {
		var err error
		if rowNeuron, err = ids.appendRows(in.path, g, g.cols[col[colNeuron]], rowNeuron[:0]); err != nil {
			return err
		}
		for len(dps) < len(ids.ids) {
			dps = append(dps, &scoring.Dotprops{ID: ids.ids[len(dps)]})
			count, cursor = append(count, 0), append(cursor, 0)
		}
		touched = touched[:0]
		for _, nn := range rowNeuron {
			if count[nn] == 0 {
				touched = append(touched, nn)
			}
			count[nn]++
		}
		for _, nn := range touched {
			d, c := dps[nn], count[nn]
			d.Points = grow(d.Points, c)
			d.Vectors = grow(d.Vectors, c)
			if hasAlpha {
				d.Alpha = grow(d.Alpha, c)
			}
		}
		// fill writes column name into the pieces' points in row order:
		// cursor[n] runs over the row group's new points of neuron n.
		fill := func(name string, set fillFunc) error {
			for _, nn := range touched {
				cursor[nn] = len(dps[nn].Vectors) - count[nn]
			}
			return forFloatChunks(in.path, g, name, g.cols[col[name]], func(r int, f64 []float64, f32 []float32) {
				set(dps, rowNeuron[r:], cursor, f64, f32, scale)
			})
		}
		for k, name := range []string{colX, colY, colZ} {
			if err := fill(name, fillPoints(k)); err != nil {
				return err
			}
		}
		for k, name := range []string{colVX, colVY, colVZ} {
			if err := fill(name, fillVectors(k)); err != nil {
				return err
			}
		}
		if hasAlpha {
			if err := fill(colAlpha, fillAlpha); err != nil {
				return err
			}
		}
		for _, nn := range touched {
			count[nn] = 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dps, nil
}

// grow extends s by n zero elements (amortised, as append).
func grow[E any](s []E, n int) []E {
	return slices.Grow(s, n)[:len(s)+n]
}

// fillFunc stores one chunk of a float column (f64 or f32, the other nil)
// into the pieces: row j belongs to neuron rowNeuron[j] and goes to its
// point cursor[rowNeuron[j]], which is then advanced.
type fillFunc func(dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, f64 []float64, f32 []float32, scale float64)

// fillPoints stores coordinate k, multiplied by scale (the same v * scale
// as ReadNeuronIndex's, so that the index and the points agree exactly).
func fillPoints(k int) fillFunc {
	return func(dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, f64 []float64, f32 []float32, scale float64) {
		if f64 != nil {
			fillPointsOf(dps, rowNeuron, cursor, f64, k, scale)
		} else {
			fillPointsOf(dps, rowNeuron, cursor, f32, k, scale)
		}
	}
}

func fillPointsOf[T float32 | float64](dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, vals []T, k int, scale float64) {
	for j, v := range vals {
		n := rowNeuron[j]
		dps[n].Points[cursor[n]][k] = float64(v) * scale
		cursor[n]++
	}
}

// fillVectors stores tangent component k as it is (float32 widened).
func fillVectors(k int) fillFunc {
	return func(dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, f64 []float64, f32 []float32, _ float64) {
		if f64 != nil {
			fillVectorsOf(dps, rowNeuron, cursor, f64, k)
		} else {
			fillVectorsOf(dps, rowNeuron, cursor, f32, k)
		}
	}
}

func fillVectorsOf[T float32 | float64](dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, vals []T, k int) {
	for j, v := range vals {
		n := rowNeuron[j]
		dps[n].Vectors[cursor[n]][k] = float64(v)
		cursor[n]++
	}
}

// fillAlpha stores alpha as it is (float32 widened).
func fillAlpha(dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, f64 []float64, f32 []float32, _ float64) {
	if f64 != nil {
		fillAlphaOf(dps, rowNeuron, cursor, f64)
	} else {
		fillAlphaOf(dps, rowNeuron, cursor, f32)
	}
}

func fillAlphaOf[T float32 | float64](dps []*scoring.Dotprops, rowNeuron []int32, cursor []int, vals []T) {
	for j, v := range vals {
		n := rowNeuron[j]
		dps[n].Alpha[cursor[n]] = float64(v)
		cursor[n]++
	}
}

// indexRowGroup adds one row group to the index out (ReadNeuronIndex):
// point counts, then per coordinate the sums (in row order), minima and
// maxima of v * scale. New neurons (ids numbered since the last call) are
// appended to out first. A non-finite scaled coordinate is an error naming
// the neuron, the column, the row and the row group.
func indexRowGroup(path string, g *rowGroup, ids *idIndex, rowNeuron []int32, out []NeuronInfo, scale float64) ([]NeuronInfo, error) {
	for len(out) < len(ids.ids) {
		info := NeuronInfo{ID: ids.ids[len(out)], File: path}
		for k := range 3 {
			info.Min[k], info.Max[k] = math.Inf(1), math.Inf(-1)
		}
		out = append(out, info)
	}
	for _, n := range rowNeuron {
		out[n].Points++
	}
	for k, name := range []string{colX, colY, colZ} {
		bad := -1 // row (in the row group) of the first non-finite value
		err := forFloatChunks(path, g, name, g.cols[1+k], func(r int, f64 []float64, f32 []float32) {
			if bad >= 0 {
				return
			}
			j := -1
			if f64 != nil {
				j = indexCoords(out, rowNeuron[r:], f64, k, scale)
			} else {
				j = indexCoords(out, rowNeuron[r:], f32, k, scale)
			}
			if j >= 0 {
				bad = r + j
			}
		})
		if err != nil {
			return nil, err
		}
		if bad >= 0 {
			v := floatAt(g.cols[1+k], bad)
			what := fmt.Sprintf("(%v)", v*scale)
			if scale != 1 {
				what = fmt.Sprintf("(%v, times --scale %g)", v, scale)
			}
			return nil, fmt.Errorf("%s: neuron %s: column %s holds a non-finite coordinate %s at row %d (row group %d): coordinates must be finite: drop the non-finite points and recompute this neuron's dotprops, or remove the neuron",
				path, ids.ids[rowNeuron[bad]], name, what, g.rowOff+int64(bad), g.index)
		}
	}
	return out, nil
}

// indexCoords adds coordinate k of one chunk (v * scale) to the neurons'
// sums and boxes in row order; it returns the position of the first
// non-finite scaled value (nothing of it or after it is added), or -1.
//
// Rows of a neuron are usually contiguous, so each run of rows of one
// neuron is accumulated in locals and stored once: the additions are the
// same, in the same order, as adding each value to the stored sum.
func indexCoords[T float32 | float64](out []NeuronInfo, rowNeuron []int32, vals []T, k int, scale float64) int {
	rowNeuron = rowNeuron[:len(vals)]
	for j := 0; j < len(vals); {
		n := rowNeuron[j]
		o := &out[n]
		sum, lo, hi := o.Centroid[k], o.Min[k], o.Max[k]
		for ; j < len(vals) && rowNeuron[j] == n; j++ {
			v := float64(vals[j]) * scale // as ReadDotpropsFile
			if v-v != 0 {                 // NaN or ±Inf
				return j
			}
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		o.Centroid[k], o.Min[k], o.Max[k] = sum, lo, hi
	}
	return -1
}

// floatAt is value i of a float column of one row group (widened).
func floatAt(col *arrow.Chunked, i int) float64 {
	for _, c := range col.Chunks() {
		if i < c.Len() {
			switch a := c.(type) {
			case *array.Float64:
				return a.Value(i)
			case *array.Float32:
				return float64(a.Value(i))
			}
			return math.NaN()
		}
		i -= c.Len()
	}
	return math.NaN()
}

// forFloatChunks calls f on each chunk of a DOUBLE or FLOAT column of row
// group g, in order, with r the row (in the row group) of the chunk's first
// value and its values as f64 or f32 (the other nil). A null is an error
// naming the column, the row and the row group; so is another Arrow type.
func forFloatChunks(path string, g *rowGroup, name string, col *arrow.Chunked, f func(r int, f64 []float64, f32 []float32)) error {
	r := 0
	for _, chunk := range col.Chunks() {
		n := chunk.Len()
		if chunk.NullN() > 0 {
			for i := 0; i < n; i++ {
				if chunk.IsNull(i) {
					return fmt.Errorf("%s: column %s is null at row %d (row group %d): every point needs a value", path, name, g.rowOff+int64(r+i), g.index)
				}
			}
		}
		switch a := chunk.(type) {
		case *array.Float64:
			f(r, a.Float64Values(), nil)
		case *array.Float32:
			f(r, nil, a.Float32Values())
		default:
			return fmt.Errorf("%s: column %s arrived as Arrow %s, want DOUBLE or FLOAT: %s", path, name, chunk.DataType(), layoutHint)
		}
		r += n
	}
	if int64(r) != g.rows {
		return fmt.Errorf("%s: row group %d, column %s: %d values for the row group's %d rows: %s", path, g.index, name, r, g.rows, corruptAdvice)
	}
	return nil
}

// newIDIndex is an empty idIndex.
func newIDIndex() *idIndex {
	return &idIndex{byInt: map[int64]int32{}, byStr: map[string]int32{}}
}

// appendRows numbers the ids of the neuron column col of row group g (one
// or more chunks, each a plain or a dictionary array, a dictionary chunk
// with its own dictionary) in order of first appearance, continuing x's
// numbering, and appends the neuron number of every row to dst.
func (x *idIndex) appendRows(path string, g *rowGroup, col *arrow.Chunked, dst []int32) ([]int32, error) {
	r := 0 // row in the row group
	bad := func(i int, err error) error {
		if err != nil {
			return fmt.Errorf("%s: column neuron arrived as %v: %s", path, err, layoutHint)
		}
		return fmt.Errorf("%s: column neuron is null or not an int64 id at row %d (row group %d): every point needs its neuron's id", path, g.rowOff+int64(r+i), g.index)
	}
	for _, chunk := range col.Chunks() {
		n := chunk.Len()
		switch a := chunk.(type) {
		case *array.Dictionary:
			dict := a.Dictionary()
			get, err := x.rowFunc(dict)
			if err != nil {
				return nil, bad(0, err)
			}
			memo := make([]int32, dict.Len())
			for k := range memo {
				memo[k] = -1
			}
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					return nil, bad(i, nil)
				}
				k := a.GetValueIndex(i)
				if memo[k] < 0 {
					if dict.IsNull(k) {
						return nil, bad(i, nil)
					}
					v, ok := get(k)
					if !ok {
						return nil, bad(i, nil)
					}
					memo[k] = v
				}
				dst = append(dst, memo[k])
			}
		case *array.Int64:
			// The common case: rows of a neuron are usually contiguous, so
			// one map lookup per run of equal ids.
			if a.NullN() > 0 {
				for i := 0; i < n; i++ {
					if a.IsNull(i) {
						return nil, bad(i, nil)
					}
				}
			}
			vals := a.Int64Values()
			if len(vals) == 0 {
				break
			}
			last, lastN := vals[0], x.intID(vals[0])
			for _, v := range vals {
				if v != last {
					last, lastN = v, x.intID(v)
				}
				dst = append(dst, lastN)
			}
		default:
			get, err := x.rowFunc(chunk)
			if err != nil {
				return nil, bad(0, err)
			}
			hasNulls := chunk.NullN() > 0
			for i := 0; i < n; i++ {
				if hasNulls && chunk.IsNull(i) {
					return nil, bad(i, nil)
				}
				v, ok := get(i)
				if !ok {
					return nil, bad(i, nil)
				}
				dst = append(dst, v)
			}
		}
		r += n
	}
	if int64(r) != g.rows {
		return nil, fmt.Errorf("%s: row group %d, column neuron: %d values for the row group's %d rows: %s", path, g.index, r, g.rows, corruptAdvice)
	}
	return dst, nil
}

// columnSet is a checked set of columns of one input, ready to read.
type columnSet struct {
	in     *input
	names  []string
	fr     *pqarrow.FileReader // with the properties the columns need
	leaves []int               // Parquet leaf column of each name
	fields []int               // pqarrow manifest field of each name
}

// columns checks that the named columns exist with usable types (floats,
// INT64/STRING ids for neuron, integers for a skeleton's node_id and
// parent_id) and prepares to read them. The neuron
// column, when STRING, is read through its Parquet dictionary.
func (in *input) columns(names []string) (*columnSet, error) {
	var missing []string
	for _, n := range names {
		if !in.has(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		var have []string
		for _, f := range in.schema.Fields() {
			have = append(have, f.Name)
		}
		return nil, fmt.Errorf("%s: missing column(s) %s (the file has columns %s): %s",
			in.path, strings.Join(missing, ", "), strings.Join(have, ", "), layoutHint)
	}
	md := in.rdr.MetaData()
	var props pqarrow.ArrowReadProperties
	leaves := make([]int, len(names))
	for i, n := range names {
		leaves[i] = md.Schema.ColumnIndexByName(n)
		t := in.schema.Field(in.schema.FieldIndices(n)[0]).Type
		ok := isFloatType(t)
		want := "DOUBLE or FLOAT"
		if n == colNodeID || n == colParentID {
			ok, want = isIntType(t), "an integer type (INT64 or INT32)"
		}
		if n == colNeuron {
			ok, want = isIDType(t), "INT64 or STRING"
			// Decode string ids through their Parquet dictionary: one map
			// lookup per distinct id instead of one string per row.
			if md.Schema.Column(leaves[i]).PhysicalType() == parquet.Types.ByteArray {
				props.SetReadDict(leaves[i], true)
			}
		}
		if !ok {
			c := md.Schema.Column(leaves[i])
			pt := c.PhysicalType().String()
			if lt := c.LogicalType(); lt != nil && lt.String() != "None" {
				pt += " (" + lt.String() + ")"
			}
			return nil, fmt.Errorf("%s: column %s has type %s (Arrow %s), want %s: %s", in.path, n, pt, t, want, layoutHint)
		}
	}
	fr, err := pqarrow.NewFileReader(in.rdr, props, memory.NewGoAllocator())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.path, err)
	}
	fields, err := leafFields(in.path, fr, leaves)
	if err != nil {
		return nil, err
	}
	return &columnSet{in: in, names: names, fr: fr, leaves: leaves, fields: fields}, nil
}

// rowGroup is the decoded columns of one row group.
type rowGroup struct {
	index  int              // row group number in the file
	rowOff int64            // file row number of its first row
	rows   int64            // its number of rows
	cols   []*arrow.Chunked // one per column of the columnSet, in order
}

func (g *rowGroup) release() {
	for _, c := range g.cols {
		c.Release()
	}
}

// decodeAhead is how many row groups scan decodes ahead of its visitor,
// each in its own goroutine: one per usable core (cores.N).
func decodeAhead() int {
	return cores.N()
}

// scan decodes the columns of row groups [first, first+n) and calls visit
// with each, in row-group order, in the calling goroutine; the arrays are
// released when visit returns. Up to decodeAhead row groups are decoded
// ahead of visit, concurrently, so at most decodeAhead()+1 row groups'
// columns are held at once. Decoding errors (damaged pages, see
// ReadColumnChunks) are returned in row-group order: the first failing row
// group, counted from first, is the one reported, whatever the timing; no
// later row group is visited. Every goroutine has ended when scan returns.
func (cs *columnSet) scan(ctx context.Context, first, n int, visit func(g *rowGroup) error) error {
	md := cs.in.rdr.MetaData()
	rowOff := int64(0)
	for rg := 0; rg < first; rg++ {
		rowOff += md.RowGroup(rg).NumRows()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		g   *rowGroup
		err error
	}
	pending := make([]chan result, n)
	launched := 0
	launch := func() {
		i := launched
		launched++
		g := &rowGroup{index: first + i, rowOff: rowOff, rows: md.RowGroup(first + i).NumRows()}
		rowOff += g.rows
		ch := make(chan result, 1)
		pending[i] = ch
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil { // outside readColumnChunk's own recover
					if g.cols != nil {
						g.release()
					}
					err = fmt.Errorf("%s: row group %d: corrupt or unsupported Parquet data (%v): %s", cs.in.path, g.index, r, corruptAdvice)
				}
				if err != nil {
					ch <- result{err: err}
					return
				}
				ch <- result{g: g}
			}()
			g.cols, err = readRowGroupChunks(ctx, cs.in.path, cs.fr, g.index, cs.leaves, cs.fields, corruptAdvice)
		}()
	}
	defer func() { // after an error: stop the decoders, wait, release
		cancel()
		for _, ch := range pending[:launched] {
			if ch != nil {
				if r := <-ch; r.g != nil {
					r.g.release()
				}
			}
		}
	}()
	for launched < min(decodeAhead(), n) {
		launch()
	}
	for i := 0; i < n; i++ {
		r := <-pending[i]
		pending[i] = nil
		if launched < n {
			launch()
		}
		if r.err != nil {
			return r.err
		}
		err := visit(r.g)
		r.g.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// readRowGroupChunks reads the leaf columns leaves (pqarrow fields fields)
// of row group rg in the calling goroutine, one *arrow.Chunked per leaf, as
// ReadColumnChunks does for every row group: a damaged page, a decoding
// error or a wrong number of values is an error of one line naming the
// file, the row group and the column. On error nothing is left to release.
func readRowGroupChunks(ctx context.Context, path string, fr *pqarrow.FileReader, rg int, leaves, fields []int, advice string) ([]*arrow.Chunked, error) {
	md := fr.ParquetReader().MetaData()
	rows := md.RowGroup(rg).NumRows()
	out := make([]*arrow.Chunked, 0, len(leaves))
	release := func() {
		for _, c := range out {
			c.Release()
		}
	}
	for i, leaf := range leaves {
		if err := ctx.Err(); err != nil {
			release()
			return nil, err
		}
		name := md.Schema.Column(leaf).Path()
		c, err := readColumnChunk(ctx, fr, rg, fields[i])
		if err != nil {
			release()
			return nil, &files.DamagedError{Path: path, Detail: fmt.Sprintf("row group %d, column %s: %v", rg, name, err), Advice: advice}
		}
		out = append(out, c)
		if n := c.Len(); int64(n) != rows {
			release()
			return nil, &files.DamagedError{Path: path, Detail: fmt.Sprintf("row group %d, column %s: corrupt Parquet data (%d values for the row group's %d rows)", rg, name, n, rows), Advice: advice}
		}
	}
	return out, nil
}

// leafFields maps Parquet leaf columns to pqarrow manifest fields,
// refusing nested columns.
func leafFields(path string, fr *pqarrow.FileReader, leaves []int) ([]int, error) {
	md := fr.ParquetReader().MetaData()
	fields := make([]int, len(leaves))
	for i, leaf := range leaves {
		if leaf < 0 || leaf >= md.Schema.NumColumns() {
			return nil, fmt.Errorf("%s: no column %d (the file has %d)", path, leaf, md.Schema.NumColumns())
		}
		fi, err := fr.Manifest.GetFieldIndices([]int{leaf})
		if err != nil || len(fi) != 1 || len(fr.Manifest.Fields[fi[0]].Children) != 0 {
			return nil, fmt.Errorf("%s: column %s is nested, want a plain column", path, md.Schema.Column(leaf).Path())
		}
		fields[i] = fi[0]
	}
	return fields, nil
}

// RowGroupRows reads the row count of each row group of a Parquet file
// from its footer; a NumPy .npz archive of dotprops is one row group of
// all its points.
func RowGroupRows(ctx context.Context, path string) (rows []int64, err error) {
	if IsNPZ(path) { // read whole: one row group of all its points
		nz, err := readNPZ(ctx, path, 0, nil)
		if err != nil {
			return nil, err
		}
		return []int64{nz.offsets[len(nz.offsets)-1]}, nil
	}
	defer recoverCorrupt(path, &err)
	ra, err := files.OpenReaderAt(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer ra.Close()
	rdr, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: not a Parquet file (%v): inputs must be dotprops in Parquet, e.g. written by navis.write_parquet", path, err)
	}
	defer rdr.Close()
	md := rdr.MetaData()
	rows = make([]int64, rdr.NumRowGroups())
	for i := range rows {
		rows[i] = md.RowGroup(i).NumRows()
	}
	return rows, nil
}
