package makedotprops_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/makedotprops"
	"github.com/nblast-go/nblast/scoring"
)

// Tolerances of the reference data's README for make_dotprops.
const (
	mdVecTol   = 1e-9 // | |v·v_ref| − 1 |
	mdAlphaTol = 1e-9 // |alpha − alpha_ref|
)

// mdCloud is one neuron's input point cloud, in file order.
type mdCloud struct {
	id  string
	pts [][3]float64
}

// mdLoadPoints reads a points CSV (neuron_id,x,y,z); neurons in order of
// first appearance.
func mdLoadPoints(tb testing.TB, path string) []mdCloud {
	tb.Helper()
	var out []mdCloud
	at := map[string]int{}
	for r, rec := range reference.ReadCSV(tb, path)[1:] {
		var p [3]float64
		for k := range p {
			var err error
			if p[k], err = strconv.ParseFloat(rec[k+1], 64); err != nil {
				tb.Fatalf("%s:%d: %v", path, r+2, err)
			}
		}
		i, ok := at[rec[0]]
		if !ok {
			i = len(out)
			at[rec[0]] = i
			out = append(out, mdCloud{id: rec[0]})
		}
		out[i].pts = append(out[i].pts, p)
	}
	return out
}

// mdLoadDotprops reads a dotprops CSV into a map by id string, plus the ids
// in file order.
func mdLoadDotprops(tb testing.TB, path string, intIDs bool) (map[string]*scoring.Dotprops, []string) {
	tb.Helper()
	dps, err := reference.LoadDotpropsCSV(path, intIDs)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]*scoring.Dotprops{}
	var ids []string
	for _, d := range dps {
		m[d.ID.String()] = d
		ids = append(ids, d.ID.String())
	}
	return m, ids
}

