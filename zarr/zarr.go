package zarr

// Layout of a group at OUT:
//
//	OUT/.zgroup             {"zarr_format":2}
//	OUT/<name>/.zarray      array metadata (C order, fill_value NaN, zstd)
//	OUT/<name>/.zattrs      caller attrs plus "complete": false, then true
//	OUT/<name>/<i>.<j>      chunk (i, j): a whole chunk, one zstd frame
//
// Every chunk file is written whole and atomically, and encoding is
// deterministic (NaN is canonicalised), so rewriting a chunk on a retry
// yields identical bytes.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/nblast-go/nblast/internal/files"
)

// ArraySpec describes one 2-D float score array of a Zarr v2 group.
type ArraySpec struct {
	Name   string         // array name inside the group, e.g. "scores"; no "/"
	Shape  [2]int         // rows (queries), cols (targets); each >= 0
	Chunks [2]int         // chunk shape (rows, cols); each >= 1
	DType  string         // "float32" | "float16" | "float64" -> "<f4" | "<f2" | "<f8"
	Attrs  map[string]any // written to .zattrs; the sink adds "complete"
}

// ZstdLevel is the zstd level recorded in .zarray (klauspost's
// SpeedDefault corresponds to zstd level 3).
const ZstdLevel = 3

// completeKey is the .zattrs key that says whether every chunk is written.
const completeKey = "complete"

// zarrDType maps ArraySpec.DType to the Zarr v2 dtype string.
var zarrDType = map[string]string{"float16": "<f2", "float32": "<f4", "float64": "<f8", "bool": "|b1"}

// zarray is the .zarray document. Field order is the order written.
type zarray struct {
	ZarrFormat         int            `json:"zarr_format"`
	Shape              []int          `json:"shape"`
	Chunks             []int          `json:"chunks"`
	DType              string         `json:"dtype"`
	Compressor         map[string]any `json:"compressor"`
	FillValue          any            `json:"fill_value"`
	Order              string         `json:"order"`
	Filters            []any          `json:"filters"`
	DimensionSeparator string         `json:"dimension_separator,omitempty"`
}

