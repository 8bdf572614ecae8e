package skeleton_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
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
	rows := reference.ReadCSV(tb, path)
	if strings.Join(rows[0], ",") != "neuron_id,node_id,parent_id,x,y,z" {
		tb.Fatalf("%s: header %v", path, rows[0])
	}
	var out []*skeleton.Skeleton
	byID := map[string]*skeleton.Skeleton{}
	var err error
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
	if !t.Failed() {
		t.Logf("%d neurons resampled to %d nodes, all equal to navis' bit for bit", len(in), total)
	}
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

// line returns a skeleton whose nodes (ids 1..n, in that row order) form a
// chain from the root (node 1) at the given x positions.
func line(xs ...float64) *skeleton.Skeleton {
	s := &skeleton.Skeleton{ID: scoring.IntID(1)}
	for i, x := range xs {
		s.NodeID = append(s.NodeID, int64(i+1))
		s.Parent = append(s.Parent, int64(i)) // node 1's parent is 0: fixed below
		s.Points = append(s.Points, [3]float64{x, 0, 0})
	}
	s.Parent[0] = -1
	return s
}

// TestResampleSmall checks navis' rules on small skeletons: node count
// round(L/step)+1 per segment with even spacing, the ends kept, segments
// shorter than step collapsed to their first node, ids counted from
// max+1, roots last.
func TestResampleSmall(t *testing.T) {
	branch := line(0, 1, 2)
	// A second child of node 2 (x = 1): a branch point with leaves 3 and 4.
	branch.NodeID = append(branch.NodeID, 4)
	branch.Parent = append(branch.Parent, 2)
	branch.Points = append(branch.Points, [3]float64{1, 0.4, 0})
	tests := []struct {
		name    string
		s       *skeleton.Skeleton
		step    float64
		nodes   []int64
		parents []int64
		xs      []float64
	}{
		// One segment 4 -> 1 of cable 10: 11 samples, the last is the root.
		{"line", line(0, 3, 10), 1, []int64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1}, []int64{4, 5, 6, 7, 8, 9, 10, 11, 12, 1, -1},
			[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		// Cable 10 at step 4: round(2.5) = 2 (half to even) -> 3 samples.
		{"half to even", line(0, 10), 4, []int64{2, 3, 1}, []int64{3, 1, -1}, []float64{10, 5, 0}},
		// Shorter than the step: the leaf only, then the root.
		{"short", line(0, 0.5), 1, []int64{2, 1}, []int64{1, -1}, []float64{0.5, 0}},
		// Segments: 2 -> 1 (branch point to root, cable 1), 3 -> 2 (1),
		// 4 -> 2 (0.4, collapsed); seeds in row order: 2, 3, 4.
		{"branch", branch, 1, []int64{2, 3, 4, 1}, []int64{1, 2, 2, -1}, []float64{1, 2, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Check(); err != nil {
				t.Fatal(err)
			}
			got, err := skeleton.Resample(tc.s, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			var xs []float64
			for _, p := range got.Points {
				xs = append(xs, p[0])
			}
			if !slices.Equal(got.NodeID, tc.nodes) || !slices.Equal(got.Parent, tc.parents) || !slices.EqualFunc(xs, tc.xs, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
				t.Errorf("nodes %v parents %v x %v, want %v %v %v", got.NodeID, got.Parent, xs, tc.nodes, tc.parents, tc.xs)
			}
			if err := got.Check(); err != nil {
				t.Errorf("resampled skeleton: %v", err)
			}
		})
	}
	if _, err := skeleton.Resample(line(0, 1), 0); err == nil {
		t.Error("step 0: no error")
	}
}

// TestCheck lists the broken skeletons Check refuses, with the words its
// error must contain.
func TestCheck(t *testing.T) {
	mk := func(nodes, parents []int64) *skeleton.Skeleton {
		s := &skeleton.Skeleton{ID: scoring.IntID(9), NodeID: nodes, Parent: parents, Rows: make([]int, len(nodes)), RowKind: "line"}
		for i := range nodes {
			s.Points = append(s.Points, [3]float64{float64(i), 0, 0})
			s.Rows[i] = i + 1
		}
		return s
	}
	nan := mk([]int64{1, 2}, []int64{-1, 1})
	nan.Points[1][2] = math.NaN()
	tests := []struct {
		name string
		s    *skeleton.Skeleton
		want []string
	}{
		{"empty", mk(nil, nil), []string{"neuron 9", "no nodes"}},
		{"cycle", mk([]int64{1, 2, 3, 4}, []int64{-1, 3, 4, 2}), []string{"line 2 (node 2)", "cycle (2 -> 3 -> 4 -> 2)"}},
		{"self", mk([]int64{1, 2}, []int64{-1, 2}), []string{"line 2 (node 2)", "its own parent"}},
		{"no root", mk([]int64{1, 2}, []int64{2, 1}), []string{"no root"}},
		{"missing parent", mk([]int64{1, 2}, []int64{-1, 7}), []string{"line 2 (node 2)", "parent 7 does not exist"}},
		{"duplicate", mk([]int64{1, 1}, []int64{-1, -1}), []string{"line 2 (node 1)", "appears twice", "line 1"}},
		{"negative id", mk([]int64{-3}, []int64{-1}), []string{"negative node id -3"}},
		{"NaN", nan, []string{"line 2 (node 2)", "not finite"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Check()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}
	if err := mk([]int64{1, 2, 5}, []int64{-1, 1, -1}).Check(); err != nil {
		t.Errorf("two roots (a skeleton in fragments, as navis allows): %v", err)
	}
}
