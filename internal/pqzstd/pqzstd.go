// Package pqzstd makes arrow-go v15's Parquet writers reuse zstd encoders.
//
// arrow-go v15.0.2 compresses every Parquet page with
// compress.Codec.EncodeLevel (parquet/file/page_writer.go, Compress), and
// its zstd codec's EncodeLevel builds a new klauspost zstd.Encoder for every
// call, whatever the level (parquet/compress/zstd.go): GOMAXPROCS block
// encoders of ~1.3 MiB of tables each (SpeedDefault), allocated and zeroed
// per page, plus their history buffers. Only Encode reuses an encoder, and
// no writer calls it. No writer property or compression level avoids this,
// and v15 has no way to register a codec: the codec table is the
// unexported map compress.codecs.
//
// Importing this package replaces the table's zstd entry, for the whole
// process, with a codec whose EncodeLevel takes an encoder for the level
// from a pool (concurrency 1: EncodeAll uses one block encoder). The
// options are arrow's (WithZeroFrames, the same level mapping), so the
// compressed bytes are identical; decoding and streams are arrow's own.
// The table is reached with //go:linkname: if a new arrow-go renames it,
// the build fails rather than silently going slow (arrow-go v18 pools its
// zstd encoders itself; drop this package when upgrading).
package pqzstd

import (
	"sync"
	_ "unsafe" // go:linkname

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

//go:linkname codecs github.com/apache/arrow/go/v15/parquet/compress.codecs
var codecs map[compress.Compression]compress.Codec

// Arrow is arrow-go's own zstd codec, as it was before this package
// replaced it (for tests and benchmarks).
var Arrow compress.Codec

// Pooled is the codec this package installs.
var Pooled compress.Codec

func init() {
	Arrow = codecs[compress.Codecs.Zstd]
	Pooled = &pooledCodec{Codec: Arrow}
	// Package initialisation runs before main and any goroutine that could
	// read the table (arrow's compress package is initialised first, as an
	// import of this one).
	codecs[compress.Codecs.Zstd] = Pooled
}

// Use installs c as the process's zstd codec and returns the one it
// replaces; only for tests and benchmarks comparing Arrow and Pooled, with
// no Parquet reads or writes running.
func Use(c compress.Codec) compress.Codec {
	old := codecs[compress.Codecs.Zstd]
	codecs[compress.Codecs.Zstd] = c
	return old
}

// pooledCodec is arrow's zstd codec with EncodeLevel on pooled encoders.
type pooledCodec struct {
	compress.Codec // arrow's: Decode, NewReader, NewWriter, NewWriterLevel, Encode, CompressBound

	pools sync.Map // zstd.EncoderLevel -> *sync.Pool of *zstd.Encoder
}

// EncodeLevel compresses src as one zstd frame, appended to dst[:0], at
// the zstd level (compress.DefaultCompressionLevel: zstd.SpeedDefault),
// like arrow's EncodeLevel but with an encoder from the level's pool.
func (z *pooledCodec) EncodeLevel(dst, src []byte, level int) []byte {
	lvl := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		lvl = zstd.SpeedDefault
	}
	p, ok := z.pools.Load(lvl)
	if !ok {
		p, _ = z.pools.LoadOrStore(lvl, &sync.Pool{})
	}
	pool := p.(*sync.Pool)
	enc, _ := pool.Get().(*zstd.Encoder)
	if enc == nil {
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1))
		if err != nil { // only for invalid options, which these are not
			return z.Codec.EncodeLevel(dst, src, level)
		}
	}
	out := enc.EncodeAll(src, dst[:0])
	pool.Put(enc)
	return out
}
