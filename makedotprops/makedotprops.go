package makedotprops

import (
	"errors"
	"fmt"
	"math"

	"github.com/nblast-go/nblast/scoring"
)

// ErrNoPoints is returned (wrapped) by MakeDotprops when nothing is left to
// make dotprops from: no finite points, or every point dropped as a
// duplicate.
var ErrNoPoints = errors.New("no points")

// MakeDotprops turns a point cloud (µm) into dotprops with the semantics of
// navis.make_dotprops(points, k) (navis 1.12; nat.nblast's dotprops agrees):
//
//   - rows with a NaN coordinate are dropped (±Inf is an error);
//   - each remaining point takes its k nearest neighbours, itself included,
//     exactly as scipy's cKDTree(points).query(points, k) returns them
//     (see ckdtree.go; k is reduced to the number of points when there are
//     fewer, as navis does with a warning);
//   - the neighbours are centred on their mean, S = CᵀC (3×3 scatter
//     matrix, µm²), and with its eigenvalues l1 ≥ l2 ≥ l3 the point's tangent
//     is the unit eigenvector of l1 (sign arbitrary) and its alpha is
//     (l1 − l2) / (l1 + l2 + l3), in [0, 1];
//   - a point whose k neighbours all lie at distance 0 (k or more copies of
//     one coordinate) is dropped.
//
// Kept points are returned unchanged (copied) and in input order, with
// Alpha set. The result passes Validate. points is not modified.
//
// Errors: k < 1; a non-finite (±Inf) coordinate; fewer than 2 finite points
// (navis fails on 1 point with numpy's AxisError and on 0 with ValueError);
// and an empty result (every point a duplicate; navis returns empty
// dotprops, on which nblast then fails), which wraps ErrNoPoints.
//
// Deviation from navis 1.12: when duplicates are dropped, navis subtracts the
// number of dropped points from every neighbour index, so the remaining
// points get the tangents of wrong neighbourhoods (the "dup5" case of the
// reference data). That bug is not reproduced: every kept point's tangent
// and alpha come from its true k nearest neighbours among all finite input
// points (the dropped duplicates included, as nat.nblast computes them).
//
// Ties: when the k-th and (k+1)-th nearest neighbours are at exactly the
// same distance (common on grid-aligned data such as skeleton nodes in
// voxel units), the neighbour kept is the one scipy keeps (scipy 1.10 as
// built on Linux; see ckdtree.go), so tangents and alpha equal navis'
// there too; distances are summed as scipy sums them, so near-ties resolve
// as in navis as well. The tangent and alpha then differ from navis'
// (numpy's SVD) only by the eigensolvers' rounding, ~1e-15; where l1 = l2
// the tangent is any unit vector of that eigenspace, in navis too.
func MakeDotprops(id scoring.ID, points [][3]float64, k int) (*scoring.Dotprops, error) {
	if k < 1 {
		return nil, fmt.Errorf("make dotprops for neuron %s: k must be >= 1, got %d", id, k)
	}
	// Drop NaN rows, as navis does before building its tree.
	src := make([]int32, 0, len(points)) // input index of each finite point
	pts := make([][3]float64, 0, len(points))
	for i, p := range points {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsNaN(p[2]) {
			continue
		}
		if math.IsInf(p[0], 0) || math.IsInf(p[1], 0) || math.IsInf(p[2], 0) {
			return nil, fmt.Errorf("make dotprops for neuron %s: point %d has an infinite coordinate (%v, %v, %v)", id, i, p[0], p[1], p[2])
		}
		src = append(src, int32(i))
		pts = append(pts, p)
	}
	n := len(pts)
	switch n {
	case 0:
		return nil, fmt.Errorf("make dotprops for neuron %s: %w (%d input rows, none without NaN)", id, ErrNoPoints, len(points))
	case 1:
		return nil, fmt.Errorf("make dotprops for neuron %s: only 1 point: tangents need at least 2 (navis fails the same way)", id)
	}
	k = min(k, n)

	tree := newKDTree(pts)
	s := searcher{t: tree}
	vecs := make([][3]float64, n) // by finite point
	alpha := make([]float64, n)
	keep := make([]bool, n)
	kept := 0
	nb := make([]neighbour, k)
	// Queries are independent: take them in tree order, where consecutive
	// points are near each other.
	for _, j := range tree.idx {
		s.knn(&pts[j], nb)
		if nb[k-1].d2 == 0 {
			continue // all k neighbours are copies of this point: dropped
		}
		vecs[j], alpha[j] = tangent(pts, nb)
		keep[j] = true
		kept++
	}
	if kept == 0 {
		return nil, fmt.Errorf("make dotprops for neuron %s: %w: all %d points have their %d nearest neighbours at distance 0 (duplicate coordinates)", id, ErrNoPoints, n, k)
	}
	d := &scoring.Dotprops{
		ID:      id,
		Points:  make([][3]float64, 0, kept),
		Vectors: make([][3]float64, 0, kept),
		Alpha:   make([]float64, 0, kept),
	}
	for j := range n {
		if keep[j] {
			d.Points = append(d.Points, points[src[j]])
			d.Vectors = append(d.Vectors, vecs[j])
			d.Alpha = append(d.Alpha, alpha[j])
		}
	}
	return d, nil
}

