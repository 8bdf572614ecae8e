package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cellCase is a random group for the cell kernels: 8 query tangents, a
// target's tangents, each point's neighbour (some -1) and squared distance,
// many of them exactly on a bin edge or next to one.
type cellCase struct {
	qv, tv [][3]float64
	n      int
	near   [blockSize]int32
	d2     [blockSize]float64
}

func randomCellCases(rng *rand.Rand, m *Matrix, count int) []cellCase {
	unit := func() [3]float64 {
		v := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		l := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		return [3]float64{v[0] / l, v[1] / l, v[2] / l}
	}
	var cs []cellCase
	for range count {
		c := cellCase{n: 1 + rng.IntN(blockSize)}
		for range blockSize {
			c.qv = append(c.qv, unit())
		}
		for range 1 + rng.IntN(40) {
			c.tv = append(c.tv, unit())
		}
		// A target tangent equal to a query tangent, or to an axis,
		// puts |dot| on the edge 1 or near others.
		c.tv[0] = c.qv[0]
		c.tv[len(c.tv)-1] = [3]float64{1, 0, 0}
		for k := range blockSize {
			c.near[k] = int32(rng.IntN(len(c.tv)+1)) - 1
			e := m.dist2.inner[rng.IntN(len(m.dist2.inner))]
			switch rng.IntN(5) {
			case 0:
				c.d2[k] = e
			case 1:
				c.d2[k] = math.Nextafter(e, 0)
			case 2:
				c.d2[k] = math.Nextafter(e, math.Inf(1))
			case 3:
				c.d2[k] = rng.Float64() * 3000
			default:
				c.d2[k] = float64(rng.IntN(3))
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// The counting kernel's Go twin gives Matrix.Score's cells.
func TestCells8GoMatchesScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []*Matrix{FCWB(), AlphaFCWB()} {
		tab, ok := newCellTable(m, -7)
		if !ok {
			t.Fatalf("%s: no cell table", m.Name)
		}
		for i, c := range randomCellCases(rng, m, 2000) {
			var out [blockSize]float64
			cells8Go(c.qv, c.n, c.tv, &c.near, &c.d2, &tab, &out)
			for k := range blockSize {
				want := -7.0
				if j := c.near[k]; k < c.n && j >= 0 {
					want = m.Score(math.Sqrt(c.d2[k]), absDot(&c.qv[k], &c.tv[j]))
				}
				if out[k] != want {
					t.Fatalf("%s case %d point %d: cell %v, want %v", m.Name, i, k, out[k], want)
				}
			}
		}
	}
}

// A matrix with many edges, or none at 0 and above for distances, has no
// cell table.
func TestCellTableApplies(t *testing.T) {
	many := make([]float64, 80)
	for i := range many {
		many[i] = float64(i)
	}
	for _, c := range []struct {
		name      string
		dist, dot []float64
		want      bool
	}{
		{"fcwb-like", []float64{0, 1, 2, 500}, []float64{0, 0.5, 1}, true},
		{"negative distance edge", []float64{-1, 1, 2, 500}, []float64{0, 0.5, 1}, false},
		{"too many edges", many, []float64{0, 0.5, 1}, false},
	} {
		cells := make([]float64, (len(c.dist)-1)*(len(c.dot)-1))
		m, err := NewMatrix(c.name, c.dist, c.dot, cells)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := newCellTable(m, 0); ok != c.want {
			t.Errorf("%s: cell table %v, want %v", c.name, ok, c.want)
		}
	}
}
