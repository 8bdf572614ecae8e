package dotprops

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"

	"github.com/nblast-go/nblast/internal/pqzstd"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
)

// bigDotprops is randomDotprops' first neuron grown (by repetition, then
// trimmed) to exactly n points.
func bigDotprops(rng *rand.Rand, id int64, n int, alpha bool) *scoring.Dotprops {
	d := randomDotprops(rng, 1, false, alpha)[0]
	d.ID = scoring.IntID(id)
	for d.Len() < n {
		d.Points = append(d.Points, d.Points...)
		d.Vectors = append(d.Vectors, d.Vectors...)
		if alpha {
			d.Alpha = append(d.Alpha, d.Alpha...)
		}
	}
	d.Points, d.Vectors = d.Points[:n], d.Vectors[:n]
	if alpha {
		d.Alpha = d.Alpha[:n]
	}
	return d
}

// streamDotprops writes dps with a DotpropsWriter, one Write per neuron.
func streamDotprops(t testing.TB, dps []*scoring.Dotprops, strIDs, hasAlpha bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	dw, err := NewDotpropsWriter(&buf, strIDs, hasAlpha)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dps {
		if err := dw.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writerCases are neuron sets covering both id kinds, alpha or not, and
// row batches and row groups that end inside a neuron.
func writerCases() []struct {
	name     string
	dps      []*scoring.Dotprops
	hasAlpha bool // what WriteDotpropsParquet decides
} {
	rng := rand.New(rand.NewSource(7))
	mixed := randomDotprops(rng, 300, false, true)
	mixed[150].Alpha = nil
	big := []*scoring.Dotprops{
		bigDotprops(rng, 1, writeBatchRows-3, true),
		bigDotprops(rng, 2, 7, true),
		bigDotprops(rng, 3, WriteRowGroupRows+writeBatchRows/2, true),
		bigDotprops(rng, 4, 1, true),
	}
	return []struct {
		name     string
		dps      []*scoring.Dotprops
		hasAlpha bool
	}{
		{"int ids with alpha", randomDotprops(rng, 300, false, true), true},
		{"int ids without alpha", randomDotprops(rng, 300, false, false), false},
		{"string ids with alpha", randomDotprops(rng, 40, true, true), true},
		{"string ids without alpha", randomDotprops(rng, 40, true, false), false},
		{"mixed alpha", mixed, false},
		{"batch and row-group boundaries inside neurons", big, true},
	}
}

// TestDotpropsWriterBytes: streaming the neurons one at a time writes the
// same bytes as WriteDotpropsParquet. (Both were checked byte for byte
// against the pre-streaming WriteDotpropsParquet on these cases, and
// runner synth's files against the old binary's, before it was deleted.)
func TestDotpropsWriterBytes(t *testing.T) {
	for _, tc := range writerCases() {
		t.Run(tc.name, func(t *testing.T) {
			var whole bytes.Buffer
			if err := WriteDotpropsParquet(&whole, tc.dps); err != nil {
				t.Fatal(err)
			}
			streamed := streamDotprops(t, tc.dps, tc.dps[0].ID.IsStr, tc.hasAlpha)
			if !bytes.Equal(streamed, whole.Bytes()) {
				t.Errorf("DotpropsWriter: %d bytes differ from WriteDotpropsParquet's %d", len(streamed), whole.Len())
			}
		})
	}
}

// TestDotpropsWriterRowGroups: a file of more than WriteRowGroupRows rows
// is cut into row groups of WriteRowGroupRows and reads back unchanged.
func TestDotpropsWriterRowGroups(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	dps := []*scoring.Dotprops{bigDotprops(rng, 10, WriteRowGroupRows-5, false), bigDotprops(rng, 11, 10, false)}
	data := streamDotprops(t, dps, false, false)
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if rdr.NumRowGroups() != 2 || rdr.MetaData().RowGroup(0).NumRows() != WriteRowGroupRows {
		t.Fatalf("%d row groups, the first of %d rows; want 2, %d", rdr.NumRowGroups(), rdr.MetaData().RowGroup(0).NumRows(), WriteRowGroupRows)
	}
	p := filepath.Join(t.TempDir(), "rg.parquet")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDotpropsFile(context.Background(), p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, dps) {
		t.Fatal("round trip changed the neurons")
	}
}

// TestDotpropsWriterRefuses: a refused neuron leaves the writer usable and
// is absent from the file.
func TestDotpropsWriterRefuses(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	good := randomDotprops(rng, 3, false, true)
	str := randomDotprops(rng, 1, true, true)[0]
	noAlpha := *good[2]
	noAlpha.ID, noAlpha.Alpha = scoring.IntID(99), nil
	invalid := &scoring.Dotprops{ID: scoring.IntID(5), Points: [][3]float64{{0, 0, 0}}, Vectors: [][3]float64{{0, 0, 0}}}
	for _, tc := range []struct {
		name   string
		strIDs bool
		before []*scoring.Dotprops // accepted first
		bad    *scoring.Dotprops
		want   string
	}{
		{"string id in an int64 file", false, nil, str, "neuron " + str.ID.String() + " has a string id but the file was opened for int64 ids"},
		{"int64 id in a string file", true, nil, good[0], "has an int64 id but the file was opened for string ids"},
		{"mixed after an int64 id", false, good[:1], str, "mix int64 (" + good[0].ID.String() + ") and string (" + str.ID.String() + ")"},
		{"mixed after a string id", true, []*scoring.Dotprops{str}, good[0], "mix int64 (" + good[0].ID.String() + ") and string (" + str.ID.String() + ")"},
		{"duplicate", false, good[:2], good[1], "neuron " + good[1].ID.String() + " appears twice"},
		{"invalid", false, good[:1], invalid, "neuron 5: point 0 has a zero tangent vector"},
		{"missing alpha", false, good[:1], &noAlpha, "neuron 99 has no alpha values but the file has an alpha column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			dw, err := NewDotpropsWriter(&buf, tc.strIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.before {
				if err := dw.Write(d); err != nil {
					t.Fatal(err)
				}
			}
			err = dw.Write(tc.bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if len(tc.before) == 0 {
				if err := dw.Close(); err == nil || !strings.Contains(err.Error(), "no neurons to write") {
					t.Fatalf("Close of an empty writer: %v, want no neurons to write", err)
				}
				return
			}
			if err := dw.Close(); err != nil {
				t.Fatal(err)
			}
			want := streamDotprops(t, tc.before, tc.strIDs, true)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatal("the refused neuron changed the file")
			}
			if err := dw.Write(good[2]); err == nil || !strings.Contains(err.Error(), "after Close") {
				t.Fatalf("Write after Close: %v", err)
			}
		})
	}
}

