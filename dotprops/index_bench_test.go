package dotprops

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/nblast-go/nblast/internal/synth"
)

// benchNeurons is the size of the synthetic brain BenchmarkReadNeuronIndex
// reads: ~4000 × 485 points, about 2 row groups of WriteRowGroupRows rows.
const benchNeurons = 4000

var benchFile struct {
	once sync.Once
	data []byte
	err  error
}

// benchParquet writes the synthetic brain of benchNeurons neurons (seed 1)
// in navis' layout to a file under b.TempDir and returns its path; the
// bytes are generated once per process.
func benchParquet(b *testing.B) string {
	b.Helper()
	benchFile.once.Do(func() {
		var buf bytes.Buffer
		benchFile.err = WriteDotpropsParquet(&buf, synth.Generate(benchNeurons, 1))
		benchFile.data = buf.Bytes()
	})
	if benchFile.err != nil {
		b.Fatal(benchFile.err)
	}
	p := filepath.Join(b.TempDir(), "synth.parquet")
	if err := os.WriteFile(p, benchFile.data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReadNeuronIndex reads the index of a generated file of
// benchNeurons neurons (several row groups).
func BenchmarkReadNeuronIndex(b *testing.B) {
	p := benchParquet(b)
	b.SetBytes(int64(len(benchFile.data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadNeuronIndex(context.Background(), p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadDotpropsSynth reads all columns of the same file.
func BenchmarkReadDotpropsSynth(b *testing.B) {
	p := benchParquet(b)
	b.SetBytes(int64(len(benchFile.data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadDotpropsFile(context.Background(), p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadNeuronIndexFile reads the index of the file named by
// $NBLAST_INDEX_FILE once per iteration (skipped when unset), e.g. a
// 100k-neuron brain from `runner synth`, to time and profile planning's
// read: NBLAST_INDEX_FILE=/path go test -run '^$' -bench ReadNeuronIndexFile
// -benchtime 1x ./transforms/
func BenchmarkReadNeuronIndexFile(b *testing.B) {
	p := os.Getenv("NBLAST_INDEX_FILE")
	if p == "" {
		b.Skip("set NBLAST_INDEX_FILE to a dotprops Parquet file to time ReadNeuronIndex on it")
	}
	for i := 0; i < b.N; i++ {
		out, err := ReadNeuronIndex(context.Background(), p, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(out)), "neurons")
		if dump := os.Getenv("NBLAST_INDEX_DUMP"); dump != "" && i == 0 {
			writeIndexDump(b, dump, out)
		}
	}
}

// writeIndexDump writes the index to path, one neuron a line with every
// float in exact hexadecimal, so that two implementations' indexes can be
// compared bit for bit (cmp, sha256sum).
func writeIndexDump(b *testing.B, path string, out []NeuronInfo) {
	var buf bytes.Buffer
	for _, n := range out {
		fmt.Fprintf(&buf, "%s %d", n.ID, n.Points)
		for _, v := range [][3]float64{n.Centroid, n.Min, n.Max} {
			for _, f := range v {
				buf.WriteByte(' ')
				buf.WriteString(strconv.FormatFloat(f, 'x', -1, 64))
			}
		}
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}
