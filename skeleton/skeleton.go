// Package skeleton reads neuron skeletons (SWC files and node tables),
// checks them, and resamples them with the semantics of navis 1.12
// (navis.read_swc, navis.resample_skeleton), so that their nodes can be
// turned into dotprops (makedotprops.MakeDotprops) as navis.make_dotprops(x, k,
// resample=R) does for a TreeNeuron.
//
// Units: a Skeleton's coordinates are whatever its source used until
// Convert puts them in µm; Resample's spacing is in the skeleton's units
// (µm after Convert), as navis takes resample_to in the neuron's units.
//
// The package is pure Go and imports no Beam.
package skeleton

import (
	"fmt"
	"math"
	"strings"

	"github.com/nblast-go/nblast/scoring"
)

// Skeleton is a neuron's node table, as navis holds a TreeNeuron's nodes:
// one row per node with its id, its parent's id (negative for a root) and
// its position. Rows are in source order, which Resample's output order
// depends on (as navis' does).
//
// Invariants (Check): at least one node; NodeID, Parent, Points and (when
// set) Rows have the same length; node ids are distinct and not negative;
// every non-negative parent id names a node; following parents from any
// node ends at a root (no cycles); coordinates are finite. Several roots
// (a skeleton in fragments) are allowed, as in navis.
type Skeleton struct {
	ID     scoring.ID
	NodeID []int64
	Parent []int64 // < 0: a root
	Points [][3]float64
	// Rows, when set, gives for each node where it came from (a 1-based
	// line of an SWC file, a row of a table), for error messages.
	Rows []int
	// RowKind names what Rows counts ("line", "row"); "row" when empty.
	RowKind string
}

// Len is the number of nodes.
func (s *Skeleton) Len() int { return len(s.NodeID) }

// where names node i's source row for error messages: "line 12" (or "node
// 7" when rows were not recorded).
func (s *Skeleton) where(i int) string {
	if i < len(s.Rows) {
		kind := s.RowKind
		if kind == "" {
			kind = "row"
		}
		return fmt.Sprintf("%s %d (node %d)", kind, s.Rows[i], s.NodeID[i])
	}
	return fmt.Sprintf("node %d", s.NodeID[i])
}

// Check verifies the invariants above. The error names the neuron, the
// node and its source row, and the problem; it is one line.
func (s *Skeleton) Check() error {
	n := len(s.NodeID)
	if n == 0 {
		return fmt.Errorf("neuron %s: no nodes", s.ID)
	}
	if len(s.Parent) != n || len(s.Points) != n || (s.Rows != nil && len(s.Rows) != n) {
		return fmt.Errorf("neuron %s: %d node ids, %d parent ids, %d positions: one of each per node", s.ID, n, len(s.Parent), len(s.Points))
	}
	index := make(map[int64]int32, n)
	for i, id := range s.NodeID {
		if id < 0 {
			return fmt.Errorf("neuron %s: %s: negative node id %d (node ids must be >= 0; -1 marks a root's parent)", s.ID, s.where(i), id)
		}
		if j, dup := index[id]; dup {
			return fmt.Errorf("neuron %s: %s: node id %d appears twice (first at %s): node ids must be unique", s.ID, s.where(i), id, s.where(int(j)))
		}
		index[id] = int32(i)
		p := s.Points[i]
		if !finite(p[0]) || !finite(p[1]) || !finite(p[2]) {
			return fmt.Errorf("neuron %s: %s: coordinates (%v, %v, %v) are not finite numbers", s.ID, s.where(i), p[0], p[1], p[2])
		}
	}
	roots := 0
	for i, p := range s.Parent {
		if p < 0 {
			roots++
			continue
		}
		if p == s.NodeID[i] {
			return fmt.Errorf("neuron %s: %s is its own parent: a cycle (a root's parent must be -1)", s.ID, s.where(i))
		}
		if _, ok := index[p]; !ok {
			return fmt.Errorf("neuron %s: %s: parent %d does not exist (no node has that id; a root's parent must be -1)", s.ID, s.where(i), p)
		}
	}
	if roots == 0 {
		return fmt.Errorf("neuron %s: no root (no node with parent -1): the parents form a cycle", s.ID)
	}
	// Cycles: walk up from every node, marking the nodes whose path to a
	// root is known (state 2) and those on the current path (state 1).
	state := make([]uint8, n)
	var path []int32
	for i := range n {
		j := int32(i)
		path = path[:0]
		for state[j] == 0 {
			state[j] = 1
			path = append(path, j)
			p := s.Parent[j]
			if p < 0 {
				break
			}
			j = index[p]
			if state[j] == 1 {
				return fmt.Errorf("neuron %s: %s: its parents form a cycle (%s): a skeleton must be a tree or several trees", s.ID, s.where(int(j)), s.cycleText(j, index))
			}
		}
		for _, q := range path {
			state[q] = 2
		}
	}
	return nil
}

// cycleText lists the node ids of the cycle through node j (at most 8).
func (s *Skeleton) cycleText(j int32, index map[int64]int32) string {
	ids := []string{fmt.Sprint(s.NodeID[j])}
	for q := index[s.Parent[j]]; q != j; q = index[s.Parent[q]] {
		if len(ids) == 8 {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, fmt.Sprint(s.NodeID[q]))
	}
	return strings.Join(ids, " -> ") + " -> " + fmt.Sprint(s.NodeID[j])
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Units converts coordinates to µm exactly as navis' reference data was
// made: v * Mul / Div, each step one correctly rounded float64 operation
// (8 nm voxels: Mul 8, Div 1000, so v*8/1000 is the float64 nearest
// v/125). The zero value (and Mul = Div = 1) leaves coordinates unchanged.
type Units struct{ Mul, Div float64 }

// Apply converts one coordinate.
func (u Units) Apply(v float64) float64 {
	if u.Mul == 0 && u.Div == 0 {
		return v
	}
	return v * u.Mul / u.Div
}

// Factor is the number of µm per unit, Mul / Div (1 for the zero value).
func (u Units) Factor() float64 {
	if u.Mul == 0 && u.Div == 0 {
		return 1
	}
	return u.Mul / u.Div
}

// Convert applies u to every coordinate of s in place.
func (s *Skeleton) Convert(u Units) {
	for i := range s.Points {
		p := &s.Points[i]
		p[0], p[1], p[2] = u.Apply(p[0]), u.Apply(p[1]), u.Apply(p[2])
	}
}
