package cluster_test

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/nblast-go/nblast/cluster"
)

// synthKNN is a synthetic k-nearest-neighbour score graph shaped like a
// top-k output of runner synth's brain: n neurons in cell types of 5 to
// 20, each neuron's k best targets its own type's other members (score
// 0.4–0.8) filled up with random other neurons (0–0.3), in both
// directions as a top-k output lists them. It returns the types.
func synthKNN(n, k int, seed uint64, add func(q, t int, s float64)) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	types := make([]int, n)
	var start []int
	for i, t := 0, 0; i < n; t++ {
		size := 5 + rng.IntN(16)
		start = append(start, i)
		for j := 0; j < size && i < n; j++ {
			types[i] = t
			i++
		}
	}
	start = append(start, n)
	for q := 0; q < n; q++ {
		t := types[q]
		got := 0
		for o := start[t]; o < start[t+1] && got < k; o++ {
			if o != q {
				add(q, o, 0.4+0.4*rng.Float64())
				got++
			}
		}
		for ; got < k; got++ {
			add(q, rng.IntN(n), 0.3*rng.Float64())
		}
	}
	return types
}

// BenchmarkGraph100k: Louvain on a synthetic 100k-neuron top-20 graph
// (2M directed scores): building the graph and modularising it; the ARI
// against the planted types is reported.
func BenchmarkGraph100k(b *testing.B) {
	const n, k = 100_000, 20
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		e := cluster.NewEdges(n)
		types := synthKNN(n, k, 1, e.Add)
		g, m := e.Graph()
		e = nil
		runtime.GC()
		t1 := time.Now()
		labels, q, err := cluster.Louvain(g, n, 1, 1)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(t1.Sub(t0).Seconds(), "build-s")
		b.ReportMetric(t2.Sub(t1).Seconds(), "louvain-s")
		b.ReportMetric(float64(m), "edges")
		b.ReportMetric(float64(cluster.NumClusters(labels)), "communities")
		b.ReportMetric(q, "modularity")
		b.ReportMetric(cluster.AdjustedRand(labels, types), "ARI")
		b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
	}
}

// BenchmarkLinkage10k: ward and average linkage of 10k points (random
// distances; 50M-value condensed matrix, 400 MB).
func BenchmarkLinkage10k(b *testing.B) {
	const n = 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	d0 := make([]float64, cluster.CondensedLen(n))
	for i := range d0 {
		d0[i] = rng.Float64()
	}
	d := make([]float64, len(d0))
	for _, m := range []cluster.Method{cluster.Ward, cluster.Average, cluster.Single} {
		b.Run(string(m), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				copy(d, d0)
				if _, err := cluster.Linkage(d, n, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
