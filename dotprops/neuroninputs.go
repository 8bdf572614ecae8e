package dotprops

// Inputs of `runner dotprops`: neurons as skeletons or point clouds, to be
// turned into dotprops (MakeNeuronDotprops).

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/makedotprops"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/skeleton"
)

// Columns of navis' skeleton node tables (TreeNeuron.nodes, as
// navis.write_parquet writes them with a neuron column).
const (
	colNodeID   = "node_id"
	colParentID = "parent_id"
)

// NeuronInput is one neuron read for `runner dotprops`: a skeleton (its
// nodes, in µm) or a point cloud (µm).
type NeuronInput struct {
	ID       scoring.ID
	Source   string             // where it came from: the file, and rows for tables
	Skeleton *skeleton.Skeleton // nil for a point cloud
	Points   [][3]float64       // the point cloud; nil for a skeleton
	// Dotprops, when not nil, are the neuron's dotprops as given (a .npz
	// with vectors, see readNPZInput): MakeNeuronDotprops returns them as
	// they are. Points are then their points.
	Dotprops *scoring.Dotprops
}

// NeuronReadOptions say how ReadNeuronInputs reads a file.
type NeuronReadOptions struct {
	// Units converts input coordinates to µm (skeleton.Units: v*Mul/Div,
	// the exact ratio of --units, see ParseUnitsRatio); the zero value
	// reads them as µm.
	Units skeleton.Units
	// StrSWCIDs makes the ids of SWC files strings (their file names
	// without ".swc", or their SWCIDs entries); otherwise they are parsed
	// as int64.
	StrSWCIDs bool
	// SWCIDs, when not nil, maps SWC file names (without ".swc") to their
	// neurons' ids (--ids); a file it lacks is an error.
	SWCIDs map[string]string
}

// scale is the ReadOptions.Scale against which Parquet units metadata is
// checked: 0 (µm) for the zero Units.
func (o NeuronReadOptions) scale() float64 {
	if o.Units == (skeleton.Units{}) {
		return 0
	}
	return o.Units.Factor()
}

var neuronInputs = inputKind{
	patterns: []string{"*.swc", "*.csv", "*.parquet", "*.npz"},
	files:    "*.swc, *.csv, *.parquet or *.npz files",
	give:     "an SWC, CSV, Parquet or .npz file, a glob, or a directory of them",
	dirGive:  "give a directory of SWC files (one neuron each), point or node tables (CSV or Parquet), a glob, or one file",
}

// ExpandNeuronInputs is ExpandInputs for `runner dotprops`: one file, a
// glob, or a directory (its *.swc, *.csv and *.parquet files, sorted;
// names starting with "." or "_" skipped).
func ExpandNeuronInputs(ctx context.Context, spec string) ([]string, error) {
	return expandInputs(ctx, spec, neuronInputs)
}

