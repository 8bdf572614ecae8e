package skeleton_test

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/skeleton"
)

// loadNodes reads a navis node table CSV (neuron_id,node_id,parent_id,x,y,z)
// into skeletons in order of first appearance, rows in file order.
func loadNodes(tb testing.TB, path string) []*skeleton.Skeleton {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "neuron_id,node_id,parent_id,x,y,z" {
		tb.Fatalf("%s: header %v", path, rows[0])
	}
	var out []*skeleton.Skeleton
	byID := map[string]*skeleton.Skeleton{}
	for r, row := range rows[1:] {
		s := byID[row[0]]
		if s == nil {
			id, err := scoring.ParseID(row[0], false)
			if err != nil {
				tb.Fatal(err)
			}
			s = &skeleton.Skeleton{ID: id}
			byID[row[0]] = s
			out = append(out, s)
		}
		var ints [2]int64
		for k := range ints {
			if ints[k], err = strconv.ParseInt(row[1+k], 10, 64); err != nil {
				tb.Fatalf("%s row %d: %v", path, r+2, err)
			}
		}
		var p [3]float64
		for k := range p {
			if p[k], err = strconv.ParseFloat(row[3+k], 64); err != nil {
				tb.Fatalf("%s row %d: %v", path, r+2, err)
			}
		}
		s.NodeID = append(s.NodeID, ints[0])
		s.Parent = append(s.Parent, ints[1])
		s.Points = append(s.Points, p)
	}
	return out
}

// TestSWCEqualsNavisNodes reads the example SWC files as navis.read_swc
// does (float32 coordinates), converts 8 nm voxels to µm, and compares
// every node (id, parent, x, y, z, bit for bit, in row order) with
// extra/navis_examples_um.nodes.csv.
func TestSWCEqualsNavisNodes(t *testing.T) {
	dir := reference.Dir(t)
	want := loadNodes(t, filepath.Join(dir, "extra", "navis_examples_um.nodes.csv"))
	for _, w := range want {
		path := filepath.Join(dir, "extra", "swc", w.ID.String()+".swc")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := skeleton.ParseSWC(f, w.ID)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got.Convert(skeleton.Units{Mul: 8, Div: 1000})
		compareNodes(t, w.ID.String(), got, w)
	}
}

// TestResampleEqualsNavis resamples navis' example skeletons (µm) to 1 µm
// and compares the node table, bit for bit and in order, with navis 1.12's
// resample_skeleton output (extra/navis_examples_um_resampled_1um.nodes.csv).
func TestResampleEqualsNavis(t *testing.T) {
	dir := reference.Dir(t)
	in := loadNodes(t, filepath.Join(dir, "extra", "navis_examples_um.nodes.csv"))
	want := loadNodes(t, filepath.Join(dir, "extra", "navis_examples_um_resampled_1um.nodes.csv"))
	if len(in) != len(want) {
		t.Fatalf("%d input neurons, %d resampled", len(in), len(want))
	}
	total := 0
	for i, s := range in {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		got, err := skeleton.Resample(s, 1)
		if err != nil {
			t.Fatal(err)
		}
		compareNodes(t, s.ID.String(), got, want[i])
		total += got.Len()
	}
	t.Logf("%d neurons resampled to %d nodes, all equal to navis' bit for bit", len(in), total)
}

func compareNodes(t *testing.T, name string, got, want *skeleton.Skeleton) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("%s: %d nodes, navis has %d", name, got.Len(), want.Len())
	}
	bad := 0
	for i := range min(got.Len(), want.Len()) {
		if got.NodeID[i] != want.NodeID[i] || got.Parent[i] != want.Parent[i] || got.Points[i] != want.Points[i] {
			if bad++; bad <= 5 {
				t.Errorf("%s: row %d: node %d parent %d at %v, navis node %d parent %d at %v (max |Δ| %.3g)", name, i,
					got.NodeID[i], got.Parent[i], got.Points[i], want.NodeID[i], want.Parent[i], want.Points[i], maxAbs(got.Points[i], want.Points[i]))
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d rows differ in all", name, bad)
	}
}

func maxAbs(a, b [3]float64) float64 {
	return math.Max(math.Abs(a[0]-b[0]), math.Max(math.Abs(a[1]-b[1]), math.Abs(a[2]-b[2])))
}