// mdCompare compares got with want point by point: identical coordinates
// and order, tangents and alphas within the README tolerances. Points whose
// index is in skip are not compared. It returns the largest deviations.
func mdCompare(t *testing.T, name string, got, want *scoring.Dotprops, skip map[int]bool) (maxVec, maxAlpha float64) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("%s: %d points, navis has %d", name, got.Len(), want.Len())
		return
	}
	if err := got.Validate(); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	bad := 0
	for i := range got.Points {
		if got.Points[i] != want.Points[i] {
			t.Errorf("%s: point %d is %v, navis has %v", name, i, got.Points[i], want.Points[i])
			return
		}
		if skip[i] {
			continue
		}
		dv := mdVecDiff(got.Vectors[i], want.Vectors[i])
		da := math.Abs(got.Alpha[i] - want.Alpha[i])
		maxVec, maxAlpha = math.Max(maxVec, dv), math.Max(maxAlpha, da)
		if dv > mdVecTol || da > mdAlphaTol {
			if bad++; bad <= 5 {
				t.Errorf("%s: point %d: tangent %v alpha %v, navis %v alpha %v (| |cos|-1 | = %.3g, |Δalpha| = %.3g)",
					name, i, got.Vectors[i], got.Alpha[i], want.Vectors[i], want.Alpha[i], dv, da)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d points out of tolerance in all", name, bad)
	}
	return maxVec, maxAlpha
}

// mdVecDiff is | |a·b| − 1 |, the README's sign-free tangent distance.
func mdVecDiff(a, b [3]float64) float64 {
	return math.Abs(math.Abs(a[0]*b[0]+a[1]*b[1]+a[2]*b[2]) - 1)
}

// TestMakeDotpropsGolden reproduces golden/synthetic.dotprops.csv
// (navis.make_dotprops(points, k=5)) from golden/synthetic.points.csv: all 17
// neurons, every point, same order.
func TestMakeDotpropsGolden(t *testing.T) {
	dir := reference.Dir(t)
	clouds := mdLoadPoints(t, filepath.Join(dir, "golden", "synthetic.points.csv"))
	want, order := mdLoadDotprops(t, filepath.Join(dir, "golden", "synthetic.dotprops.csv"), true)
	if len(clouds) != 17 || len(order) != 17 {
		t.Fatalf("%d point clouds and %d dotprops, want 17", len(clouds), len(order))
	}
	var worstVec, worstAlpha float64
	for i, c := range clouds {
		if order[i] != c.id {
			t.Errorf("neuron %d: points file has %s, dotprops file %s", i, c.id, order[i])
		}
		id, _ := scoring.ParseID(c.id, false)
		got, err := makedotprops.MakeDotprops(id, c.pts, 5)
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if got.ID != id {
			t.Errorf("%s: id %v", c.id, got.ID)
		}
		v, a := mdCompare(t, c.id, got, want[c.id], nil)
		worstVec, worstAlpha = math.Max(worstVec, v), math.Max(worstAlpha, a)
	}
	t.Logf("golden: max | |cos|-1 | = %.3g, max |Δalpha| = %.3g", worstVec, worstAlpha)
}

// TestMakeDotpropsEdgeCases runs golden/synthetic_edge.* (k = 5) and checks
// each case against navis 1.12's outcome.
func TestMakeDotpropsEdgeCases(t *testing.T) {
	dir := reference.Dir(t)
	clouds := mdLoadPoints(t, filepath.Join(dir, "golden", "synthetic_edge.points.csv"))
	want, _ := mdLoadDotprops(t, filepath.Join(dir, "golden", "synthetic_edge.dotprops.csv"), true)
	byName := map[string]mdCloud{}
	meta := reference.ReadCSV(t, filepath.Join(dir, "golden", "synthetic_edge.meta.csv"))
	for _, row := range meta[1:] {
		for _, c := range clouds {
			if c.id == row[0] {
				byName[row[1]] = c
			}
		}
	}
	tests := []struct {
		name    string
		nPoints int    // input points
		nOut    int    // dotprops points; 0 = error expected
		errText string // expected error substring
		noPts   bool   // error wraps ErrNoPoints
		navis   bool   // compare with navis' dotprops
	}{
		{name: "one_point", nPoints: 1, errText: "only 1 point"},
		{name: "two_points", nPoints: 2, nOut: 2, navis: true},
		{name: "four_points", nPoints: 4, nOut: 4, navis: true},
		{name: "two_identical", nPoints: 2, errText: "no points", noPts: true},
		{name: "dup4", nPoints: 63, nOut: 63, navis: true},
		// navis' dup5 tangents come from shifted neighbour indices (a navis
		// bug, not reproduced): compare points with navis, tangents with a
		// brute-force recomputation from the true neighbourhoods.
		{name: "dup5", nPoints: 64, nOut: 59},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := byName[tc.name]
			if !ok {
				t.Fatalf("edge case %s not in the reference data", tc.name)
			}
			if len(c.pts) != tc.nPoints {
				t.Fatalf("%d input points, want %d", len(c.pts), tc.nPoints)
			}
			id, _ := scoring.ParseID(c.id, false)
			got, err := makedotprops.MakeDotprops(id, c.pts, 5)
			if tc.nOut == 0 {
				if err == nil {
					t.Fatalf("no error, navis fails (got %d points)", got.Len())
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q does not mention %q", err, tc.errText)
				}
				if errors.Is(err, makedotprops.ErrNoPoints) != tc.noPts {
					t.Errorf("errors.Is(err, ErrNoPoints) = %v, want %v (%v)", !tc.noPts, tc.noPts, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != tc.nOut {
				t.Fatalf("%d points, want %d", got.Len(), tc.nOut)
			}
			if tc.navis {
				mdCompare(t, tc.name, got, want[c.id], nil)
				return
			}
			ref := mdBruteForce(t, id, c.pts, 5)
			mdCompare(t, tc.name+" vs brute force", got, ref, nil)
			for i := range got.Points {
				if got.Points[i] != want[c.id].Points[i] {
					t.Fatalf("point %d is %v, navis keeps %v", i, got.Points[i], want[c.id].Points[i])
				}
			}
			var maxVec float64
			for i := range got.Vectors {
				maxVec = math.Max(maxVec, mdVecDiff(got.Vectors[i], want[c.id].Vectors[i]))
			}
			t.Logf("dup5: same 59 points as navis; tangents differ from navis' (index-shift bug) by up to | |cos|-1 | = %.3g", maxVec)
		})
	}
}

// TestMakeDotpropsRealNeurons recomputes the tangents of real neurons from
// their points and compares every point with navis' (or nat's) tangents
// and alpha, to 1e-12. navis_examples_k5_res1um has 5 points whose 5th and
// 6th nearest neighbours are exactly tied (the README lists them) and
// navis_examples_k20 (skeleton nodes on the 8 nm grid) 177 at the 20th:
// navis keeps the neighbour scipy's cKDTree returns, and so does
// MakeDotprops, so they are compared like every other point (taking the
// other neighbour would change a tangent by | |cos|-1 | up to 0.74).
func TestMakeDotpropsRealNeurons(t *testing.T) {
	dir := reference.Dir(t)
	tests := []struct {
		file   string
		k      int
		intIDs bool
		ties   int // points with an exact tie at the k-th neighbour (mdKthTies)
	}{
		{file: "neurons/navis_examples_k5_res1um.dotprops.csv", k: 5, intIDs: true, ties: 5},
		{file: "neurons/kcs20.dotprops.csv", k: 5},
		{file: "neurons/natnblast_testneurons.dotprops.csv", k: 5},
		{file: "extra/kcs20_recomputed_k5_navis.dotprops.csv", k: 5},
		{file: "extra/masse_SAKW13-1_k20_navis.dotprops.csv", k: 20},
		{file: "extra/navis_examples_k20.dotprops.csv", k: 20, intIDs: true, ties: 177},
	}
	const tol = 1e-12
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			want, order := mdLoadDotprops(t, filepath.Join(dir, tc.file), tc.intIDs)
			var worstVec, worstAlpha, worstTieVec, worstTieAlpha float64
			compared, ties := 0, 0
			for _, idStr := range order {
				w := want[idStr]
				got, err := makedotprops.MakeDotprops(w.ID, w.Points, tc.k)
				if err != nil {
					t.Errorf("%s: %v", idStr, err)
					continue
				}
				v, a := mdCompare(t, idStr, got, w, nil)
				worstVec, worstAlpha = math.Max(worstVec, v), math.Max(worstAlpha, a)
				compared += w.Len()
				for i := range mdKthTies(w.Points, tc.k) {
					if i >= got.Len() {
						continue // mdCompare reported the length
					}
					ties++
					worstTieVec = math.Max(worstTieVec, mdVecDiff(got.Vectors[i], w.Vectors[i]))
					worstTieAlpha = math.Max(worstTieAlpha, math.Abs(got.Alpha[i]-w.Alpha[i]))
				}
			}
			if worstVec > tol || worstAlpha > tol {
				t.Errorf("max | |cos|-1 | = %.3g, max |Δalpha| = %.3g: want both <= %g", worstVec, worstAlpha, tol)
			}
			if ties != tc.ties {
				t.Errorf("%d points with exact k-th neighbour ties, want %d", ties, tc.ties)
			}
			t.Logf("%d neurons, %d points compared: max | |cos|-1 | = %.3g, max |Δalpha| = %.3g; of them %d with exact k-th neighbour ties: max | |cos|-1 | = %.3g, max |Δalpha| = %.3g",
				len(order), compared, worstVec, worstAlpha, ties, worstTieVec, worstTieAlpha)
		})
	}
}