// validate checks the spec; errors name the array.
func (s ArraySpec) validate() error {
	switch {
	case s.Name == "" || strings.ContainsAny(s.Name, `/\`) || strings.HasPrefix(s.Name, "."):
		return fmt.Errorf("zarr array name %q: must be non-empty, without / or \\, not starting with '.'", s.Name)
	case s.Shape[0] < 0 || s.Shape[1] < 0:
		return fmt.Errorf("zarr array %q: negative shape %v", s.Name, s.Shape)
	case s.Chunks[0] < 1 || s.Chunks[1] < 1:
		return fmt.Errorf("zarr array %q: chunk shape %v must be at least 1x1", s.Name, s.Chunks)
	case zarrDType[s.DType] == "":
		return fmt.Errorf("zarr array %q: dtype %q is not float16, float32, float64 or bool", s.Name, s.DType)
	}
	return nil
}

// grid returns the number of chunks along each axis.
func grid(shape, chunks [2]int) [2]int {
	return [2]int{(shape[0] + chunks[0] - 1) / chunks[0], (shape[1] + chunks[1] - 1) / chunks[1]}
}

// Create writes OUT/.zgroup and, per array, OUT/<name>/.zarray and
// OUT/<name>/.zattrs (the spec's Attrs plus "complete": false). Existing
// metadata files are overwritten; chunk files are left alone.
func Create(ctx context.Context, out string, arrays []ArraySpec) error {
	seen := map[string]bool{}
	for _, a := range arrays {
		if err := a.validate(); err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("%s: zarr array %q given twice", out, a.Name)
		}
		seen[a.Name] = true
	}
	if err := writeJSON(ctx, files.Join(out, ".zgroup"), map[string]int{"zarr_format": 2}); err != nil {
		return err
	}
	for _, a := range arrays {
		meta := zarray{
			ZarrFormat: 2,
			Shape:      a.Shape[:],
			Chunks:     a.Chunks[:],
			DType:      zarrDType[a.DType],
			// numcodecs <= 0.11 rejects unknown keys (e.g. "checksum"), so
			// write only what every version accepts.
			Compressor:         map[string]any{"id": "zstd", "level": ZstdLevel},
			FillValue:          fillValue(a.DType),
			Order:              "C",
			DimensionSeparator: ".",
		}
		if err := writeJSON(ctx, files.Join(out, a.Name, ".zarray"), meta); err != nil {
			return err
		}
		if err := writeAttrs(ctx, files.Join(out, a.Name, ".zattrs"), a.Attrs, false); err != nil {
			return err
		}
	}
	return nil
}

// MarkComplete rewrites OUT/<name>/.zattrs with "complete": true, keeping
// the other attrs found there (numbers are kept exactly). Call it last,
// after every chunk is written.
func MarkComplete(ctx context.Context, out string, spec ArraySpec) error {
	p := files.Join(out, spec.Name, ".zattrs")
	attrs, err := readJSONObject(ctx, p)
	if err != nil {
		return fmt.Errorf("mark complete: %w", err)
	}
	return writeAttrs(ctx, p, attrs, true)
}

// writeAttrs writes attrs (not modified) plus "complete" to p.
func writeAttrs(ctx context.Context, p string, attrs map[string]any, complete bool) error {
	m := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		m[k] = v
	}
	m[completeKey] = complete
	return writeJSON(ctx, p, m)
}

// ReadAttrs reads the attributes of array name of the group at out
// (its .zattrs), numbers as json.Number so that ids above 2^53 survive.
func ReadAttrs(ctx context.Context, out, name string) (map[string]any, error) {
	return readJSONObject(ctx, files.Join(out, name, ".zattrs"))
}

// WriteAttrs writes attrs as the attributes of array name of the group at
// out, as they are ("complete" included).
func WriteAttrs(ctx context.Context, out, name string, attrs map[string]any) error {
	return writeJSON(ctx, files.Join(out, name, ".zattrs"), attrs)
}

// writeJSON writes v as the project writes JSON (files.WriteJSON: sorted
// keys, ASCII only, so zarr-python 2.x decodes it).
func writeJSON(ctx context.Context, p string, v any) error {
	return files.WriteJSON(ctx, p, v)
}

// readJSONObject reads a JSON object from p, numbers as json.Number so
// that ids above 2^53 survive exactly.
func readJSONObject(ctx context.Context, p string) (map[string]any, error) {
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON object: %w", p, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s: JSON null, want an object", p)
	}
	return m, nil
}

// Encoders are safe for concurrent EncodeAll calls. Left to itself,
// klauspost writes frames under 256 bytes without the content size, which
// numcodecs' decoder needs (numcodecs 0.11 fails with "invalid input
// data"), so chunks up to singleSegmentMax bytes are forced into a
// single-segment frame, which always records it. Larger ones keep
// klauspost's choice (single segment up to its 8 MiB window, windowed
// above), which records it too; EncodeChunk checks.
var (
	zstdEnc       = mustEncoder(false)
	zstdEncSingle = mustEncoder(true)
)

// singleSegmentMax is the largest raw chunk, in bytes, that is forced into
// a single-segment frame.
const singleSegmentMax = 1 << 20

func mustEncoder(single bool) *zstd.Encoder {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		// EncodeAll uses one of GOMAXPROCS pooled encoders per call, so
		// concurrent chunk writers do not queue; output does not depend on it.
		zstd.WithEncoderConcurrency(0),
		zstd.WithEncoderCRC(true),
	}
	if single {
		opts = append(opts, zstd.WithSingleSegment(true))
	}
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		panic(err)
	}
	return e
}

var zstdDec = func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic(err)
	}
	return d
}()

// EncodeChunk encodes one chunk. vals holds rows*cols values, row-major,
// for the chunk's valid region (1 <= rows <= Chunks[0], 1 <= cols <=
// Chunks[1]; edge chunks are smaller). The result is the full chunk shape
// padded with NaN, converted to the dtype (little-endian; float16 rounds to
// nearest even, overflowing to ±Inf; every NaN becomes the canonical quiet
// NaN), compressed as one zstd frame whose header records the content
// size. Same input, same bytes.
func EncodeChunk(spec ArraySpec, rows, cols int, vals []float64) ([]byte, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	cr, cc := spec.Chunks[0], spec.Chunks[1]
	if rows < 1 || rows > cr || cols < 1 || cols > cc {
		return nil, fmt.Errorf("zarr array %q: chunk region %dx%d outside 1x1..%dx%d", spec.Name, rows, cols, cr, cc)
	}
	if len(vals) != rows*cols {
		return nil, fmt.Errorf("zarr array %q: %d values for a %dx%d chunk region, want %d", spec.Name, len(vals), rows, cols, rows*cols)
	}
	size := itemSize(spec.DType)
	raw := make([]byte, cr*cc*size)
	for r := 0; r < cr; r++ {
		for c := 0; c < cc; c++ {
			v := math.NaN()
			if r < rows && c < cols {
				v = vals[r*cols+c]
			}
			putFloat(raw[(r*cc+c)*size:], spec.DType, v)
		}
	}
	enc := zstdEnc
	if len(raw) <= singleSegmentMax {
		enc = zstdEncSingle
	}
	data := enc.EncodeAll(raw, make([]byte, 0, len(raw)/2+64))
	var h zstd.Header
	if err := h.Decode(data); err != nil || !h.HasFCS || h.FrameContentSize != uint64(len(raw)) {
		return nil, fmt.Errorf("zarr array %q: zstd frame lacks the content size (%d bytes): %v", spec.Name, len(raw), err)
	}
	return data, nil
}

// WriteChunk writes data (from EncodeChunk) to OUT/<name>/<i>.<j>
// atomically; (i, j) is the chunk index, within the chunk grid.
func WriteChunk(ctx context.Context, out string, spec ArraySpec, i, j int, data []byte) error {
	p := files.Join(out, spec.Name, chunkKey(i, j, "."))
	if err := spec.validate(); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	g := grid(spec.Shape, spec.Chunks)
	if i < 0 || j < 0 || i >= g[0] || j >= g[1] {
		return fmt.Errorf("%s: chunk (%d, %d) outside the %dx%d chunk grid", p, i, j, g[0], g[1])
	}
	if len(data) == 0 {
		return fmt.Errorf("%s: empty chunk data", p)
	}
	return files.WriteFile(ctx, p, data)
}

func chunkKey(i, j int, sep string) string { return strconv.Itoa(i) + sep + strconv.Itoa(j) }

// fillValue is the .zarray fill_value of a dtype: NaN, or false for the
// bool mask (zarr-python reads "|b1" with fill false as numpy bool).
func fillValue(dtype string) any {
	if dtype == "bool" {
		return false
	}
	return "NaN"
}

func itemSize(dtype string) int {
	switch dtype {
	case "bool":
		return 1
	case "float16":
		return 2
	case "float32":
		return 4
	}
	return 8
}

// Canonical NaN bit patterns, so that encoding is deterministic across
// platforms whatever NaN payload the input carries.
const (
	nan16 = 0x7e00
	nan32 = 0x7fc00000
	nan64 = 0x7ff8000000000000
)

// putFloat stores v little-endian as dtype at b.
func putFloat(b []byte, dtype string, v float64) {
	switch dtype {
	case "bool": // 1 for any nonzero value; NaN (padding) is false
		b[0] = 0
		if v != 0 && !math.IsNaN(v) {
			b[0] = 1
		}
	case "float16":
		binary.LittleEndian.PutUint16(b, Float16Bits(v))
	case "float32":
		u := uint32(nan32)
		if !math.IsNaN(v) {
			u = math.Float32bits(float32(v))
		}
		binary.LittleEndian.PutUint32(b, u)
	default:
		u := uint64(nan64)
		if !math.IsNaN(v) {
			u = math.Float64bits(v)
		}
		binary.LittleEndian.PutUint64(b, u)
	}
}

// Float16Bits converts v to IEEE 754 binary16 bits, rounding to nearest
// even directly from float64 (no double rounding). Magnitudes from 65520
// up become ±Inf, those at most 2^-25 become ±0, and NaN becomes 0x7e00.
func Float16Bits(v float64) uint16 {
	if math.IsNaN(v) {
		return nan16
	}
	b := math.Float64bits(v)
	sign := uint16(b>>48) & 0x8000
	exp := int(b>>52) & 0x7ff
	if exp == 0x7ff || exp-1023 > 15 { // Inf, or certainly too large
		return sign | 0x7c00
	}
	if exp == 0 { // zero or float64 subnormal: far below half's range
		return sign
	}
	m := b&(1<<52-1) | 1<<52 // 53-bit significand
	e := exp - 1023
	shift, base := 42, uint64(e+15)<<10 // keep 11 significant bits
	if e < -14 {                        // half subnormal: units of 2^-24
		shift, base = 42+(-14-e), 0
		if shift > 54 {
			return sign
		}
	}
	q := m >> shift
	rem, half := m&(1<<shift-1), uint64(1)<<(shift-1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	// For normals q is in [2^10, 2^11]; q = 2^11 carries into the exponent
	// (and exponent 31 is Inf). For subnormals q = 2^10 is the least normal.
	if base != 0 {
		q = base + q - 1<<10
	}
	if q >= 0x7c00 {
		return sign | 0x7c00
	}
	return sign | uint16(q)
}

// Float16Frombits converts IEEE 754 binary16 bits to float64 (exact).
func Float16Frombits(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// Reader reads a 2-D float Zarr v2 array: one written by this package,
// or any with dtype <f2/<f4/<f8 (or big-endian), C order, no filters and a
// zstd or null compressor.
type Reader struct {
	Shape, Chunks [2]int
	DType         string         // "float16" | "float32" | "float64"
	Attrs         map[string]any // from .zattrs; numbers are json.Number

	path  string // OUT/<name>
	order binary.ByteOrder
	zstd  bool
	fill  float64
	sep   string // dimension separator, "." or "/"
}

// Open reads the metadata of array name in the group at out.
func Open(ctx context.Context, out, name string) (*Reader, error) {
	z := &Reader{path: files.Join(out, name)}
	p := files.Join(z.path, ".zarray")
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	var meta struct {
		ZarrFormat int    `json:"zarr_format"`
		Shape      []int  `json:"shape"`
		Chunks     []int  `json:"chunks"`
		DType      string `json:"dtype"`
		Compressor *struct {
			ID string `json:"id"`
		} `json:"compressor"`
		FillValue          any    `json:"fill_value"`
		Order              string `json:"order"`
		Filters            []any  `json:"filters"`
		DimensionSeparator string `json:"dimension_separator"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", p, err)
	}
	if meta.ZarrFormat != 2 {
		return nil, fmt.Errorf("%s: zarr_format %d, want 2", p, meta.ZarrFormat)
	}
	if len(meta.Shape) != 2 || len(meta.Chunks) != 2 {
		return nil, fmt.Errorf("%s: shape %v and chunks %v must be 2-D", p, meta.Shape, meta.Chunks)
	}
	copy(z.Shape[:], meta.Shape)
	copy(z.Chunks[:], meta.Chunks)
	if z.Shape[0] < 0 || z.Shape[1] < 0 || z.Chunks[0] < 1 || z.Chunks[1] < 1 {
		return nil, fmt.Errorf("%s: bad shape %v or chunks %v", p, z.Shape, z.Chunks)
	}
	if meta.DType == "|b1" { // the --smart mask: read as 0/1
		z.DType, z.order = "bool", binary.LittleEndian
	} else if len(meta.DType) != 3 || meta.DType[1] != 'f' {
		return nil, fmt.Errorf("%s: dtype %q is not a float dtype", p, meta.DType)
	}
	switch meta.DType[0] {
	case '<', '|':
		z.order = binary.LittleEndian
	case '>':
		z.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: dtype %q: unknown byte order", p, meta.DType)
	}
	for k, v := range zarrDType {
		if v[1:] == meta.DType[1:] {
			z.DType = k
		}
	}
	if z.DType == "" {
		return nil, fmt.Errorf("%s: dtype %q is not f2, f4 or f8", p, meta.DType)
	}
	if meta.Order != "C" {
		return nil, fmt.Errorf("%s: order %q, only C is supported", p, meta.Order)
	}
	if len(meta.Filters) != 0 {
		return nil, fmt.Errorf("%s: filters %v are not supported", p, meta.Filters)
	}
	switch {
	case meta.Compressor == nil:
	case meta.Compressor.ID == "zstd":
		z.zstd = true
	default:
		return nil, fmt.Errorf("%s: compressor %q is not supported (only zstd or none)", p, meta.Compressor.ID)
	}
	switch meta.DimensionSeparator {
	case "", ".":
		z.sep = "."
	case "/":
		z.sep = "/"
	default:
		return nil, fmt.Errorf("%s: dimension_separator %q", p, meta.DimensionSeparator)
	}
	if z.fill, err = parseFill(meta.FillValue); err != nil {
		return nil, fmt.Errorf("%s: fill_value: %w", p, err)
	}
	ap := files.Join(z.path, ".zattrs")
	z.Attrs = map[string]any{}
	if ok, err := files.Exists(ctx, ap); err != nil {
		return nil, err
	} else if ok {
		if z.Attrs, err = readJSONObject(ctx, ap); err != nil {
			return nil, err
		}
	}
	return z, nil
}

// parseFill decodes a Zarr v2 float fill_value (null reads as NaN).
func parseFill(v any) (float64, error) {
	switch f := v.(type) {
	case nil:
		return math.NaN(), nil
	case bool:
		if f {
			return 1, nil
		}
		return 0, nil
	case float64:
		return f, nil
	case string:
		switch f {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, fmt.Errorf("unsupported value %v", v)
}

// Complete reports whether .zattrs says every chunk has been written.
func (z *Reader) Complete() bool { return z.Attrs[completeKey] == true }

// Grid is the number of chunks along each axis.
func (z *Reader) Grid() [2]int { return grid(z.Shape, z.Chunks) }

// ChunkPath is the path of chunk (i, j)'s file.
func (z *Reader) ChunkPath(i, j int) string {
	if z.sep == "/" {
		return files.Join(z.path, strconv.Itoa(i), strconv.Itoa(j))
	}
	return files.Join(z.path, chunkKey(i, j, "."))
}

// WrittenChunks lists the chunks written so far, as (row, column) chunk
// indices, with one listing of the array (one request on an object store,
// however many chunks). Chunks are written whole and atomically, so a
// listed chunk is a complete one.
func (z *Reader) WrittenChunks(ctx context.Context) (map[[2]int]bool, error) {
	pattern := files.Join(z.path, "*")
	if z.sep == "/" {
		pattern = files.Join(z.path, "*", "*")
	}
	found, err := files.Glob(ctx, pattern)
	if err != nil {
		return nil, err
	}
	prefix := filepath.ToSlash(z.path) + "/"
	written := map[[2]int]bool{}
	for _, f := range found {
		key := strings.TrimPrefix(filepath.ToSlash(f), prefix) // "i.j" or "i/j"
		a, b, ok := strings.Cut(key, z.sep)
		if !ok {
			continue
		}
		i, err1 := strconv.Atoi(a)
		j, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || i < 0 || j < 0 || strconv.Itoa(i) != a || strconv.Itoa(j) != b {
			continue // .zarray, .zattrs, a temporary file
		}
		written[[2]int{i, j}] = true
	}
	return written, nil
}

// Read returns rows [r0, r1) and cols [c0, c1) row-major; chunks not yet
// written read as the fill value (NaN for arrays of this package).
func (z *Reader) Read(ctx context.Context, r0, r1, c0, c1 int) ([]float64, error) {
	if r0 < 0 || r0 > r1 || r1 > z.Shape[0] || c0 < 0 || c0 > c1 || c1 > z.Shape[1] {
		return nil, fmt.Errorf("%s: read [%d:%d, %d:%d] outside shape %v", z.path, r0, r1, c0, c1, z.Shape)
	}
	w := c1 - c0
	res := make([]float64, (r1-r0)*w)
	if len(res) == 0 {
		return res, nil
	}
	cr, cc := z.Chunks[0], z.Chunks[1]
	for i := r0 / cr; i <= (r1-1)/cr; i++ {
		for j := c0 / cc; j <= (c1-1)/cc; j++ {
			chunk, err := z.readChunk(ctx, i, j)
			if err != nil {
				return nil, err
			}
			for r := max(r0, i*cr); r < min(r1, (i+1)*cr); r++ {
				for c := max(c0, j*cc); c < min(c1, (j+1)*cc); c++ {
					v := z.fill
					if chunk != nil {
						v = chunk[(r-i*cr)*cc+(c-j*cc)]
					}
					res[(r-r0)*w+(c-c0)] = v
				}
			}
		}
	}
	return res, nil
}

// readChunk decodes chunk (i, j) to its full chunk shape; nil if missing.
// CheckChunk decodes chunk (i, j), which must exist: an error (naming the
// file) means it was damaged after it was written.
func (z *Reader) CheckChunk(ctx context.Context, i, j int) error {
	vals, err := z.readChunk(ctx, i, j)
	if err == nil && vals == nil {
		err = fmt.Errorf("%s: no such chunk", z.ChunkPath(i, j))
	}
	return err
}

// ChunkCorruptAdvice is what to do about a damaged chunk (as
// PartCorruptAdvice for parts).
const ChunkCorruptAdvice = "the chunk was damaged after it was written (altered or truncated): rerun the same command with --exists resume, which scores it again"

func (z *Reader) readChunk(ctx context.Context, i, j int) ([]float64, error) {
	p := z.ChunkPath(i, j)
	if ok, err := files.Exists(ctx, p); err != nil || !ok {
		return nil, err
	}
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	n, size := z.Chunks[0]*z.Chunks[1], itemSize(z.DType)
	if z.zstd {
		if b, err = zstdDec.DecodeAll(b, make([]byte, 0, n*size)); err != nil {
			return nil, &files.DamagedError{Path: p, Detail: "zstd: " + err.Error(), Advice: ChunkCorruptAdvice}
		}
	}
	if len(b) != n*size {
		return nil, &files.DamagedError{Path: p, Detail: fmt.Sprintf("%d bytes decoded, want %d for a %dx%d %s chunk", len(b), n*size, z.Chunks[0], z.Chunks[1], z.DType), Advice: ChunkCorruptAdvice}
	}
	vals := make([]float64, n)
	for k := range vals {
		switch z.DType {
		case "bool":
			vals[k] = float64(b[k] & 1)
		case "float16":
			vals[k] = Float16Frombits(z.order.Uint16(b[2*k:]))
		case "float32":
			vals[k] = float64(math.Float32frombits(z.order.Uint32(b[4*k:])))
		default:
			vals[k] = math.Float64frombits(z.order.Uint64(b[8*k:]))
		}
	}
	return vals, nil
}
