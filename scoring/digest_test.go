package scoring_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
)

// digestCase is one all-by-all whose float64 score bits are hashed. want is
// the SHA-256 of the scores before the kernel optimisations of branch
// kernel (commit 4d7f263), the same with NBLAST_SIMD unset, =avx2 and =go:
// a faster kernel must give these bits.
type digestCase struct {
	name string
	ns   func(testing.TB) []*scoring.Neuron
	opt  scoring.Options
	mode scoring.Mode
	want string
}

func digestCases() []digestCase {
	s300 := func(tb testing.TB) []*scoring.Neuron { return synthNeurons(tb, 300, 1) }
	s200 := func(tb testing.TB) []*scoring.Neuron { return synthNeurons(tb, 200, 7) }
	golden := func(tb testing.TB) []*scoring.Neuron { return loadSet(tb, reference.Sets[0]) }
	examples := func(tb testing.TB) []*scoring.Neuron { return loadSet(tb, reference.Sets[1]) }
	return []digestCase{
		{"synth300s1/forward", s300, scoring.Options{Normalized: true}, scoring.Forward,
			"09bf8e47b04e38bae4ee546bf41a149490d4415655475e7f4be8e0f0b3a3734e"},
		{"synth200s7/mean", s200, scoring.Options{Normalized: true}, scoring.Mean,
			"c9632db5b99ffb9e87e1b7ccb70a0adcfb38556d8897942ce0d046d2755cbfa3"},
		{"synth200s7/raw-alpha", s200, scoring.Options{UseAlpha: true}, scoring.Forward,
			"a14d93c8c4bd449f25252e5251733388438b684be8957a7198a55e293e5bb2ca"},
		{"synth300s1/maxdist42", s300, scoring.Options{Normalized: true, MaxDist: 42}, scoring.Forward,
			"5ba26bedf0b3c3870607411c6c48e354c8f92cc63b76948204875fefa02144ba"},
		{"synth200s7/maxdist10", s200, scoring.Options{MaxDist: 10}, scoring.Both,
			"9eeceb042ea320c5c204cc41daeef8a0de80dee044906d0502f6d04f99e08fa3"},
		{"golden/mean", golden, scoring.Options{Normalized: true}, scoring.Mean,
			"5916090b3a909f9410c691ffd8382993b26db34cee9d4d3a52f1deada3195cfe"},
		{"examples/both", examples, scoring.Options{}, scoring.Both,
			"2e71c21f9c9350dea75b3495adc304afa556d599515ac411bbd8122344523903"},
	}
}

// scoreDigest is the SHA-256 of the float64 bits of the block (and its
// reverse under Both), row-major, little-endian.
func scoreDigest(tb testing.TB, c digestCase, ns []*scoring.Neuron) string {
	s, err := scoring.NewScorer(c.opt)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]float64, len(ns)*len(ns))
	var rev []float64
	if c.mode == scoring.Both {
		rev = make([]float64, len(out))
	}
	if _, err := scoring.ScoreBlock(s, c.mode, ns, ns, out, rev); err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	var b [8]byte
	for _, v := range append(out, rev...) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestScoresUnchanged checks that all-by-all blocks of synthetic brains and
// of the reference sets keep the scores they had before the kernel was
// optimised, to the bit, under whichever kernels NBLAST_SIMD selects
// (TestForwardMatchesBruteForce checks the kernel against plain loops).
// NBLAST_DIGESTS=1 logs every digest.
func TestScoresUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, c := range digestCases() {
		t.Run(c.name, func(t *testing.T) {
			got := scoreDigest(t, c, c.ns(t))
			if os.Getenv("NBLAST_DIGESTS") != "" {
				t.Logf("%s %s", c.name, got)
			}
			if got != c.want {
				t.Errorf("SIMD %s: scores digest %s, want %s (the scores before)", scoring.SIMD(), got, c.want)
			}
		})
	}
}
