package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

// testBrain is generated once: 600 neurons with the defaults.
var testBrain = func() func(t *testing.T) *Brain {
	var b *Brain
	return func(t *testing.T) *Brain {
		t.Helper()
		if b == nil {
			var err error
			if b, err = GenerateOptions(DefaultOptions(600, 42)); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
}()

func TestDeterministic(t *testing.T) {
	o := DefaultOptions(150, 7)
	o.Workers = 1
	a, err := GenerateOptions(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 4
	b, err := GenerateOptions(o)
	if err != nil {
		t.Fatal(err)
	}
	c := Generate(150, 7)
	if !slices.Equal(a.Type, b.Type) || a.Types != b.Types || a.Points != b.Points {
		t.Fatalf("types or sizes differ between runs")
	}
	for i := range a.Neurons {
		for _, other := range [][]*scoring.Dotprops{b.Neurons, c} {
			x, y := a.Neurons[i], other[i]
			if x.ID != y.ID || !slices.Equal(x.Points, y.Points) || !slices.Equal(x.Vectors, y.Vectors) || !slices.Equal(x.Alpha, y.Alpha) {
				t.Fatalf("neuron %d differs between runs with the same seed", i)
			}
		}
	}
	d := Generate(150, 8)
	if slices.Equal(a.Neurons[0].Points, d[0].Points) {
		t.Errorf("seeds 7 and 8 give the same first neuron")
	}
	if Generate(0, 1) != nil {
		t.Errorf("Generate(0) is not nil")
	}
}

func TestValidAndInside(t *testing.T) {
	b := testBrain(t)
	o := DefaultOptions(600, 42)
	if len(b.Neurons) != 600 || len(b.Type) != 600 {
		t.Fatalf("%d neurons, %d types, want 600", len(b.Neurons), len(b.Type))
	}
	seen := map[scoring.ID]bool{}
	points := 0
	for i, d := range b.Neurons {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if !d.HasAlpha() {
			t.Fatalf("neuron %s has no alpha", d.ID)
		}
		if want := int64(1e16) + int64(i); d.ID != scoring.IntID(want) || d.ID.Int <= 1<<53 {
			t.Fatalf("neuron %d has id %s, want %d (> 2^53)", i, d.ID, want)
		}
		if seen[d.ID] {
			t.Fatalf("id %s twice", d.ID)
		}
		seen[d.ID] = true
		points += d.Len()
		for _, p := range d.Points {
			for a := range p {
				if p[a] < 0 || p[a] > o.Volume[a] {
					t.Fatalf("neuron %s: point %v outside the %v µm box", d.ID, p, o.Volume)
				}
			}
		}
	}
	if points != b.Points {
		t.Errorf("Points = %d, counted %d", b.Points, points)
	}
}

func TestSizesAndTypes(t *testing.T) {
	b := testBrain(t)
	sizes := make([]int, len(b.Neurons))
	total := 0
	for i, d := range b.Neurons {
		sizes[i] = d.Len()
		total += d.Len()
	}
	sort.Ints(sizes)
	mean := float64(total) / float64(len(sizes))
	median := sizes[len(sizes)/2]
	t.Logf("%d neurons, %d types: points min %d, median %d, mean %.0f, p90 %d, max %d",
		len(sizes), b.Types, sizes[0], median, mean, sizes[len(sizes)*9/10], sizes[len(sizes)-1])
	if sizes[0] < 95 || sizes[len(sizes)-1] > 5000 {
		t.Errorf("sizes %d .. %d, want ~100 .. 5000", sizes[0], sizes[len(sizes)-1])
	}
	if median < 200 || median > 500 || mean < 380 || mean > 650 {
		t.Errorf("median %d, mean %.0f points: want a few hundred, mean ~400-600", median, mean)
	}
	if sizes[len(sizes)*9/10] < 2*median {
		t.Errorf("p90 %d is not well above the median %d: sizes do not spread", sizes[len(sizes)*9/10], median)
	}
	members := make([]int, b.Types)
	for _, ty := range b.Type {
		members[ty]++
	}
	for ty, m := range members {
		if m < 5 || m > 20 {
			t.Errorf("type %d has %d members, want 5..20", ty, m)
		}
	}
	// Types are interleaved, not contiguous.
	runs := 0
	for i := 1; i < len(b.Type); i++ {
		if b.Type[i] == b.Type[i-1] {
			runs++
		}
	}
	if runs > len(b.Type)/5 {
		t.Errorf("%d of %d neighbours in id order share a type: order not shuffled", runs, len(b.Type))
	}
}

// TestTypesCluster checks that members of a type are close together and
// score high under NBLAST, while random pairs are far apart and score low.
func TestTypesCluster(t *testing.T) {
	b := testBrain(t)
	centroid := func(d *scoring.Dotprops) (c [3]float64) {
		for _, p := range d.Points {
			for a := range c {
				c[a] += p[a] / float64(d.Len())
			}
		}
		return c
	}
	cents := make([][3]float64, len(b.Neurons))
	for i, d := range b.Neurons {
		cents[i] = centroid(d)
	}
	dist := func(i, j int) float64 {
		x, y := cents[i], cents[j]
		return math.Sqrt((x[0]-y[0])*(x[0]-y[0]) + (x[1]-y[1])*(x[1]-y[1]) + (x[2]-y[2])*(x[2]-y[2]))
	}
	byType := make([][]int, b.Types)
	for i, ty := range b.Type {
		byType[ty] = append(byType[ty], i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var same, other [][2]int
	for len(same) < 300 {
		ms := byType[rng.IntN(b.Types)]
		i, j := ms[rng.IntN(len(ms))], ms[rng.IntN(len(ms))]
		if i != j {
			same = append(same, [2]int{i, j})
		}
	}
	for len(other) < 300 {
		i, j := rng.IntN(len(b.Neurons)), rng.IntN(len(b.Neurons))
		if b.Type[i] != b.Type[j] {
			other = append(other, [2]int{i, j})
		}
	}
	median := func(pairs [][2]int, f func(i, j int) float64) float64 {
		v := make([]float64, len(pairs))
		for k, p := range pairs {
			v[k] = f(p[0], p[1])
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	dSame, dOther := median(same, dist), median(other, dist)
	t.Logf("median centroid distance: same type %.1f µm, different types %.1f µm", dSame, dOther)
	if dSame > 25 || dOther < 100 {
		t.Errorf("same-type centroids %.1f µm apart (want < 25), others %.1f µm (want > 100)", dSame, dOther)
	}

	s, err := scoring.NewScorer(scoring.Options{Normalized: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := map[int]*scoring.Neuron{}
	neuron := func(i int) *scoring.Neuron {
		if ns[i] == nil {
			if ns[i], err = scoring.NewNeuron(b.Neurons[i]); err != nil {
				t.Fatal(err)
			}
		}
		return ns[i]
	}
	score := func(i, j int) float64 {
		f, err := s.Pair(neuron(i), neuron(j))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Pair(neuron(j), neuron(i))
		if err != nil {
			t.Fatal(err)
		}
		return (f + r) / 2
	}
	sSame, sOther := median(same[:100], score), median(other[:100], score)
	t.Logf("median mean-normalised NBLAST score: same type %.3f, different types %.3f", sSame, sOther)
	if sSame < 0.3 || sOther > 0 {
		t.Errorf("median NBLAST score same type %.3f (want >= 0.3), different types %.3f (want < 0)", sSame, sOther)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, mod := range []func(*Options){
		func(o *Options) { o.N = 0 },
		func(o *Options) { o.K = 1 },
		func(o *Options) { o.Volume = [3]float64{20, 300, 200} },
		func(o *Options) { o.MinKeep = 0 },
		func(o *Options) { o.MaxTypeSize = 2 },
		func(o *Options) { o.MinPoints = 1 },
		func(o *Options) { o.FirstID = math.MaxInt64 },
	} {
		o := DefaultOptions(10, 1)
		mod(&o)
		if _, err := GenerateOptions(o); err == nil {
			t.Errorf("options %+v: no error", o)
		}
	}
}

// BenchmarkGenerate10000 generates the default 10,000-neuron brain (one
// iteration is enough: go test -bench Generate10000 -benchtime 1x).
func BenchmarkGenerate10000(b *testing.B) {
	var br *Brain
	for b.Loop() {
		var err error
		if br, err = GenerateOptions(DefaultOptions(10000, 1)); err != nil {
			b.Fatal(err)
		}
	}
	sizes := make([]int, len(br.Neurons))
	for i, d := range br.Neurons {
		sizes[i] = d.Len()
	}
	sort.Ints(sizes)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/brain")
	b.ReportMetric(float64(br.Points)/float64(len(sizes)), "mean_points")
	b.ReportMetric(float64(sizes[len(sizes)/2]), "median_points")
	b.ReportMetric(float64(br.Types), "types")
}

// fingerprint is a SHA-256 of the neurons' ids, cell types, sizes and
// values (float64 bits), in order.
func fingerprint(ds []*scoring.Dotprops, types []int) string {
	h := sha256.New()
	for i, d := range ds {
		binary.Write(h, binary.LittleEndian, []int64{d.ID.Int, int64(types[i]), int64(d.Len())})
		for j := range d.Points {
			for k := 0; k < 3; k++ {
				binary.Write(h, binary.LittleEndian, []uint64{math.Float64bits(d.Points[j][k]), math.Float64bits(d.Vectors[j][k])})
			}
			binary.Write(h, binary.LittleEndian, math.Float64bits(d.Alpha[j]))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGenerateEachSameNeurons: GenerateEach streams, for any number of
// workers, the neurons that the pre-streaming GenerateOptions (which made
// a type's members together) made for seed 11; the fingerprints were
// recorded with it. GenerateOptions, now collecting GenerateEach, agrees.
func TestGenerateEachSameNeurons(t *testing.T) {
	for _, tc := range []struct {
		n, workers, types, points int
		want                      string
	}{
		{1, 1, 1, 582, "a2bcee9450ec824b0fbc1a1a432ccd1ebf3ff16df7a1ce95bc107192ffbca216"},
		{7, 3, 1, 4268, "8a1285d44199f4e539fe75e39ebcdb25ade8e121df6fd4705d2b2b505d9a8a17"},
		{300, 1, 24, 201464, "c972a3842ab10d84aa1f3f3120265579bae82c343551e6967eedef253b300969"},
		{300, 5, 24, 201464, "c972a3842ab10d84aa1f3f3120265579bae82c343551e6967eedef253b300969"},
	} {
		o := DefaultOptions(tc.n, 11)
		o.Workers = tc.workers
		var ds []*scoring.Dotprops
		var types []int
		sum, err := GenerateEach(o, func(d *scoring.Dotprops, cellType int) error {
			ds = append(ds, d)
			types = append(types, cellType)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum != (Summary{Neurons: tc.n, Types: tc.types, Points: tc.points}) {
			t.Errorf("n %d, %d workers: summary %+v, want %d types, %d points", tc.n, tc.workers, sum, tc.types, tc.points)
		}
		if got := fingerprint(ds, types); got != tc.want {
			t.Errorf("n %d, %d workers: streamed neurons differ from the pre-streaming ones", tc.n, tc.workers)
		}
		b, err := GenerateOptions(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := fingerprint(b.Neurons, b.Type); got != tc.want || b.Types != tc.types || b.Points != tc.points {
			t.Errorf("n %d, %d workers: GenerateOptions differs from the pre-streaming one", tc.n, tc.workers)
		}
	}
}

// TestGenerateEachStops: an error from each stops the generation and is
// returned as is.
func TestGenerateEachStops(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	_, err := GenerateEach(DefaultOptions(200, 1), func(d *scoring.Dotprops, _ int) error {
		calls++
		if calls == 5 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 5 {
		t.Fatalf("error %v after %d calls; want %v after 5", err, calls, stop)
	}
	if _, err := GenerateEach(DefaultOptions(0, 1), nil); err == nil {
		t.Fatal("GenerateEach with n = 0: no error")
	}
}
