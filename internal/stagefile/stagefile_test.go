package stagefile

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

func TestRoundTrip(t *testing.T) {
	dps := []*scoring.Dotprops{
		{ID: scoring.IntID(-7), Points: [][3]float64{{1, 2, 3}, {math.Inf(1), -0.0, 1e-300}}, Vectors: [][3]float64{{1, 0, 0}, {0, 1, 0}}},
		{ID: scoring.StrID("KC-γ-1"), Points: [][3]float64{{0.1, 0.2, 0.3}}, Vectors: [][3]float64{{0, 0, 1}}, Alpha: []float64{0.5}},
		{ID: scoring.IntID(10_000_000_000_000_001), Points: [][3]float64{}, Vectors: [][3]float64{}},
	}
	p := filepath.Join(t.TempDir(), "b.bin")
	if err := Write(context.Background(), p, dps); err != nil {
		t.Fatal(err)
	}
	got, err := Read(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, dps) {
		t.Errorf("round trip: got %+v, want %+v", got, dps)
	}
	if got, err := Decode(Encode(nil)); err != nil || len(got) != 0 {
		t.Errorf("no neurons: %v, %v", got, err)
	}
}

func TestDecodeRefusesDamage(t *testing.T) {
	b := Encode([]*scoring.Dotprops{{ID: scoring.IntID(1), Points: [][3]float64{{1, 2, 3}}, Vectors: [][3]float64{{1, 0, 0}}, Alpha: []float64{1}}})
	for n := range len(b) {
		if _, err := Decode(b[:n]); err == nil {
			t.Errorf("%d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := Decode(append(b, 0)); err == nil {
		t.Errorf("a byte too many decoded")
	}
	if _, err := Decode([]byte("PAR1....")); err == nil {
		t.Errorf("a file of another kind decoded")
	}
	// A string id whose length is damaged (2^32-1 bytes): refused, without
	// allocating that much.
	s := Encode([]*scoring.Dotprops{{ID: scoring.StrID("a"), Points: [][3]float64{{1, 2, 3}}, Vectors: [][3]float64{{1, 0, 0}}}})
	at := len(magic) + 8 + 1
	copy(s[at:], []byte{0xff, 0xff, 0xff, 0xff})
	allocs := testing.AllocsPerRun(1, func() {
		if _, err := Decode(s); err == nil {
			t.Errorf("a damaged id length decoded")
		}
	})
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapSys > 1<<31 {
		t.Errorf("decoding a damaged id length took %d bytes of heap (%v allocations)", m.HeapSys, allocs)
	}
}
