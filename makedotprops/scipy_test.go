package makedotprops_test

import (
	_ "embed"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/scipytest"
	"github.com/nblast-go/nblast/makedotprops"
	"github.com/nblast-go/nblast/scoring"
)

//go:embed testdata/knn.py
var knnPy []byte

// knnCase is one point cloud of TestNeighboursEqualScipy.
type knnCase struct {
	name string
	pts  [][3]float64
	ks   []int
}

// scipyCase is knn.py's answer for one (cloud, k).
type scipyCase struct {
	Name  string       `json:"name"`
	K     int          `json:"k"`
	Ix    [][]int32    `json:"ix"`
	Dist  [][]float64  `json:"dist"`
	Vect  [][3]float64 `json:"vect"`
	S     [][3]float64 `json:"s"`
	Alpha []*float64   `json:"alpha"`
}

// grid returns the nx×ny×nz lattice with spacing step, x fastest.
func grid(nx, ny, nz int, step float64) [][3]float64 {
	var pts [][3]float64
	for z := range nz {
		for y := range ny {
			for x := range nx {
				pts = append(pts, [3]float64{float64(x) * step, float64(y) * step, float64(z) * step})
			}
		}
	}
	return pts
}

// shuffled returns pts in a random order.
func shuffled(rng *rand.Rand, pts [][3]float64) [][3]float64 {
	out := append([][3]float64(nil), pts...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// copies repeats every point of pts c times (consecutively).
func copies(pts [][3]float64, c int) [][3]float64 {
	var out [][3]float64
	for _, p := range pts {
		for range c {
			out = append(out, p)
		}
	}
	return out
}

// voxelWalk is a branching random walk of n nodes on the 8 nm voxel grid,
// one voxel per axis per step, in µm as `runner dotprops --units "8 nm"`
// converts voxels (v*8/1000): skeleton nodes, whose distances tie often.
func voxelWalk(rng *rand.Rand, n int) [][3]float64 {
	vox := make([][3]int, 0, n)
	var cur [3]int
	dir := [3]int{1, 0, 0}
	for len(vox) < n {
		if len(vox) > 0 && rng.IntN(40) == 0 {
			cur = vox[rng.IntN(len(vox))]
		}
		if rng.IntN(5) == 0 {
			dir[rng.IntN(3)] = rng.IntN(3) - 1
		}
		for c := range 3 {
			cur[c] += dir[c]
		}
		vox = append(vox, cur)
	}
	pts := make([][3]float64, n)
	for i, v := range vox {
		for c := range 3 {
			pts[i][c] = float64(1000+v[c]) * 8 / 1000
		}
	}
	return pts
}

// randomInts returns n points with integer coordinates in [0, side):
// duplicates and ties everywhere.
func randomInts(rng *rand.Rand, n, side int) [][3]float64 {
	pts := make([][3]float64, n)
	for i := range pts {
		pts[i] = [3]float64{float64(rng.IntN(side)), float64(rng.IntN(side)), float64(rng.IntN(side))}
	}
	return pts
}

// knnCases are the clouds compared with scipy: integer grids (in order and
// shuffled), copies of grid points, voxel-grid skeletons, a plane, a line,
// sizes around the leaf size, and a 0.1 µm grid whose distances are
// near-ties decided by rounding.
func knnCases() []knnCase {
	rng := rand.New(rand.NewPCG(20, 24))
	line := make([][3]float64, 200)
	for i := range line {
		line[i] = [3]float64{float64(i), 2 * float64(i), 0}
	}
	return []knnCase{
		{"grid 10x10x10", grid(10, 10, 10, 1), []int{5, 20}},
		{"grid 7x7x7 shuffled", shuffled(rng, grid(7, 7, 7, 1)), []int{2, 5, 20}},
		{"grid 20x20x12 shuffled", shuffled(rng, grid(20, 20, 12, 1)), []int{5, 20}},
		{"grid 6x6x6 three copies", copies(grid(6, 6, 6, 1), 3), []int{1, 5, 20}},
		{"grid 6x6x6 three copies shuffled", shuffled(rng, copies(grid(6, 6, 6, 1), 3)), []int{1, 5, 20}},
		{"random integers in 8^3", randomInts(rng, 2000, 8), []int{1, 5, 20}},
		{"random integers in 30^3", randomInts(rng, 3000, 30), []int{5, 20}},
		{"8 nm voxel walk", voxelWalk(rng, 3000), []int{5, 20}},
		{"8 nm voxel walk, 1000", voxelWalk(rng, 1000), []int{5, 20}},
		{"plane 40x40", shuffled(rng, grid(40, 40, 1, 1)), []int{5, 20}},
		{"line", line, []int{2, 4}},
		{"grid 0.1 µm", shuffled(rng, grid(12, 12, 12, 0.1)), []int{5, 20}},
		{"16 points", grid(4, 4, 1, 1), []int{5}},
		{"17 points", grid(17, 1, 1, 1), []int{2, 4}},
		{"3 points (k reduced)", grid(3, 1, 1, 1), []int{5}},
	}
}

// runScipy runs knn.py on every (cloud, k) and returns its answers in
// that order.
func runScipy(t *testing.T, cases []knnCase) (map[string]scipyCase, string) {
	t.Helper()
	type in struct {
		Name   string       `json:"name"`
		K      int          `json:"k"`
		Points [][3]float64 `json:"points"`
	}
	var ins []in
	for _, c := range cases {
		for _, k := range c.ks {
			ins = append(ins, in{Name: c.name + " k=" + strconv.Itoa(k), K: k, Points: c.pts})
		}
	}
	dir := t.TempDir()
	script, inPath, outPath := filepath.Join(dir, "knn.py"), filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	b, err := json.Marshal(ins) // shortest round-trip floats: exact
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, knnPy, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(reference.Python, script, inPath, outPath).CombinedOutput(); err != nil {
		t.Fatalf("scipy: %v\n%s", err, out)
	}
	if b, err = os.ReadFile(outPath); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Scipy, Numpy string
		Cases        []scipyCase
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	m := map[string]scipyCase{}
	for _, c := range res.Cases {
		m[c.Name] = c
	}
	return m, "scipy " + res.Scipy + ", numpy " + res.Numpy
}

// TestNeighboursEqualScipy compares MakeDotprops' neighbours with
// scipy.spatial.cKDTree(points).query(points, k) (the call navis'
// make_dotprops makes) on clouds full of exact distance ties: every
// point's neighbour indices must be scipy's, in scipy's order, with
// scipy's distances to the bit; every dotprops point's tangent and alpha
// must be those of scipy's neighbourhood to the bit (same neighbours,
// same summation order), and agree with numpy's SVD (navis' eigensolver)
// to 1e-9 (tangents only where the top eigenvalue is distinct: otherwise
// any unit vector of the top eigenspace is a tangent).
func TestNeighboursEqualScipy(t *testing.T) {
	scipytest.Require(t, "scipy.spatial")
	cases := knnCases()
	want, version := runScipy(t, cases)
	t.Logf("against %s", version)
	for _, c := range cases {
		for _, k := range c.ks {
			name := c.name + " k=" + strconv.Itoa(k)
			t.Run(name, func(t *testing.T) {
				w, ok := want[name]
				if !ok {
					t.Fatal("no scipy result")
				}
				k := w.K // reduced to the number of points, as navis does
				if len(w.Ix) != len(c.pts) {
					t.Fatalf("scipy returned %d rows for %d points", len(w.Ix), len(c.pts))
				}
				idx, d2 := makedotprops.Neighbours(c.pts, k)
				bad := 0
				for j := range c.pts {
					same := true
					for m := range k {
						if idx[j][m] != w.Ix[j][m] || math.Sqrt(d2[j][m]) != w.Dist[j][m] {
							same = false
						}
					}
					if !same {
						if bad++; bad <= 5 {
							t.Errorf("point %d %v: neighbours %v, scipy %v (distances² %v, scipy %v)", j, c.pts[j], idx[j], w.Ix[j], d2[j], w.Dist[j])
						}
					}
				}
				if bad > 0 {
					t.Fatalf("%d of %d points have other neighbours than scipy's", bad, len(c.pts))
				}

				got, err := makedotprops.MakeDotprops(scoring.IntID(1), c.pts, k)
				kept := 0
				for j := range c.pts {
					if w.Dist[j][k-1] != 0 {
						kept++
					}
				}
				if kept == 0 {
					if err == nil {
						t.Fatalf("no error; every point has its %d neighbours at distance 0", k)
					}
					t.Logf("%d points, all dropped (duplicates): %v", len(c.pts), err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Len() != kept {
					t.Fatalf("%d dotprops points, scipy's distances keep %d", got.Len(), kept)
				}
				var maxCos, maxAlpha float64
				i, compared := 0, 0
				for j := range c.pts {
					if w.Dist[j][k-1] == 0 {
						continue
					}
					v, a := makedotprops.Tangent(c.pts, w.Ix[j])
					if got.Points[i] != c.pts[j] || got.Vectors[i] != v || got.Alpha[i] != a {
						t.Fatalf("point %d: %v tangent %v alpha %v; from scipy's neighbours %v: tangent %v alpha %v", j, got.Points[i], got.Vectors[i], got.Alpha[i], w.Ix[j], v, a)
					}
					s := w.S[j]
					if w.Alpha[j] == nil {
						t.Fatalf("point %d: numpy's alpha is NaN", j)
					}
					maxAlpha = math.Max(maxAlpha, math.Abs(a-*w.Alpha[j]))
					if s[0]-s[1] > 1e-6*s[0] {
						wv := w.Vect[j]
						maxCos = math.Max(maxCos, math.Abs(math.Abs(v[0]*wv[0]+v[1]*wv[1]+v[2]*wv[2])-1))
						compared++
					}
					i++
				}
				if maxCos > 1e-9 || maxAlpha > 1e-9 {
					t.Errorf("vs numpy's SVD: max | |cos|-1 | = %.3g, max |Δalpha| = %.3g: want <= 1e-9", maxCos, maxAlpha)
				}
				ties := len(mdKthTies(c.pts, k))
				t.Logf("%d points, %d with exact ties at the k-th neighbour: all neighbours equal scipy's; %d kept, %d tangents compared with numpy: max | |cos|-1 | = %.3g, max |Δalpha| = %.3g",
					len(c.pts), ties, kept, compared, maxCos, maxAlpha)
				if ties == 0 && k < len(c.pts) {
					t.Errorf("no exact k-th neighbour ties: the case does not test tie-breaking")
				}
			})
		}
	}
}