// mdKthTies returns the points (indices) whose k-th and (k+1)-th nearest
// neighbours (itself the first) are at exactly the same float64 squared
// distance but at different coordinates: which of them a kNN search
// returns depends on its tree and search order (MakeDotprops returns the
// one scipy's cKDTree returns), and the choice changes the point's tangent
// and alpha. Brute force, distances summed as scipy sums them.
func mdKthTies(pts [][3]float64, k int) map[int]bool {
	out := map[int]bool{}
	if k >= len(pts) {
		return out
	}
	best := make([]float64, k+1) // the k+1 smallest squared distances, ascending
	d2 := make([]float64, len(pts))
	for i, q := range pts {
		for j := range best {
			best[j] = math.Inf(1)
		}
		for j, p := range pts {
			dx, dy, dz := q[0]-p[0], q[1]-p[1], q[2]-p[2]
			d := float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz)
			d2[j] = d
			if d >= best[k] {
				continue
			}
			m := k
			for m > 0 && best[m-1] > d {
				best[m] = best[m-1]
				m--
			}
			best[m] = d
		}
		if best[k-1] != best[k] {
			continue
		}
		// Tied at the k-th place: it matters unless every point at that
		// distance has the same coordinates.
		var first *[3]float64
		for j := range pts {
			if d2[j] != best[k] {
				continue
			}
			if first == nil {
				first = &pts[j]
			} else if pts[j] != *first {
				out[i] = true
				break
			}
		}
	}
	return out
}

