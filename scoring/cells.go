package scoring

import "math"

// Vectorised scoring of a group: the cells of up to 8 query points against
// their nearest target points, found by counting edges instead of by the
// binners' tables. A value's right-closed bin is the number of inner edges
// below it (binner.bin), so a squared distance d2 lies in distance row
// #{e in dist2's inner edges : e < d2} and a |dot| in column #{e in dot's
// inner edges : e < dot}: the same cell as Matrix.Score(sqrt(d2), dot),
// with no table, no square root and no branch. The forward sum still adds
// the cells one by one in point order (scoreGroup8).

// cellTable is a Matrix's scoring data as cells8 reads it: the inner
// edges of the squared-distance and |dot| binners, each padded with +Inf
// (never below a value) to a multiple of cellUnroll, the cells, and
// smat(MaxDist, 0) for a point with no neighbour.
type cellTable struct {
	dist2 []float64 // squared-distance inner edges (µm²), padded
	dot   []float64 // |dot| inner edges, padded
	cells []float64 // Matrix.Cells, row-major
	nDot  int       // columns per distance row
	none  float64   // the cell of a point with no neighbour within MaxDist
}

// cellUnroll is the number of edges the kernel tests per loop step.
const cellUnroll = 4

// cellMaxEdges is the most inner edges (both binners together) for which
// counting is used; beyond it the binners' tables cost less.
const cellMaxEdges = 64

// newCellTable returns m's cellTable with none as the no-neighbour cell,
// and false when counting does not apply: m has no squared-distance binner
// (fast2) or too many edges.
func newCellTable(m *Matrix, none float64) (cellTable, bool) {
	if !m.fast2 || len(m.dist2.inner)+len(m.dot.inner) > cellMaxEdges {
		return cellTable{}, false
	}
	pad := func(e []float64) []float64 {
		p := append([]float64(nil), e...)
		for len(p)%cellUnroll != 0 {
			p = append(p, math.Inf(1))
		}
		return p
	}
	return cellTable{dist2: pad(m.dist2.inner), dot: pad(m.dot.inner), cells: m.Cells, nDot: m.nDot, none: none}, true
}

// cells8Go sets out[k], for the n <= 8 query points with tangents qv[:n],
// to the cell of point k against target point near[k] (tangent tv[near[k]])
// at squared distance d2[k], or to tab.none when near[k] < 0; out[k] for k
// >= n is tab.none. |dot| is absDot's.
func cells8Go(qv []([3]float64), n int, tv [][3]float64, near *[blockSize]int32, d2 *[blockSize]float64, tab *cellTable, out *[blockSize]float64) {
	for k := range blockSize {
		j := near[k]
		if k >= n || j < 0 {
			out[k] = tab.none
			continue
		}
		dot := absDot(&qv[k], &tv[j])
		i := 0
		for _, e := range tab.dist2 {
			if e < d2[k] {
				i += tab.nDot
			}
		}
		for _, e := range tab.dot {
			if e < dot {
				i++
			}
		}
		out[k] = tab.cells[i]
	}
}
