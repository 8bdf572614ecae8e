// Package stagefile reads and writes the files a run stages its neurons in
// (transforms.StageBlocks: fragments and blocks under OUT/.staging, removed
// after the run): the neurons as given, float64 bits as they are, with no
// encoding to undo, so that staging and loading a block cost little more
// than the bytes moved. Nothing but a run of the same binary reads them.
//
// Layout, little-endian: the magic "NBSTAGE1", the number of neurons
// (uint64), then each neuron: its id's kind (0 int64, 1 string), the id
// (int64, or uint32 length and bytes), its points n (uint64), whether it
// has alpha (0 or 1), then n×3 points, n×3 vectors and, with alpha, n
// alphas, as float64.
package stagefile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

const magic = "NBSTAGE1"

// Encode returns the staged form of dps.
func Encode(dps []*scoring.Dotprops) []byte {
	size := len(magic) + 8
	for _, d := range dps {
		size += 1 + 8 + 4 + len(d.ID.Str) + 8 + 1 + 8*(6*len(d.Points)+len(d.Alpha))
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(dps)))
	for _, d := range dps {
		if d.ID.IsStr {
			b = append(b, 1)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(d.ID.Str)))
			b = append(b, d.ID.Str...)
		} else {
			b = append(b, 0)
			b = binary.LittleEndian.AppendUint64(b, uint64(d.ID.Int))
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(len(d.Points)))
		b = append(b, boolByte(d.Alpha != nil))
		for _, xyz := range [][][3]float64{d.Points, d.Vectors} {
			for _, p := range xyz {
				for _, v := range p {
					b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
				}
			}
		}
		for _, v := range d.Alpha {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errShort = errors.New("truncated")

// Decode reads the neurons of a staged file's bytes.
func Decode(b []byte) ([]*scoring.Dotprops, error) {
	if len(b) < len(magic)+8 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("not a staged neurons file (no %q header)", magic)
	}
	r := reader{b: b[len(magic):]}
	n := r.u64()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("staged neurons file: %d neurons in %d bytes", n, len(b))
	}
	dps := make([]*scoring.Dotprops, 0, n)
	for range n {
		d := &scoring.Dotprops{}
		switch r.byte() {
		case 0:
			d.ID = scoring.IntID(int64(r.u64()))
		case 1:
			d.ID = scoring.StrID(string(r.take(int(r.u32()))))
		default:
			r.err = fmt.Errorf("bad id kind")
		}
		pts := r.u64()
		alpha := r.byte() == 1
		per := uint64(6)
		if alpha {
			per = 7
		}
		if r.err != nil || pts > uint64(len(r.b))/(8*per) {
			return nil, fmt.Errorf("staged neurons file, neuron %d: %w", len(dps), errors.Join(r.err, errShort))
		}
		d.Points, d.Vectors = r.xyz(int(pts)), r.xyz(int(pts))
		if alpha {
			d.Alpha = make([]float64, pts)
			for i := range d.Alpha {
				d.Alpha[i] = r.f64()
			}
		}
		dps = append(dps, d)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("staged neurons file: %d bytes left over or missing (%v)", len(r.b), r.err)
	}
	return dps, nil
}

// reader takes values off b; past its end it records errShort and
// returns zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.err, r.b = errShort, nil
		return make([]byte, min(max(n, 0), 8)) // zeros for a number; nothing for a longer read (a corrupt length)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte  { return r.take(1)[0] }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *reader) f64() float64 {
	return math.Float64frombits(r.u64())
}

func (r *reader) xyz(n int) [][3]float64 {
	out := make([][3]float64, n)
	b := r.take(24 * n)
	for i := range out {
		for k := range 3 {
			out[i][k] = math.Float64frombits(binary.LittleEndian.Uint64(b[24*i+8*k:]))
		}
	}
	return out
}

// Write stores dps at p (atomically: files.WriteFile). Each neuron has
// as many vectors (and alphas, if any) as points.
func Write(ctx context.Context, p string, dps []*scoring.Dotprops) error {
	for _, d := range dps {
		if len(d.Vectors) != len(d.Points) || d.Alpha != nil && len(d.Alpha) != len(d.Points) {
			return fmt.Errorf("stage %s: neuron %s has %d points, %d vectors and %d alphas", p, d.ID, len(d.Points), len(d.Vectors), len(d.Alpha))
		}
	}
	return files.WriteFile(ctx, p, Encode(dps))
}

// Read reads the neurons staged at p.
func Read(ctx context.Context, p string) ([]*scoring.Dotprops, error) {
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	dps, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return dps, nil
}
