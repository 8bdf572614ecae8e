package scoring

import (
	"fmt"
	"math"
	"sort"
)

// Matrix is an NBLAST scoring matrix: a score for each (distance bin, |dot|
// bin) cell.
//
// Bins are right-closed intervals (lo, hi], as in navis: a value exactly on an
// edge belongs to the lower bin. The outermost edges act as −∞ and +∞: values
// outside them clip into the end bins (FCWB's last distance row, labelled
// (40,500], covers (40, ∞)).
type Matrix struct {
	// Name describes the table ("fcwb", "alpha_fcwb", or the CSV's path).
	Name string
	// DistEdges are the distance bin edges in µm, strictly increasing,
	// len = number of distance bins + 1.
	DistEdges []float64
	// DotEdges are the |dot| bin edges, strictly increasing,
	// len = number of dot bins + 1.
	DotEdges []float64
	// Cells holds the scores row-major: Cells[i*nDot+j] for distance bin i and
	// dot bin j.
	Cells []float64

	dist, dot binner
	nDot      int
	fast      bool // neither binner's table is capped
	// dist2 bins squared distances: each of its edges is the largest
	// float64 whose square root (correctly rounded) is at most the
	// distance edge, so dist2.bin(d2) == dist.bin(math.Sqrt(d2)) for every
	// d2 >= 0. fast2: its table is not capped and every edge is >= 0.
	dist2 binner
	fast2 bool
}

// NewMatrix checks the edges and cells and prepares the fast bin lookups.
func NewMatrix(name string, distEdges, dotEdges, cells []float64) (*Matrix, error) {
	if err := checkEdges(distEdges); err != nil {
		return nil, fmt.Errorf("scoring matrix %s: distance edges: %w", name, err)
	}
	if err := checkEdges(dotEdges); err != nil {
		return nil, fmt.Errorf("scoring matrix %s: dot edges: %w", name, err)
	}
	nd, nt := len(distEdges)-1, len(dotEdges)-1
	if len(cells) != nd*nt {
		return nil, fmt.Errorf("scoring matrix %s: %d cells for %d×%d bins", name, len(cells), nd, nt)
	}
	for i, c := range cells {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("scoring matrix %s: cell (%d,%d) is %v", name, i/nt, i%nt, c)
		}
	}
	m := &Matrix{
		Name:      name,
		DistEdges: append([]float64(nil), distEdges...),
		DotEdges:  append([]float64(nil), dotEdges...),
		Cells:     append([]float64(nil), cells...),
		nDot:      nt,
	}
	m.dist = newBinner(m.DistEdges)
	m.dot = newBinner(m.DotEdges)
	m.fast = !m.dist.capped && !m.dot.capped
	if m.DistEdges[0] >= 0 {
		e2 := make([]float64, len(m.DistEdges))
		for i, e := range m.DistEdges {
			e2[i] = sqrtFloorInv(e)
		}
		if checkEdges(e2) == nil {
			m.dist2 = newBinner(e2)
			m.fast2 = m.fast && !m.dist2.capped
		}
	}
	return m, nil
}

// sqrtFloorInv returns the largest float64 x with math.Sqrt(x) <= e (e >= 0).
func sqrtFloorInv(e float64) float64 {
	x := e * e
	for math.Sqrt(x) > e {
		x = math.Nextafter(x, 0)
	}
	for next := math.Nextafter(x, math.Inf(1)); math.Sqrt(next) <= e; next = math.Nextafter(x, math.Inf(1)) {
		x = next
	}
	return x
}

func checkEdges(e []float64) error {
	if len(e) < 2 {
		return fmt.Errorf("need at least 2 edges, got %d", len(e))
	}
	for i, v := range e {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("edge %d is %v", i, v)
		}
		if i > 0 && !(v > e[i-1]) {
			return fmt.Errorf("edges not strictly increasing at %v, %v", e[i-1], v)
		}
	}
	return nil
}

// DistBins and DotBins are the table's dimensions.
func (m *Matrix) DistBins() int { return len(m.DistEdges) - 1 }

// DotBins is the number of |dot| bins (columns).
func (m *Matrix) DotBins() int { return m.nDot }

// DistBin returns the distance row of d (right-closed bins, clipped).
func (m *Matrix) DistBin(d float64) int { return m.dist.bin(d) }

// DotBin returns the |dot| column of dot (right-closed bins, clipped).
func (m *Matrix) DotBin(dot float64) int { return m.dot.bin(dot) }