// tangent returns the principal direction (unit vector) and alpha of the
// points pts[nb[·].i]: the eigenvector of the largest eigenvalue of their
// scatter matrix about their mean, and (l1 − l2)/(l1 + l2 + l3). The mean is
// summed in neighbour order and divided by k, as numpy's mean does.
func tangent(pts [][3]float64, nb []neighbour) ([3]float64, float64) {
	var c [3]float64
	for _, e := range nb {
		p := &pts[e.i]
		c[0] += p[0]
		c[1] += p[1]
		c[2] += p[2]
	}
	k := float64(len(nb))
	c[0], c[1], c[2] = c[0]/k, c[1]/k, c[2]/k
	var s [3][3]float64
	for _, e := range nb {
		p := &pts[e.i]
		x, y, z := p[0]-c[0], p[1]-c[1], p[2]-c[2]
		s[0][0] += x * x
		s[0][1] += x * y
		s[0][2] += x * z
		s[1][1] += y * y
		s[1][2] += y * z
		s[2][2] += z * z
	}
	s[1][0], s[2][0], s[2][1] = s[0][1], s[0][2], s[1][2]
	l, v := eigSym3(s)
	return v, (l[0] - l[1]) / (l[0] + l[1] + l[2])
}

// eigSym3 diagonalises the symmetric 3×3 matrix a by cyclic Jacobi rotations
// (accurate to a few ulps of the largest eigenvalue, and the eigenvectors to
// ~1e-16 divided by the relative eigenvalue gap). It returns the absolute
// values of the eigenvalues in descending order (for a positive
// semi-definite matrix: its singular values, as numpy's SVD returns them)
// and the unit eigenvector of the largest.
func eigSym3(a [3][3]float64) ([3]float64, [3]float64) {
	v := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	pairs := [3][2]int{{0, 1}, {0, 2}, {1, 2}}
	for sweep := 0; sweep < 50; sweep++ {
		if a[0][1] == 0 && a[0][2] == 0 && a[1][2] == 0 {
			break
		}
		for _, pq := range pairs {
			p, q := pq[0], pq[1]
			apq := a[p][q]
			if apq == 0 {
				continue
			}
			g := 100 * math.Abs(apq)
			// Once the off-diagonal entry is negligible next to both
			// diagonal entries, zero it (Numerical Recipes' jacobi).
			if math.Abs(a[p][p])+g == math.Abs(a[p][p]) && math.Abs(a[q][q])+g == math.Abs(a[q][q]) {
				a[p][q], a[q][p] = 0, 0
				continue
			}
			theta := (a[q][q] - a[p][p]) / (2 * apq)
			var t float64
			if math.Abs(theta) > 1e150 {
				t = 1 / (2 * theta)
			} else {
				t = 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
			}
			c := 1 / math.Sqrt(t*t+1)
			s := t * c
			a[p][p] -= t * apq
			a[q][q] += t * apq
			a[p][q], a[q][p] = 0, 0
			r := 3 - p - q // the third index
			arp, arq := a[r][p], a[r][q]
			a[r][p] = c*arp - s*arq
			a[p][r] = a[r][p]
			a[r][q] = s*arp + c*arq
			a[q][r] = a[r][q]
			for i := 0; i < 3; i++ {
				vip, viq := v[i][p], v[i][q]
				v[i][p] = c*vip - s*viq
				v[i][q] = s*vip + c*viq
			}
		}
	}
	l := [3]float64{math.Abs(a[0][0]), math.Abs(a[1][1]), math.Abs(a[2][2])}
	idx := [3]int{0, 1, 2}
	// Sort descending (3 elements).
	if l[idx[1]] > l[idx[0]] {
		idx[0], idx[1] = idx[1], idx[0]
	}
	if l[idx[2]] > l[idx[1]] {
		idx[1], idx[2] = idx[2], idx[1]
		if l[idx[1]] > l[idx[0]] {
			idx[0], idx[1] = idx[1], idx[0]
		}
	}
	m := idx[0]
	vec := [3]float64{v[0][m], v[1][m], v[2][m]}
	norm := math.Sqrt(vec[0]*vec[0] + vec[1]*vec[1] + vec[2]*vec[2])
	vec[0], vec[1], vec[2] = vec[0]/norm, vec[1]/norm, vec[2]/norm
	return [3]float64{l[idx[0]], l[idx[1]], l[idx[2]]}, vec
}
