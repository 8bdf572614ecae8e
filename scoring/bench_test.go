package scoring_test

import (
	"math"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/spatial/kdtree"

	"github.com/nblast-go/nblast/internal/cputime"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
)

// benchForward scores all ordered pairs of a reference set (the diagonal
// included) on one core and reports ns per query point and pairs/s.
func benchForward(b *testing.B, set reference.Set, workers int) {
	benchForwardOn(b, loadSet(b, set), workers)
}

// benchForwardOn is benchForward on prepared neurons.
func benchForwardOn(b *testing.B, ns []*scoring.Neuron, workers int) {
	benchForwardOpt(b, ns, scoring.Options{Normalized: true, Workers: workers})
}

// benchForwardOpt is benchForwardOn under opt.
func benchForwardOpt(b *testing.B, ns []*scoring.Neuron, opt scoring.Options) {
	s, err := scoring.NewScorer(opt)
	if err != nil {
		b.Fatal(err)
	}
	var points int
	for _, n := range ns {
		points += n.Len() * len(ns)
	}
	out := make([]float32, len(ns)*len(ns))
	logSIMD.Do(func() { b.Logf("SIMD kernels: %s (NBLAST_SIMD=avx2 or go for less)", scoring.SIMD()) })
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Seconds()
	for b.Loop() {
		if _, err := scoring.ScoreBlock(s, scoring.Forward, ns, ns, out, nil); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cputime.Seconds() - cpu0
	sec := b.Elapsed().Seconds()
	b.ReportMetric(sec*1e9/float64(b.N*points), "ns/point")
	// CPU time is steadier than wall time on a shared machine (it still
	// counts the garbage collector's, and any other goroutine's, time).
	b.ReportMetric(cpu*1e9/float64(b.N*points), "cpu-ns/point")
	b.ReportMetric(float64(b.N*len(ns)*len(ns))/sec, "pairs/s")
}

var logSIMD sync.Once

// BenchmarkForwardExamples is the main kernel figure: forward scores of all
// ordered pairs of navis' 5 example neurons (12,284 points), one core.
func BenchmarkForwardExamples(b *testing.B) { benchForward(b, reference.Sets[1], 1) }

// BenchmarkForwardSynthetic300 is the same over a synthetic brain of 300
// neurons (synth.Generate(300, 1)), where most query points lie tens of µm
// from any target point: the exact, unbounded search's far case.
//
// It builds its neurons itself, not with synthNeurons, so that make
// bench-dense can run this file against older builds.
func BenchmarkForwardSynthetic300(b *testing.B) {
	brain := synth.Generate(300, 1)
	ns := make([]*scoring.Neuron, len(brain))
	for i, d := range brain {
		var err error
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			b.Fatal(err)
		}
	}
	benchForwardOn(b, ns, 1)
}

// BenchmarkForwardSynthetic1000Auto is a dense forward all-by-all of the
// first 1,000 neurons of synth.Generate(1500, 1), one core, normalised,
// with navis' max_dist="auto" (42 µm for FCWB): most pairs are far apart
// (no search), the rest mostly far leaves.
func BenchmarkForwardSynthetic1000Auto(b *testing.B) {
	benchForwardOpt(b, synth1000(b), scoring.Options{Normalized: true, Workers: 1, MaxDist: scoring.FCWB().AutoMaxDist()})
}

// BenchmarkForwardSynthetic1000Exact is the same with the exact, unbounded
// search, for the ratio of the two (about 20 s per iteration).
func BenchmarkForwardSynthetic1000Exact(b *testing.B) {
	benchForwardOpt(b, synth1000(b), scoring.Options{Normalized: true, Workers: 1})
}

// synth1000 prepares the first 1,000 neurons of synth.Generate(1500, 1).
func synth1000(b *testing.B) []*scoring.Neuron {
	brain := synth.Generate(1500, 1)[:1000]
	ns := make([]*scoring.Neuron, len(brain))
	for i, d := range brain {
		var err error
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			b.Fatal(err)
		}
	}
	return ns
}

// BenchmarkForwardGolden is the same over the 17 golden synthetic neurons.
func BenchmarkForwardGolden(b *testing.B) { benchForward(b, reference.Sets[0], 1) }