// TestMakeDotpropsBruteForce compares MakeDotprops with a brute-force
// implementation (sorted distances, gonum's symmetric eigensolver) on random
// branching walks, uniform clouds with duplicate points and NaN rows, and
// clouds smaller than k.
func TestMakeDotpropsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 40 {
		var pts [][3]float64
		k := []int{5, 20, 2, 3}[trial%4]
		switch trial % 5 {
		case 0, 1:
			pts = mdWalk(rng, 50+rng.IntN(600))
		case 2: // uniform cloud, a quarter of the points repeated 1..6 times
			for range 100 + rng.IntN(300) {
				p := [3]float64{rng.Float64() * 30, rng.Float64() * 30, rng.Float64() * 30}
				pts = append(pts, p)
				if rng.IntN(4) == 0 {
					for range 1 + rng.IntN(6) {
						pts = append(pts, p)
					}
				}
			}
		case 3: // with NaN rows
			pts = mdWalk(rng, 100+rng.IntN(200))
			for i := range pts {
				if rng.IntN(10) == 0 {
					pts[i][rng.IntN(3)] = math.NaN()
				}
			}
		default: // fewer points than k
			pts = mdWalk(rng, 2+rng.IntN(k))
		}
		id := scoring.IntID(int64(trial))
		orig := append([][3]float64(nil), pts...)
		got, err := makedotprops.MakeDotprops(id, pts, k)
		ref := mdBruteForce(t, id, orig, k)
		for i := range pts {
			for c := range 3 {
				if math.Float64bits(pts[i][c]) != math.Float64bits(orig[i][c]) {
					t.Fatalf("trial %d: input modified", trial)
				}
			}
		}
		if ref == nil {
			if err == nil {
				t.Errorf("trial %d: no error, brute force finds no points", trial)
			}
			continue
		}
		if err != nil {
			t.Errorf("trial %d: %v", trial, err)
			continue
		}
		mdCompare(t, fmt.Sprintf("trial %d (k=%d, n=%d)", trial, k, len(pts)), got, ref, nil)
	}
}

// TestMakeDotpropsSmall checks hand-made clouds and the argument errors.
func TestMakeDotpropsSmall(t *testing.T) {
	id := scoring.IntID(1)
	line := make([][3]float64, 30)
	for i := range line {
		line[i] = [3]float64{0.48 * float64(i), 0.6 * float64(i), 0.64 * float64(i)}
	}
	d, err := makedotprops.MakeDotprops(id, line, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Points {
		if v := mdVecDiff(d.Vectors[i], [3]float64{0.48, 0.6, 0.64}); v > 1e-14 || math.Abs(d.Alpha[i]-1) > 1e-14 {
			t.Errorf("line point %d: tangent %v alpha %v", i, d.Vectors[i], d.Alpha[i])
		}
	}
	// NaN rows are dropped, the others keep their order.
	withNaN := [][3]float64{{0, 0, 0}, {math.NaN(), 0, 0}, {1, 0, 0}, {2, 0.1, 0}, {0, math.NaN(), 1}}
	d, err = makedotprops.MakeDotprops(id, withNaN, 5)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Points[0] != withNaN[0] || d.Points[1] != withNaN[2] || d.Points[2] != withNaN[3] {
		t.Errorf("NaN rows: got points %v", d.Points)
	}
	for _, tc := range []struct {
		name  string
		pts   [][3]float64
		k     int
		noPts bool
	}{
		{"zero points", nil, 5, true},
		{"all NaN", [][3]float64{{math.NaN(), 0, 0}, {0, 0, math.NaN()}}, 5, true},
		{"one point", [][3]float64{{1, 2, 3}}, 5, false},
		{"k = 0", line, 0, false},
		{"k = 1: every point is its own only neighbour", line, 1, true},
		{"three copies", [][3]float64{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}, 5, true},
		{"infinite", [][3]float64{{1, 2, 3}, {math.Inf(1), 2, 3}, {0, 0, 0}}, 5, false},
	} {
		_, err := makedotprops.MakeDotprops(id, tc.pts, tc.k)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if errors.Is(err, makedotprops.ErrNoPoints) != tc.noPts {
			t.Errorf("%s: errors.Is(err, ErrNoPoints) = %v: %v", tc.name, !tc.noPts, err)
		}
	}
}

// BenchmarkMakeDotprops makes dotprops of a 5,000-point branching walk
// (0.8 to 1.2 µm steps, like a skeleton resampled to 1 µm) with k = 5 and
// k = 20 (navis' and the runner's default), and of 3,000 skeleton nodes on
// the 8 nm voxel grid (exact distance ties everywhere) with k = 20, and
// reports ns per point.
func BenchmarkMakeDotprops(b *testing.B) {
	walk := mdWalk(rand.New(rand.NewPCG(1, 2)), 5000)
	voxels := voxelWalk(rand.New(rand.NewPCG(3, 4)), 3000)
	for _, bc := range []struct {
		name string
		pts  [][3]float64
		k    int
	}{
		{"walk5000_k5", walk, 5},
		{"walk5000_k20", walk, 20},
		{"voxels3000_k20", voxels, 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			id := scoring.IntID(1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := makedotprops.MakeDotprops(id, bc.pts, bc.k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(bc.pts)), "ns/point")
		})
	}
}

