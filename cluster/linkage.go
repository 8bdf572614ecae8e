// Package cluster clusters neurons from NBLAST scores: hierarchical
// (agglomerative) clustering as scipy.cluster.hierarchy.linkage and
// fcluster compute it, which is what navis.nbl.make_clusters wraps, and
// graph (Louvain) community detection on a sparse score graph, for
// outputs too large for a dense matrix.
//
// Hierarchical clustering works on a condensed distance matrix (scipy's
// layout: the upper triangle, row by row, n(n−1)/2 float64 values) and
// needs O(n²) memory and time: 8·n(n−1)/2 bytes for the matrix (10k
// neurons: 400 MB; 20k: 1.6 GB), which the ward, average and complete
// linkages overwrite in place, and O(n²) distance updates (the
// nearest-neighbour chain algorithm; the minimum spanning tree for single
// linkage), as scipy does.
package cluster

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Method is a linkage method.
type Method string

const (
	Ward     Method = "ward"
	Average  Method = "average"
	Single   Method = "single"
	Complete Method = "complete"
)

// Methods are the linkage methods supported.
var Methods = []Method{Ward, Average, Single, Complete}

// ParseMethod checks a linkage method's name.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("linkage %q: want ward, average, single or complete", s)
}

// Merge is one row of a linkage matrix, scipy's Z layout: clusters A < B
// (leaf i < n; n+k is the cluster formed in row k) merged at Distance into
// a cluster of Size leaves.
type Merge struct {
	A, B     int
	Distance float64
	Size     int
}

// CondensedLen is the length of the condensed matrix of n points.
func CondensedLen(n int) int { return n * (n - 1) / 2 }

// CondensedIndex is the position of pair (i, j), i != j, in a condensed
// matrix of n points (scipy's condensed_index).
func CondensedIndex(n, i, j int) int {
	if i > j {
		i, j = j, i
	}
	return n*i - i*(i+1)/2 + (j - i - 1)
}

// Linkage clusters n points from their condensed distance matrix d
// (overwritten, except for single linkage) as scipy.cluster.hierarchy.
// linkage(d, method) does: the same merges, distances (to rounding: the
// same update formulas in the same order) and row order (sorted by
// distance, stably), and the same cluster numbering.
func Linkage(d []float64, n int, method Method) ([]Merge, error) {
	if n < 2 {
		return nil, fmt.Errorf("linkage needs at least 2 points, got %d", n)
	}
	if len(d) != CondensedLen(n) {
		return nil, fmt.Errorf("condensed matrix of %d points has %d values, want %d", n, len(d), CondensedLen(n))
	}
	for i, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("distance %d of the condensed matrix is %v: distances must be finite", i, v)
		}
	}
	var z []Merge
	switch method {
	case Single:
		z = mstSingle(d, n)
	case Ward, Average, Complete:
		z = nnChain(d, n, method)
	default:
		return nil, fmt.Errorf("linkage method %q not supported", method)
	}
	sort.SliceStable(z, func(a, b int) bool { return z[a].Distance < z[b].Distance })
	label(z, n)
	return z, nil
}

// nnChain is scipy's nn_chain (Müllner's nearest-neighbour chain).
func nnChain(d []float64, n int, method Method) []Merge {
	z := make([]Merge, n-1)
	size := make([]int, n)
	for i := range size {
		size[i] = 1
	}
	chain := make([]int, n)
	length := 0
	for k := 0; k < n-1; k++ {
		if length == 0 {
			length = 1
			for i := 0; i < n; i++ {
				if size[i] > 0 {
					chain[0] = i
					break
				}
			}
		}
		var x, y int
		var cur float64
		for {
			x = chain[length-1]
			// Prefer the previous element of the chain, to avoid cycles.
			if length > 1 {
				y = chain[length-2]
				cur = d[CondensedIndex(n, x, y)]
			} else {
				cur = math.Inf(1)
			}
			for i := 0; i < n; i++ {
				if size[i] == 0 || i == x {
					continue
				}
				if v := d[CondensedIndex(n, x, i)]; v < cur {
					cur, y = v, i
				}
			}
			if length > 1 && y == chain[length-2] {
				break
			}
			chain[length] = y
			length++
		}
		length -= 2
		if x > y {
			x, y = y, x
		}
		nx, ny := size[x], size[y]
		z[k] = Merge{A: x, B: y, Distance: cur, Size: nx + ny}
		size[x] = 0
		size[y] = nx + ny
		for i := 0; i < n; i++ {
			ni := size[i]
			if ni == 0 || i == y {
				continue
			}
			ix, iy := CondensedIndex(n, i, x), CondensedIndex(n, i, y)
			d[iy] = newDist(method, d[ix], d[iy], cur, nx, ny, ni)
		}
	}
	return z
}

