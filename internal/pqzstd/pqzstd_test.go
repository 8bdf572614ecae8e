package pqzstd

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/compress"
)

func TestInstalled(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil || c != Pooled {
		t.Fatalf("GetCodec(zstd) = %T, %v; want the pooled codec", c, err)
	}
}

// inputs are page-like buffers: empty, tiny, doubles of a random walk
// (like coordinates), repeated int64s (like a neuron column), random bytes,
// one block (128 KiB) and several.
func inputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	walk := func(n int) []byte {
		b := make([]byte, 8*n)
		x := 100.0
		for i := range n {
			x += rng.NormFloat64()
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	ids := make([]byte, 8*50000)
	for i := range 50000 {
		binary.LittleEndian.PutUint64(ids[8*i:], uint64(1e16)+uint64(i/500))
	}
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":             {},
		"tiny":              []byte("abc"),
		"walk 1 KiB":        walk(128),
		"walk 128 KiB":      walk(16 << 10),
		"walk 1 MiB":        walk(128 << 10),
		"walk 3 MiB":        walk(384 << 10),
		"repeated ids":      ids,
		"random 300 KiB":    random,
		"walk 1 MiB again":  walk(128 << 10),
		"walk 5 KiB (last)": walk(640),
	}
}

// TestSameBytes: the pooled codec's frames are arrow's, byte for byte, at
// every level, also for encoders reused after other inputs, and they
// decode to the input.
func TestSameBytes(t *testing.T) {
	in := inputs()
	for _, level := range []int{compress.DefaultCompressionLevel, 1, 3, 7, 11} {
		for round := range 2 { // the second round reuses pooled encoders
			for name, src := range in {
				want := Arrow.EncodeLevel(nil, src, level)
				got := Pooled.EncodeLevel(make([]byte, 0, 16), src, level)
				if !bytes.Equal(got, want) {
					t.Errorf("level %d, round %d, %s: %d bytes differ from arrow's %d", level, round, name, len(got), len(want))
				}
				if dec := Pooled.Decode(nil, got); !bytes.Equal(dec, src) && len(src) > 0 {
					t.Errorf("level %d, %s: does not decode to the input", level, name)
				}
			}
		}
	}
}

// TestConcurrent: concurrent EncodeLevel calls (as from parallel writers)
// each get arrow's bytes.
func TestConcurrent(t *testing.T) {
	in := inputs()
	want := map[string][]byte{}
	for name, src := range in {
		want[name] = Arrow.EncodeLevel(nil, src, compress.DefaultCompressionLevel)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				for name, src := range in {
					if !bytes.Equal(Pooled.EncodeLevel(nil, src, compress.DefaultCompressionLevel), want[name]) {
						errs <- name
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("%s: concurrent encoding differs from arrow's", name)
	}
}