// failingWriter fails every write after the first limit bytes.
type failingWriter struct{ limit int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, errDiskFull
	}
	f.limit -= len(p)
	return len(p), nil
}

// TestDotpropsWriterSinkFailure: a failure of the sink is returned by Write
// or Close, and by every call after it.
func TestDotpropsWriterSinkFailure(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	dps := []*scoring.Dotprops{bigDotprops(rng, 1, WriteRowGroupRows+10, false), bigDotprops(rng, 2, 10, false)}
	dw, err := NewDotpropsWriter(&failingWriter{limit: 1 << 10}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for _, d := range dps {
		if err := dw.Write(d); err != nil && first == nil {
			first = err
		}
	}
	if err := dw.Close(); first == nil {
		first = err
	}
	if !errors.Is(first, errDiskFull) {
		t.Fatalf("error %v, want %v", first, errDiskFull)
	}
}

// TestDotpropsWriterPooledZstd: with internal/pqzstd's pooled zstd codec
// (installed by this package) the files are byte for byte those of
// arrow-go's own codec.
func TestDotpropsWriterPooledZstd(t *testing.T) {
	for _, tc := range writerCases()[:3] {
		var arrow, pooled bytes.Buffer
		old := pqzstd.Use(pqzstd.Arrow)
		err := WriteDotpropsParquet(&arrow, tc.dps)
		pqzstd.Use(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteDotpropsParquet(&pooled, tc.dps); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(arrow.Bytes(), pooled.Bytes()) {
			t.Errorf("%s: %d bytes with the pooled codec differ from arrow's %d", tc.name, pooled.Len(), arrow.Len())
		}
	}
}

// BenchmarkWriteDotprops writes synthetic neurons (internal/synth, k = 5
// dotprops with alpha) to memory with arrow-go's zstd codec (a new encoder
// per page) and with internal/pqzstd's pooled one, interleaved: a staging
// block ("1000 neurons": ~485k rows, one row group, 1 MiB pages) and small
// files ("20 neurons": ~10k rows, like a small output record). Compare with
// go test -run '^$' -bench WriteDotprops -count 6 ./transforms/.
func BenchmarkWriteDotprops(b *testing.B) {
	brain := synth.Generate(1000, 1)
	for _, size := range []struct {
		name string
		dps  []*scoring.Dotprops
	}{{"1000 neurons", brain}, {"20 neurons", brain[:20]}} {
		points := 0
		for _, d := range size.dps {
			points += d.Len()
		}
		for _, codec := range []struct {
			name string
			c    compress.Codec
		}{{"arrow zstd", pqzstd.Arrow}, {"pooled zstd", pqzstd.Pooled}} {
			b.Run(size.name+"/"+codec.name, func(b *testing.B) {
				old := pqzstd.Use(codec.c)
				defer pqzstd.Use(old)
				var buf bytes.Buffer
				for b.Loop() {
					buf.Reset()
					if err := WriteDotpropsParquet(&buf, size.dps); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/point")
				b.SetBytes(int64(points) * 56) // 7 doubles per point
			})
		}
	}
}
