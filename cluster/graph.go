package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
)

// Edges collects a score graph on n nodes (0..n-1) from directed scores:
// each unordered pair's weight is the mean of the directions given (one
// direction: that score); pairs whose weight is not > 0 (or NaN), and
// self-pairs, are dropped.
type Edges struct {
	n   int
	sum map[[2]int32]edgeAcc
}

type edgeAcc struct {
	sum   float64
	count int32
}

// NewEdges starts a graph on n nodes.
func NewEdges(n int) *Edges { return &Edges{n: n, sum: map[[2]int32]edgeAcc{}} }

// Add records score s from node i to node j (a pair given twice in the
// same direction counts twice).
func (e *Edges) Add(i, j int, s float64) {
	if i == j {
		return
	}
	if i > j {
		i, j = j, i
	}
	k := [2]int32{int32(i), int32(j)}
	a := e.sum[k]
	a.sum += s
	a.count++
	e.sum[k] = a
}

// Graph builds the weighted undirected graph (every node present, edges
// added in pair order, so the same input gives the same graph) and
// returns it with its number of edges.
func (e *Edges) Graph() (*simple.WeightedUndirectedGraph, int) {
	g := simple.NewWeightedUndirectedGraph(0, 0)
	for i := 0; i < e.n; i++ {
		g.AddNode(simple.Node(i))
	}
	keys := make([][2]int32, 0, len(e.sum))
	for k := range e.sum {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	m := 0
	for _, k := range keys {
		a := e.sum[k]
		w := a.sum / float64(a.count)
		if !(w > 0) || math.IsInf(w, 0) {
			continue
		}
		g.SetWeightedEdge(g.NewWeightedEdge(simple.Node(k[0]), simple.Node(k[1]), w))
		m++
	}
	return g, m
}

// Louvain finds communities of g (nodes 0..n-1) with gonum's Louvain
// modularisation at the given resolution, seeded: the same graph and seed
// give the same partition. Labels are 1, 2, ... in order of each
// community's first node; the modularity is community.Q of the
// partition.
func Louvain(g graph.Undirected, n int, resolution float64, seed uint64) (labels []int, modularity float64, err error) {
	if resolution <= 0 || math.IsNaN(resolution) {
		return nil, 0, fmt.Errorf("resolution %v: want > 0", resolution)
	}
	r := community.Modularize(g, resolution, rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	comms := r.Communities()
	raw := make([]int, n)
	for i := range raw {
		raw[i] = -1
	}
	for c, members := range comms {
		for _, v := range members {
			raw[v.ID()] = c
		}
	}
	for i, l := range raw {
		if l < 0 {
			return nil, 0, fmt.Errorf("node %d is in no community", i)
		}
	}
	return Renumber(raw), community.Q(g, comms, resolution), nil
}

// AdjustedRand is the adjusted Rand index of two partitions of the same
// points (Hubert & Arabie 1985): 1 for identical partitions (up to
// labels), about 0 for independent ones.
func AdjustedRand(a, b []int) float64 {
	if len(a) != len(b) {
		panic("AdjustedRand: partitions of different lengths")
	}
	n := len(a)
	type pair struct{ x, y int }
	nij := map[pair]int{}
	ai, bj := map[int]int{}, map[int]int{}
	for k := range a {
		nij[pair{a[k], b[k]}]++
		ai[a[k]]++
		bj[b[k]]++
	}
	c2 := func(m int) float64 { return float64(m) * float64(m-1) / 2 }
	var index, sa, sb float64
	for _, v := range nij {
		index += c2(v)
	}
	for _, v := range ai {
		sa += c2(v)
	}
	for _, v := range bj {
		sb += c2(v)
	}
	expected := sa * sb / c2(n)
	maxIndex := (sa + sb) / 2
	if maxIndex == expected { // both trivial (all one cluster, or all singletons)
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}