// BenchmarkForwardExamplesAllCores runs the block on every core.
func BenchmarkForwardExamplesAllCores(b *testing.B) { benchForward(b, reference.Sets[1], 0) }

// BenchmarkGonumExamples does the same work as BenchmarkForwardExamples with
// gonum's kd-tree for the nearest-neighbour search, for comparison.
func BenchmarkGonumExamples(b *testing.B) {
	dps, err := reference.LoadDotpropsCSV(reference.Dir(b)+"/"+reference.Sets[1].Dotprops, true)
	if err != nil {
		b.Fatal(err)
	}
	trees := make([]*kdtree.Tree, len(dps))
	for ti, d := range dps {
		pts := make(gonumPoints, len(d.Points))
		for i, p := range d.Points {
			pts[i] = gonumPoint{p: kdtree.Point{p[0], p[1], p[2]}, i: i}
		}
		trees[ti] = kdtree.New(pts, false)
	}
	m := scoring.FCWB()
	var points int
	for _, d := range dps {
		points += d.Len() * len(dps)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var sink float64
	for b.Loop() {
		for _, q := range dps {
			for ti, t := range dps {
				for i, p := range q.Points {
					c, d2 := trees[ti].Nearest(gonumPoint{p: kdtree.Point{p[0], p[1], p[2]}})
					j := c.(gonumPoint).i
					v, w := q.Vectors[i], t.Vectors[j]
					sink += m.Score(math.Sqrt(d2), math.Abs(v[0]*w[0]+v[1]*w[1]+v[2]*w[2]))
				}
			}
		}
	}
	_ = sink
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*points), "ns/point")
}

// gonumPoint is a kdtree.Comparable that remembers its index.
type gonumPoint struct {
	p kdtree.Point
	i int
}

func (g gonumPoint) Compare(c kdtree.Comparable, d kdtree.Dim) float64 {
	return g.p.Compare(c.(gonumPoint).p, d)
}
func (g gonumPoint) Dims() int                            { return 3 }
func (g gonumPoint) Distance(c kdtree.Comparable) float64 { return g.p.Distance(c.(gonumPoint).p) }

type gonumPoints []gonumPoint

func (p gonumPoints) Index(i int) kdtree.Comparable         { return p[i] }
func (p gonumPoints) Len() int                              { return len(p) }
func (p gonumPoints) Slice(start, end int) kdtree.Interface { return p[start:end] }
func (p gonumPoints) Pivot(d kdtree.Dim) int {
	pl := gonumPlane{p, d}
	return kdtree.Partition(pl, kdtree.MedianOfMedians(pl))
}

// gonumPlane sorts gonumPoints along one dimension, as kdtree.Plane does.
type gonumPlane struct {
	gonumPoints
	dim kdtree.Dim
}

func (p gonumPlane) Less(i, j int) bool { return p.gonumPoints[i].p[p.dim] < p.gonumPoints[j].p[p.dim] }
func (p gonumPlane) Slice(start, end int) kdtree.SortSlicer {
	return gonumPlane{p.gonumPoints[start:end], p.dim}
}
func (p gonumPlane) Swap(i, j int) {
	p.gonumPoints[i], p.gonumPoints[j] = p.gonumPoints[j], p.gonumPoints[i]
}

// BenchmarkUpperBound measures the pruning bound over all ordered pairs of
// the golden set.
func BenchmarkUpperBound(b *testing.B) {
	ns := loadSet(b, reference.Sets[0])
	s, _ := scoring.NewScorer(scoring.Options{Normalized: true})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, q := range ns {
			for _, t := range ns {
				_ = s.UpperBound(scoring.Forward, q, t)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(ns)*len(ns)), "ns/pair")
}

// BenchmarkNewNeuronExamples prepares navis' 5 example neurons (validation,
// kd-tree, blocks, wide nodes, bound groups) and reports the time and the
// bytes allocated per point (what stays allocated is a little less: the
// build's scratch is freed).
func BenchmarkNewNeuronExamples(b *testing.B) {
	dps, err := reference.LoadDotpropsCSV(reference.Dir(b)+"/"+reference.Sets[1].Dotprops, true)
	if err != nil {
		b.Fatal(err)
	}
	var points int
	for _, d := range dps {
		points += d.Len()
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		for _, d := range dps {
			if _, err := scoring.NewNeuron(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*points), "ns/point")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N*points), "B/point")
}
