package makedotprops_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
)

//go:embed testdata/navis_examples.py
var navisExamplesPy []byte

// navisResult is navis_examples.py's output.
type navisResult struct {
	Navis   string `json:"navis"`
	Neurons []struct {
		ID     int64        `json:"id"`
		Points [][3]float64 `json:"points"`
		Vect   [][3]float64 `json:"vect"`
		Alpha  []float64    `json:"alpha"`
	} `json:"neurons"`
	ABA struct {
		Queries []int64     `json:"queries"`
		Targets []int64     `json:"targets"`
		Values  [][]float64 `json:"values"`
	} `json:"aba"`
}

// TestNavisExamples is the user's comparison: navis' five example
// skeletons (the SWC files in navis' data directory, 8 nm voxels) made into
// dotprops by navis.make_dotprops(k=5, resample=1) after conversion to µm,
// and by this repository as `runner dotprops --units "8 nm" --k 5
// --resample 1` makes each neuron (dotprops.ReadSWCInput, then
// dotprops.MakeNeuronDotprops, which calls MakeDotprops). Points, tangents
// (up to sign) and alpha must agree to 1e-6, and so must every cell of the
// all-by-all NBLAST (navis.nblast_allbyall against scoring.ScoreBlock,
// forward, normalised, diagonal 1): including the points whose 5th and 6th
// nearest neighbours are exactly tied, which MakeDotprops resolves as
// scipy's cKDTree does.
func TestNavisExamples(t *testing.T) {
	lib := reference.NavisLib(t, "scipy.spatial")
	swcDir := filepath.Join(lib, "navis", "data", "swc")
	dir := t.TempDir()
	script, out := filepath.Join(dir, "navis_examples.py"), filepath.Join(dir, "navis.json")
	if err := os.WriteFile(script, navisExamplesPy, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(reference.Python, script, swcDir, out)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+lib, "OMP_NUM_THREADS=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("navis: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want navisResult
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}

	// Ours, neuron by neuron as the runner's dotprops command makes them.
	paths, err := filepath.Glob(filepath.Join(swcDir, "*.swc"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no SWC files in %s (%v)", swcDir, err)
	}
	sort.Strings(paths)
	units, err := dotprops.ResolveUnits("8 nm", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []*scoring.Dotprops
	for _, p := range paths {
		err := dotprops.ReadSWCInput(context.Background(), p, dotprops.NeuronReadOptions{Units: units}, func(in *dotprops.NeuronInput) error {
			d, err := dotprops.MakeNeuronDotprops(in, 5, 1)
			got = append(got, d)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want.Neurons) {
		t.Fatalf("%d neurons, navis has %d", len(got), len(want.Neurons))
	}

	var maxPoint, maxVec, maxCos, maxAlpha float64
	points, exact := 0, 0
	for i, g := range got {
		w := want.Neurons[i]
		if g.ID != scoring.IntID(w.ID) || g.Len() != len(w.Points) {
			t.Fatalf("neuron %d: %s with %d points, navis has %d with %d", i, g.ID, g.Len(), w.ID, len(w.Points))
		}
		for j := range g.Points {
			gv, wv := g.Vectors[j], w.Vect[j]
			dot := gv[0]*wv[0] + gv[1]*wv[1] + gv[2]*wv[2]
			sign := math.Copysign(1, dot)
			var dp, dv float64
			for c := range 3 {
				dp = math.Max(dp, math.Abs(g.Points[j][c]-w.Points[j][c]))
				dv = math.Max(dv, math.Abs(gv[c]-sign*wv[c]))
			}
			da := math.Abs(g.Alpha[j] - w.Alpha[j])
			if dp > 1e-6 || dv > 1e-6 || da > 1e-6 {
				t.Errorf("%s point %d: %v tangent %v alpha %v, navis %v tangent %v alpha %v", g.ID, j, g.Points[j], gv, g.Alpha[j], w.Points[j], wv, w.Alpha[j])
			}
			if g.Points[j] == w.Points[j] {
				exact++
			}
			points++
			maxPoint, maxVec, maxAlpha = math.Max(maxPoint, dp), math.Max(maxVec, dv), math.Max(maxAlpha, da)
			maxCos = math.Max(maxCos, math.Abs(math.Abs(dot)-1))
		}
	}
	t.Logf("navis %s make_dotprops(k=5, resample=1), %d neurons, %d points (%d bit-identical): max |Δpoint| = %.3g µm, max |Δtangent| (up to sign) = %.3g, max | |cos|-1 | = %.3g, max |Δalpha| = %.3g",
		want.Navis, len(got), points, exact, maxPoint, maxVec, maxCos, maxAlpha)

	// All-by-all NBLAST of our dotprops against navis' of its own.
	ns := make([]*scoring.Neuron, len(got))
	for i, d := range got {
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			t.Fatal(err)
		}
	}
	s, err := scoring.NewScorer(scoring.Options{Normalized: true, AllByAll: true})
	if err != nil {
		t.Fatal(err)
	}
	n := len(ns)
	scores := make([]float64, n*n)
	if _, err := scoring.ScoreBlock(s, scoring.Forward, ns, ns, scores, nil); err != nil {
		t.Fatal(err)
	}
	if len(want.ABA.Queries) != n || len(want.ABA.Targets) != n {
		t.Fatalf("navis' all-by-all is %d×%d, want %d×%d", len(want.ABA.Queries), len(want.ABA.Targets), n, n)
	}
	var worst float64
	for i, q := range want.ABA.Queries {
		for j, tg := range want.ABA.Targets {
			if scoring.IntID(q) != got[i].ID || scoring.IntID(tg) != got[j].ID {
				t.Fatalf("navis' matrix has %d -> %d at (%d, %d), we have %s -> %s", q, tg, i, j, got[i].ID, got[j].ID)
			}
			d := math.Abs(scores[i*n+j] - want.ABA.Values[i][j])
			if d > 1e-6 || math.IsNaN(d) {
				t.Errorf("%d -> %d: %.17g, navis %.17g (|Δ| = %.3g > 1e-6)", q, tg, scores[i*n+j], want.ABA.Values[i][j], d)
			}
			worst = math.Max(worst, d)
		}
	}
	t.Logf("all-by-all NBLAST (forward, normalised) vs navis.nblast_allbyall: %d cells, max |Δ| = %.3g", n*n, worst)
}