// swcStem is an SWC file's base name without its extension.
func swcStem(file string) string {
	base := path.Base(strings.ReplaceAll(file, "\\", "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}

// SWCID is the neuron id of an SWC file: its base name without ".swc", or
// the id o.SWCIDs gives that name, parsed as an int64 unless o.StrSWCIDs.
func (o NeuronReadOptions) SWCID(file string) (scoring.ID, error) {
	text := swcStem(file)
	if o.SWCIDs != nil {
		v, ok := o.SWCIDs[text]
		if !ok {
			return scoring.ID{}, fmt.Errorf("%s: the --ids table has no row for file %q: add it, or leave the file out", file, text)
		}
		text = v
	}
	id, err := scoring.ParseID(text, o.StrSWCIDs)
	if err != nil {
		return id, fmt.Errorf("%s: the neuron id is the file name: %w", file, err)
	}
	return id, nil
}

// SWCStrIDs reports whether the SWC files among paths need string ids:
// whether any of their ids (the file names, or ids[name] when ids is not
// nil) is not an int64. One output holds one kind of id, so either all
// SWC ids are int64 or all are strings.
func SWCStrIDs(paths []string, ids map[string]string) bool {
	for _, p := range paths {
		if !IsSWC(p) {
			continue
		}
		text := swcStem(p)
		if v, ok := ids[text]; ok {
			text = v
		}
		if _, err := scoring.ParseID(text, false); err != nil {
			return true
		}
	}
	return false
}

// ReadSWCIDs reads the --ids table: a CSV with a header row and columns
// file (an SWC file's name, with or without ".swc") and neuron (or
// neuron_id): the id each file's neuron gets instead of its file name.
// Errors name the table and the line: a missing column, a file twice, an
// empty id.
func ReadSWCIDs(ctx context.Context, p string) (map[string]string, error) {
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("--ids %s: %w", p, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("--ids %s: no rows: want a header (file, neuron) and a row per SWC file", p)
	}
	fileCol, idCol := -1, -1
	for i, h := range rows[0] {
		switch strings.TrimSpace(h) {
		case "file":
			fileCol = i
		case colNeuron, "neuron_id":
			idCol = i
		}
	}
	if fileCol < 0 || idCol < 0 {
		return nil, fmt.Errorf("--ids %s: the header %q needs columns file and neuron (or neuron_id)", p, strings.Join(rows[0], ","))
	}
	ids := map[string]string{}
	line := map[string]int{}
	for i, r := range rows[1:] {
		f := swcStem(strings.TrimSpace(r[fileCol]))
		id := strings.TrimSpace(r[idCol])
		if f == "" || id == "" {
			return nil, fmt.Errorf("--ids %s: line %d: empty file or neuron", p, i+2)
		}
		if at, dup := line[f]; dup {
			return nil, fmt.Errorf("--ids %s: line %d: file %q already has an id at line %d", p, i+2, f, at)
		}
		ids[f], line[f] = id, i+2
	}
	return ids, nil
}

func IsSWC(p string) bool { return strings.EqualFold(path.Ext(p), ".swc") }

// ReadNeuronInputs reads the neurons of one input file and calls emit
// with each, in file order:
//
//   - *.swc: one skeleton (skeleton.ParseSWC: navis.read_swc semantics,
//     float32 coordinates), id from the file name (SWCID);
//   - *.csv: a table with a header row and columns neuron (or neuron_id),
//     x, y, z and, for skeletons, node_id and parent_id (e.g. navis'
//     node tables); other columns are ignored; neuron ids are int64 if the
//     first one is, else strings;
//   - *.parquet: the same columns (neuron INT64 or STRING; x, y, z DOUBLE
//     or FLOAT; node_id and parent_id integers), as navis.write_parquet
//     writes skeletons (node tables) and dotprops (vector columns, if any,
//     are ignored: tangents are recomputed); "<id>:units" metadata must
//     agree with opt.Units (as for the main job).
//   - *.npz: a NumPy archive of neurons (NPZLayout, readNPZInput): with
//     vectors, dotprops emitted as they are (NeuronInput.Dotprops); without,
//     point clouds.
//
// Coordinates are converted with opt.Units. In tables, the rows of a
// neuron must be contiguous (so that a neuron is emitted as soon as its
// last row is read: memory holds one neuron, not the file); a neuron whose
// rows reappear later is an error naming the row. Skeletons are checked
// (skeleton.Check). Errors name the file and the line or row and the
// problem; emit's error is returned as is.
func ReadNeuronInputs(ctx context.Context, p string, opt NeuronReadOptions, emit func(*NeuronInput) error) error {
	switch strings.ToLower(path.Ext(p)) {
	case ".swc":
		return ReadSWCInput(ctx, p, opt, emit)
	case ".csv":
		return readCSVInput(ctx, p, opt, emit)
	case ".parquet":
		return readParquetInput(ctx, p, opt, emit)
	case ".npz":
		return readNPZInput(ctx, p, opt, emit)
	}
	return fmt.Errorf("%s: unknown input type %q: inputs are SWC files (.swc), point or node tables (.csv, .parquet), or NumPy archives of dotprops or points (.npz)", p, path.Ext(p))
}

func ReadSWCInput(ctx context.Context, p string, opt NeuronReadOptions, emit func(*NeuronInput) error) error {
	id, err := opt.SWCID(p)
	if err != nil {
		return err
	}
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return err
	}
	s, err := skeleton.ParseSWC(strings.NewReader(string(b)), id)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	s.Convert(opt.Units)
	s.Rows = nil // no longer needed
	return emit(&NeuronInput{ID: id, Source: p, Skeleton: s})
}

// tableNeuron accumulates the rows of one neuron of a table.
type tableNeuron struct {
	path     string
	skeleton bool
	id       scoring.ID
	first    int64 // first row (1-based data row for CSV, 0-based for Parquet)
	last     int64
	rowKind  string
	nodes    []int64
	parents  []int64
	points   [][3]float64
	rows     []int
}

func (t *tableNeuron) add(row int64, node, parent int64, p [3]float64) {
	if len(t.points) == 0 {
		t.first = row
	}
	t.last = row
	t.points = append(t.points, p)
	if t.skeleton {
		t.nodes = append(t.nodes, node)
		t.parents = append(t.parents, parent)
		t.rows = append(t.rows, int(row))
	}
}

// input makes the neuron's NeuronInput (checking a skeleton) and resets t.
func (t *tableNeuron) input() (*NeuronInput, error) {
	in := &NeuronInput{ID: t.id, Source: fmt.Sprintf("%s %ss %d-%d", t.path, t.rowKind, t.first, t.last)}
	if t.skeleton {
		s := &skeleton.Skeleton{ID: t.id, NodeID: t.nodes, Parent: t.parents, Points: t.points, Rows: t.rows, RowKind: t.rowKind}
		if err := s.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", t.path, err)
		}
		s.Rows = nil
		in.Skeleton = s
	} else {
		in.Points = t.points
	}
	t.nodes, t.parents, t.points, t.rows = nil, nil, nil, nil
	return in, nil
}

// contiguity tracks which neurons of a table were emitted, to refuse rows
// of a neuron that come back after other neurons' rows.
type contiguity struct {
	path    string
	rowKind string
	done    map[scoring.ID]int64 // emitted neurons: their first row
}

func (c *contiguity) check(id scoring.ID, row int64) error {
	if first, ok := c.done[id]; ok {
		return fmt.Errorf("%s: %s %d: neuron %s has rows here and at %s %d with other neurons' rows between: the rows of a neuron must be contiguous (sort the table by neuron)", c.path, c.rowKind, row, id, c.rowKind, first)
	}
	return nil
}

func readCSVInput(ctx context.Context, p string, opt NeuronReadOptions, emit func(*NeuronInput) error) error {
	// Streamed: a table may be larger than memory.
	ra, err := files.OpenReaderAt(ctx, p)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer ra.Close()
	r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(ra, 0, ra.Size()), 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file: a point table needs a header row (neuron, x, y, z) and a row per point", p)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	header = append([]string(nil), header...) // the reader reuses its record
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	idCol, ok := col[colNeuron]
	if !ok {
		idCol, ok = col["neuron_id"]
	}
	var missing []string
	if !ok {
		missing = append(missing, "neuron (or neuron_id)")
	}
	var xyz [3]int
	for k, n := range []string{colX, colY, colZ} {
		if xyz[k], ok = col[n]; !ok {
			missing = append(missing, n)
		}
	}
	nodeCol, hasNode := col[colNodeID]
	parentCol, hasParent := col[colParentID]
	if hasNode != hasParent {
		missing = append(missing, "node_id and parent_id (a skeleton needs both)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing column(s) %s (the header has %s): a point table needs neuron, x, y, z; a skeleton node table also node_id, parent_id", p, strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	cur := &tableNeuron{path: p, skeleton: hasNode, rowKind: "line"}
	seen := contiguity{path: p, rowKind: "line", done: map[scoring.ID]int64{}}
	strIDs, started := false, false
	line := int64(1)
	flush := func() error {
		if len(cur.points) == 0 {
			return nil
		}
		seen.done[cur.id] = cur.first
		in, err := cur.input()
		if err != nil {
			return err
		}
		return emit(in)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !started {
			_, perr := strconv.ParseInt(rec[idCol], 10, 64)
			strIDs, started = perr != nil, true
		}
		id, err := scoring.ParseID(rec[idCol], strIDs)
		if err != nil {
			return fmt.Errorf("%s: line %d: %v (the first row's id is an int64, so all must be)", p, line, err)
		}
		if id != cur.id || len(cur.points) == 0 {
			if err := flush(); err != nil {
				return err
			}
			if err := seen.check(id, line); err != nil {
				return err
			}
			cur.id = id
		}
		var pt [3]float64
		for k := range 3 {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[xyz[k]]), 64)
			if err != nil || !finite(v) {
				return fmt.Errorf("%s: line %d (neuron %s): %s = %q is not a finite number", p, line, id, header[xyz[k]], rec[xyz[k]])
			}
			pt[k] = opt.Units.Apply(v)
		}
		var node, parent int64
		if hasNode {
			if node, err = strconv.ParseInt(strings.TrimSpace(rec[nodeCol]), 10, 64); err != nil {
				return fmt.Errorf("%s: line %d (neuron %s): node_id %q is not an integer", p, line, id, rec[nodeCol])
			}
			if parent, err = strconv.ParseInt(strings.TrimSpace(rec[parentCol]), 10, 64); err != nil {
				return fmt.Errorf("%s: line %d (neuron %s): parent_id %q is not an integer (-1 for a root)", p, line, id, rec[parentCol])
			}
		}
		cur.add(line, node, parent, pt)
	}
	if line == 1 {
		return fmt.Errorf("%s: no rows after the header: no neurons", p)
	}
	return flush()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func readParquetInput(ctx context.Context, p string, opt NeuronReadOptions, emit func(*NeuronInput) error) (err error) {
	defer recoverCorrupt(p, &err)
	in, err := openInput(ctx, p, ReadOptions{Scale: opt.scale()})
	if err != nil {
		return err
	}
	defer in.close()
	names := []string{colNeuron, colX, colY, colZ}
	var missing []string
	for _, n := range names {
		if !in.has(n) {
			missing = append(missing, n)
		}
	}
	isSkel := in.has(colNodeID) && in.has(colParentID)
	if in.has(colNodeID) != in.has(colParentID) {
		missing = append(missing, "node_id and parent_id (a skeleton needs both)")
	}
	if len(missing) > 0 {
		var have []string
		for _, f := range in.schema.Fields() {
			have = append(have, f.Name)
		}
		return fmt.Errorf("%s: missing column(s) %s (the file has %s): a point table or dotprops file needs neuron, x, y, z; a skeleton node table (navis.write_parquet of TreeNeurons) also node_id, parent_id", p, strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	if isSkel {
		names = append(names, colNodeID, colParentID)
	}
	cs, err := in.columns(names)
	if err != nil {
		return err
	}
	ids := newIDIndex()
	cur := &tableNeuron{path: p, skeleton: isSkel, rowKind: "row"}
	seen := contiguity{path: p, rowKind: "row", done: map[scoring.ID]int64{}}
	curN := int32(-1)
	flush := func() error {
		if len(cur.points) == 0 {
			return nil
		}
		seen.done[cur.id] = cur.first
		ni, err := cur.input()
		if err != nil {
			return err
		}
		return emit(ni)
	}
	var rowNeuron []int32
	err = cs.scan(ctx, 0, in.rdr.NumRowGroups(), func(g *rowGroup) error {
		var err error
		if rowNeuron, err = ids.appendRows(p, g, g.cols[0], rowNeuron[:0]); err != nil {
			return err
		}
		xyz := make([][]float64, 3)
		for k := range 3 {
			vals := make([]float64, 0, g.rows)
			err := forFloatChunks(p, g, names[1+k], g.cols[1+k], func(_ int, f64 []float64, f32 []float32) {
				for _, v := range f64 {
					vals = append(vals, v)
				}
				for _, v := range f32 {
					vals = append(vals, float64(v))
				}
			})
			if err != nil {
				return err
			}
			xyz[k] = vals
		}
		var nodes, parents []int64
		if isSkel {
			if nodes, err = intColumn(p, g, colNodeID, g.cols[4]); err != nil {
				return err
			}
			if parents, err = intColumn(p, g, colParentID, g.cols[5]); err != nil {
				return err
			}
		}
		for i, n := range rowNeuron {
			row := g.rowOff + int64(i)
			if n != curN {
				if err := flush(); err != nil {
					return err
				}
				id := ids.ids[n]
				if err := seen.check(id, row); err != nil {
					return err
				}
				cur.id, curN = id, n
			}
			var pt [3]float64
			for k := range 3 {
				v := xyz[k][i]
				if !finite(v) {
					return fmt.Errorf("%s: row %d (neuron %s): %s = %v is not a finite number", p, row, cur.id, names[1+k], v)
				}
				pt[k] = opt.Units.Apply(v)
			}
			var node, parent int64
			if isSkel {
				node, parent = nodes[i], parents[i]
			}
			cur.add(row, node, parent, pt)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// intColumn returns the values of an integer column of row group g as
// int64; a null is an error naming the row.
func intColumn(p string, g *rowGroup, name string, col *arrow.Chunked) ([]int64, error) {
	out := make([]int64, 0, g.rows)
	for _, chunk := range col.Chunks() {
		for i := 0; i < chunk.Len(); i++ {
			if chunk.IsNull(i) {
				return nil, fmt.Errorf("%s: column %s is null at row %d (row group %d): every node needs one", p, name, g.rowOff+int64(len(out)), g.index)
			}
			var v int64
			switch a := chunk.(type) {
			case *array.Int64:
				v = a.Value(i)
			case *array.Int32:
				v = int64(a.Value(i))
			case *array.Int16:
				v = int64(a.Value(i))
			case *array.Int8:
				v = int64(a.Value(i))
			case *array.Uint32:
				v = int64(a.Value(i))
			case *array.Uint16:
				v = int64(a.Value(i))
			case *array.Uint8:
				v = int64(a.Value(i))
			case *array.Uint64:
				if a.Value(i) > math.MaxInt64 {
					return nil, fmt.Errorf("%s: column %s: value %d at row %d does not fit an int64", p, name, a.Value(i), g.rowOff+int64(len(out)))
				}
				v = int64(a.Value(i))
			default:
				return nil, fmt.Errorf("%s: column %s arrived as Arrow %s, want an integer type", p, name, chunk.DataType())
			}
			out = append(out, v)
		}
	}
	if int64(len(out)) != g.rows {
		return nil, fmt.Errorf("%s: row group %d, column %s: %d values for the row group's %d rows: %s", p, g.index, name, len(out), g.rows, corruptAdvice)
	}
	return out, nil
}

func isIntType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8,
		arrow.UINT64, arrow.UINT32, arrow.UINT16, arrow.UINT8:
		return true
	}
	return false
}

// MakeNeuronDotprops turns one input neuron into dotprops as
// navis.make_dotprops(x, k, resample=resample) does: a skeleton is first
// resampled to one node every resample µm when resample > 0
// (skeleton.Resample) and its nodes are the points; a point cloud is used
// as is (resample does not apply to it). Then makedotprops.MakeDotprops(points,
// k). Errors name the neuron's source.
func MakeNeuronDotprops(in *NeuronInput, k int, resample float64) (*scoring.Dotprops, error) {
	if in.Dotprops != nil { // given as they are (an .npz with vectors)
		return in.Dotprops, nil
	}
	pts := in.Points
	if s := in.Skeleton; s != nil {
		if resample > 0 {
			rs, err := skeleton.Resample(s, resample)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", in.Source, err)
			}
			s = rs
		}
		pts = s.Points
	}
	d, err := makedotprops.MakeDotprops(in.ID, pts, k)
	if err != nil {
		advice := "a neuron needs at least 2 distinct points"
		if errors.Is(err, makedotprops.ErrNoPoints) {
			advice = "remove the neuron or fix its coordinates"
		}
		return nil, fmt.Errorf("%s: %w: %s", in.Source, err, advice)
	}
	return d, nil
}