// Score returns the cell for distance d (µm) and |dot| product dot. Inputs
// must not be NaN (the kernel never produces NaN from validated dotprops).
func (m *Matrix) Score(d, dot float64) float64 {
	if m.fast && d >= 0 && dot >= 0 {
		return m.Cells[m.dist.binFast(d)*m.nDot+m.dot.binFast(dot)]
	}
	return m.Cells[m.dist.bin(d)*m.nDot+m.dot.bin(dot)]
}

// AutoMaxDist is navis' max_dist="auto": the last finite distance edge (the
// largest inner edge; the outer one stands for +∞) times 1.05. 42 µm for FCWB.
func (m *Matrix) AutoMaxDist() float64 {
	e := m.DistEdges
	if len(e) < 3 {
		return e[len(e)-1] * 1.05
	}
	return e[len(e)-2] * 1.05
}

// binner maps a value to its right-closed bin in O(1): a table over uniform
// cells gives a guess that is corrected by comparing with the real edges, so
// the result is exact at every edge. Cells are at most half the narrowest
// bin, so a guess is off by at most one and one branch-free step corrects it
// (a table capped at 1<<16 cells may need more: settle).
type binner struct {
	inner []float64 // the inner edges; bin(v) = #{e in inner : e < v}
	// ext is inner between -Inf and +Inf: bin(v) = i exactly when
	// ext[i] < v <= ext[i+1].
	ext    []float64
	lo     float64
	invH   float64
	maxF   float64
	table  []uint16
	capped bool // the table hit its size limit: guesses may be further off
}

func newBinner(edges []float64) binner {
	b := binner{inner: edges[1 : len(edges)-1]}
	b.ext = append(append([]float64{math.Inf(-1)}, b.inner...), math.Inf(1))
	if len(b.inner) == 0 { // one bin: every value maps to cell 0
		b.invH, b.table = 1, []uint16{0}
		return b
	}
	// The table starts at 0 or below, so that binFast of any v >= 0 needs
	// no lower clamp.
	lo, hi := math.Min(edges[0], 0), edges[len(edges)-2]
	gap := math.Inf(1)
	for i := 1; i < len(edges)-1; i++ {
		gap = math.Min(gap, edges[i]-edges[i-1])
	}
	n := int(math.Ceil((hi-lo)/(gap/2))) + 2
	if n > 1<<16 {
		n, b.capped = 1<<16, true
	}
	b.lo = lo
	b.invH = float64(n-1) / (hi - lo)
	b.maxF = float64(n - 1)
	b.table = make([]uint16, n)
	for k := range b.table {
		v := lo + float64(k)/b.invH
		b.table[k] = uint16(sort.SearchFloat64s(b.inner, v)) // #{e < v}
	}
	return b
}

func (b *binner) bin(v float64) int {
	if !(v >= b.lo) { // below the table (and every inner edge)
		return 0
	}
	i := b.binFast(v)
	for v > b.ext[i+1] { // only on a capped table
		i++
	}
	for v <= b.ext[i] {
		i--
	}
	return i
}

// binFast is bin for v >= 0 on a table that is not capped.
func (b *binner) binFast(v float64) int {
	f := min((v-b.lo)*b.invH, b.maxF)
	i := int(b.table[int(f)])
	return i + b2i(v > b.ext[i+1]) - b2i(v <= b.ext[i])
}

// b2i is 1 for true and 0 for false, without a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

var (
	builtinFCWB      = mustMatrix("fcwb", fcwbDistEdges, fcwbDotEdges, fcwbCells)
	builtinAlphaFCWB = mustMatrix("alpha_fcwb", alphaFCWBDistEdges, alphaFCWBDotEdges, alphaFCWBCells)
)

func mustMatrix(name string, dist, dot, cells []float64) *Matrix {
	m, err := NewMatrix(name, dist, dot, cells)
	if err != nil {
		panic(err)
	}
	return m
}

// FCWB is navis' default scoring matrix (smat_fcwb), for µm coordinates.
// The returned matrix is shared: do not modify it.
func FCWB() *Matrix { return builtinFCWB }

// AlphaFCWB is navis' scoring matrix for use_alpha (smat_alpha_fcwb).
// The returned matrix is shared: do not modify it.
func AlphaFCWB() *Matrix { return builtinAlphaFCWB }