// newDist is the Lance–Williams update of scipy's linkage_methods.
func newDist(m Method, dxi, dyi, dxy float64, nx, ny, ni int) float64 {
	switch m {
	case Complete:
		return math.Max(dxi, dyi)
	case Average:
		return (float64(nx)*dxi + float64(ny)*dyi) / float64(nx+ny)
	default: // Ward
		t := 1.0 / float64(nx+ny+ni)
		return math.Sqrt(float64(ni+nx)*t*dxi*dxi + float64(ni+ny)*t*dyi*dyi - float64(ni)*t*dxy*dxy)
	}
}

// mstSingle is scipy's mst_single_linkage (Prim's algorithm on the
// complete graph).
func mstSingle(d []float64, n int) []Merge {
	z := make([]Merge, n-1)
	merged := make([]bool, n)
	best := make([]float64, n)
	for i := range best {
		best[i] = math.Inf(1)
	}
	x, y := 0, 0
	for k := 0; k < n-1; k++ {
		cur := math.Inf(1)
		merged[x] = true
		for i := 0; i < n; i++ {
			if merged[i] {
				continue
			}
			if v := d[CondensedIndex(n, x, i)]; best[i] > v {
				best[i] = v
			}
			if best[i] < cur {
				y, cur = i, best[i]
			}
		}
		z[k] = Merge{A: x, B: y, Distance: cur}
		x = y
	}
	return z
}

// label renumbers the merges of sorted z as scipy's label does (a
// union-find: each row's clusters are the current roots of its points,
// smaller first) and sets the sizes.
func label(z []Merge, n int) {
	parent := make([]int, 2*n-1)
	size := make([]int, 2*n-1)
	for i := range parent {
		parent[i], size[i] = i, 1
	}
	find := func(x int) int {
		r := x
		for parent[r] != r {
			r = parent[r]
		}
		for parent[x] != r {
			parent[x], x = r, parent[x]
		}
		return r
	}
	next := n
	for i := range z {
		a, b := find(z[i].A), find(z[i].B)
		if a > b {
			a, b = b, a
		}
		z[i].A, z[i].B = a, b
		parent[a], parent[b] = next, next
		size[next] = size[a] + size[b]
		z[i].Size = size[next]
		next++
	}
}

// maxDists is, for each row of z, the largest merge distance in its
// subtree (scipy's get_max_dist_for_each_cluster).
func maxDists(z []Merge, n int) []float64 {
	md := make([]float64, len(z))
	for i, m := range z {
		v := m.Distance
		for _, c := range []int{m.A, m.B} {
			if c >= n {
				v = math.Max(v, md[c-n])
			}
		}
		md[i] = v
	}
	return md
}