// mdWalk returns n points of a branching random walk with steps of 0.8 to
// 1.2 µm (varied so that a point's two walk neighbours are not tied).
func mdWalk(rng *rand.Rand, n int) [][3]float64 {
	pts := make([][3]float64, 0, n)
	var cur [3]float64
	dir := [3]float64{1, 0, 0}
	for len(pts) < n {
		if len(pts) > 0 && rng.Float64() < 0.03 {
			cur = pts[rng.IntN(len(pts))]
		}
		for k := range dir {
			dir[k] += rng.NormFloat64() * 0.3
		}
		norm := math.Sqrt(dir[0]*dir[0] + dir[1]*dir[1] + dir[2]*dir[2])
		step := 0.8 + 0.4*rng.Float64()
		for k := range dir {
			dir[k] /= norm
			cur[k] += dir[k] * step
		}
		pts = append(pts, cur)
	}
	return pts
}

// mdBruteForce is make_dotprops written plainly: NaN rows dropped, each
// point's k nearest neighbours (itself included) by sorting all squared
// distances (summed as scipy does), gonum's EigenSym on the scatter matrix,
// points with k neighbours at distance 0 dropped. It returns nil when no
// point is left or fewer than 2 finite points exist.
func mdBruteForce(tb testing.TB, id scoring.ID, points [][3]float64, k int) *scoring.Dotprops {
	tb.Helper()
	var pts [][3]float64
	for _, p := range points {
		if !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsNaN(p[2]) {
			pts = append(pts, p)
		}
	}
	if len(pts) < 2 {
		return nil
	}
	k = min(k, len(pts))
	d := &scoring.Dotprops{ID: id}
	type nb struct {
		d2 float64
		i  int
	}
	all := make([]nb, len(pts))
	for _, q := range pts {
		for i, p := range pts {
			dx, dy, dz := q[0]-p[0], q[1]-p[1], q[2]-p[2]
			all[i] = nb{float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz), i}
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].d2 < all[b].d2 })
		if all[k-1].d2 == 0 {
			continue
		}
		var c [3]float64
		for _, e := range all[:k] {
			for j := range c {
				c[j] += pts[e.i][j]
			}
		}
		for j := range c {
			c[j] /= float64(k)
		}
		s := mat.NewSymDense(3, nil)
		for _, e := range all[:k] {
			for a := range 3 {
				for b := a; b < 3; b++ {
					s.SetSym(a, b, s.At(a, b)+(pts[e.i][a]-c[a])*(pts[e.i][b]-c[b]))
				}
			}
		}
		var eig mat.EigenSym
		if !eig.Factorize(s, true) {
			tb.Fatal("EigenSym failed")
		}
		vals := eig.Values(nil) // ascending
		var vecs mat.Dense
		eig.VectorsTo(&vecs)
		l := []float64{math.Abs(vals[0]), math.Abs(vals[1]), math.Abs(vals[2])}
		top := 2
		sort.Float64s(l)
		v := [3]float64{vecs.At(0, top), vecs.At(1, top), vecs.At(2, top)}
		d.Points = append(d.Points, q)
		d.Vectors = append(d.Vectors, v)
		d.Alpha = append(d.Alpha, (l[2]-l[1])/(l[0]+l[1]+l[2]))
	}
	if d.Len() == 0 {
		return nil
	}
	return d
}