// monocrit assigns flat clusters as scipy's cluster_monocrit: every
// maximal subtree whose mc is <= cutoff is one cluster, every other leaf
// its own; labels 1, 2, ... in scipy's depth-first order.
func monocrit(z []Merge, mc []float64, cutoff float64, n int) []int {
	t := make([]int, n)
	visited := make([]bool, 2*n-1)
	stack := make([]int, 0, n)
	stack = append(stack, 2*n-2)
	nc, leader := 0, -1
	for len(stack) > 0 {
		root := stack[len(stack)-1] - n
		lc, rc := z[root].A, z[root].B
		if leader == -1 && mc[root] <= cutoff {
			leader = root
			nc++
		}
		if lc >= n && !visited[lc] {
			visited[lc] = true
			stack = append(stack, lc)
			continue
		}
		if rc >= n && !visited[rc] {
			visited[rc] = true
			stack = append(stack, rc)
			continue
		}
		if lc < n {
			if leader == -1 {
				nc++
			}
			t[lc] = nc
		}
		if rc < n {
			if leader == -1 {
				nc++
			}
			t[rc] = nc
		}
		if leader == root {
			leader = -1
		}
		stack = stack[:len(stack)-1]
	}
	return t
}

// FclusterDistance is scipy's fcluster(Z, t, criterion="distance"): flat
// clusters whose points have a cophenetic distance of at most t.
func FclusterDistance(z []Merge, n int, t float64) []int {
	if n == 1 {
		return []int{1}
	}
	return monocrit(z, maxDists(z, n), t, n)
}

// FclusterMaxclust is scipy's fcluster(Z, k, criterion="maxclust"): the
// lowest cut (among the merge heights) giving at most k flat clusters.
func FclusterMaxclust(z []Merge, n, k int) []int {
	if n == 1 {
		return []int{1}
	}
	md := maxDists(z, n)
	// The number of clusters at cutoff md[i]: n minus the merges at or
	// below it (md grows towards the root, so those merges form subtrees).
	count := func(cut float64) int {
		m := 0
		for _, v := range md {
			if v <= cut {
				m++
			}
		}
		return n - m
	}
	// scipy's bisection over the rows (md is sorted for monotone
	// linkages), quirks included: row 0 is never tried, so k >= n−1 gives
	// the cut at row 1 (n−2 clusters, as scipy 1.10); where scipy reads
	// past the end of its array (k = 1, or n = 2) we cut at +Inf.
	lo, hi := 0, n-1
	for hi-lo > 1 {
		i := (lo + hi) >> 1
		if count(md[i]) > k {
			lo = i
		} else {
			hi = i
		}
	}
	cut := math.Inf(1)
	if hi < len(md) {
		cut = md[hi]
	}
	return monocrit(z, md, cut, n)
}

// Condensed builds the condensed distance matrix 1 − s from a square
// score matrix given row by row (row(i) returns row i, length n), as
// navis.nbl.make_linkage does: symmetrised to the mean, (s_ij + s_ji)/2,
// which leaves a symmetric matrix as it is.
func Condensed(n int, row func(i int) ([]float64, error)) ([]float64, error) {
	d := make([]float64, CondensedLen(n))
	// Row i stores s_ij (j > i), then turns s_ji (j < i, stored by row j)
	// into 1 − (s_ji + s_ij)/2: each row is read once.
	for i := 0; i < n; i++ {
		r, err := row(i)
		if err != nil {
			return nil, err
		}
		if len(r) != n {
			return nil, fmt.Errorf("row %d has %d values, want %d", i, len(r), n)
		}
		base := CondensedIndex(n, i, min(i+1, n-1))
		if i < n-1 {
			copy(d[base:base+n-1-i], r[i+1:])
		}
		for j := 0; j < i; j++ {
			k := CondensedIndex(n, j, i)
			d[k] = 1 - (d[k]+r[j])/2
		}
	}
	return d, nil
}

// Renumber maps labels to 1, 2, ... in order of first appearance.
func Renumber(labels []int) []int {
	m := map[int]int{}
	out := make([]int, len(labels))
	for i, l := range labels {
		v, ok := m[l]
		if !ok {
			v = len(m) + 1
			m[l] = v
		}
		out[i] = v
	}
	return out
}

// NumClusters is the number of distinct labels.
func NumClusters(labels []int) int {
	s := slices.Clone(labels)
	slices.Sort(s)
	return len(slices.Compact(s))
}
