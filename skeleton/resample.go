package skeleton

import (
	"fmt"
	"math"
	"sort"
)

// Resample returns s resampled to one node every step units of cable (µm
// after Convert), bit for bit as navis 1.12's
// navis.resample_skeleton(x, step) (method "linear") computes the node
// table in float64:
//
//   - s is cut into small segments ("small_segments"): one from every leaf
//     and every branch point that is not a root, in row order, up the
//     parents to the next branch point or root (both ends included);
//   - along each segment the cable distance is the running sum, over all
//     segments in that order, of the node-to-node steps
//     sqrt((dx²+dy²)+dz²), minus its value at the segment's start;
//   - a segment shorter than step keeps only its first node (its end is a
//     branch point or root, kept by its own segment or as a root);
//   - a longer one of cable L gets n = round_half_even(L/step)+1 evenly
//     spaced samples, linearly interpolated as numpy.interp does on navis'
//     axis "segment index + 0.5·distance/L"; all but the last (the end
//     node) become nodes, the first keeping the start node's id, the others
//     new ids counted from max(node id)+1 as navis numbers them;
//   - the roots follow, unchanged, in row order; a node id already present
//     is dropped (navis' drop of duplicates).
//
// Rows of the result are in navis' order, so its nodes, as points, are
// what navis.make_dotprops(x, k, resample=step) makes dotprops of. Roots,
// leaves and branch points keep their positions and ids. s must pass
// Check; step must be a positive finite number.
func Resample(s *Skeleton, step float64) (*Skeleton, error) {
	if !(step > 0) || math.IsInf(step, 0) {
		return nil, fmt.Errorf("neuron %s: resampling spacing %v is not a positive number", s.ID, step)
	}
	n := s.Len()
	index := make(map[int64]int32, n)
	var maxID int64
	for i, id := range s.NodeID {
		index[id] = int32(i)
		maxID = max(maxID, id)
	}
	parentRow := make([]int32, n) // -1 for roots
	children := make([]int32, n)
	for i, p := range s.Parent {
		parentRow[i] = -1
		if p >= 0 {
			parentRow[i] = index[p]
			children[parentRow[i]]++
		}
	}
	// Small segments, seeds in row order (navis' _break_segments).
	var flat []int32 // rows of all segments, concatenated
	var offsets []int
	for i := range n {
		if parentRow[i] < 0 || children[i] == 1 {
			continue // roots and nodes inside a segment are not seeds
		}
		offsets = append(offsets, len(flat))
		j := int32(i)
		flat = append(flat, j)
		for {
			j = parentRow[j]
			flat = append(flat, j)
			if parentRow[j] < 0 || children[j] > 1 {
				break
			}
		}
	}
	offsets = append(offsets, len(flat))
	nseg := len(offsets) - 1

	// Cumulative distance: one running sum over all segments in order
	// (numpy's cumsum, sequential), the step into each segment's first
	// node zeroed, minus the sum at the segment's start.
	dist := make([]float64, len(flat))
	cum := 0.0
	for g := range nseg {
		for i := offsets[g]; i < offsets[g+1]; i++ {
			if i > offsets[g] {
				a, b := &s.Points[flat[i-1]], &s.Points[flat[i]]
				dx, dy, dz := b[0]-a[0], b[1]-a[1], b[2]-a[2]
				// np.linalg.norm(axis=1): sqrt of the sum of squares, added in order.
				cum += math.Sqrt(float64(float64(dx*dx)+float64(dy*dy)) + float64(dz*dz))
			}
			dist[i] = cum
		}
		start := dist[offsets[g]]
		for i := offsets[g]; i < offsets[g+1]; i++ {
			dist[i] -= start
		}
	}

	// navis' interpolation axis: segment g spans [g, g+0.5].
	xp := make([]float64, len(flat))
	for g := range nseg {
		cable := dist[offsets[g+1]-1]
		safe := cable
		if !(cable > 0) {
			safe = 1
		}
		base := float64(g)
		for i := offsets[g]; i < offsets[g+1]; i++ {
			xp[i] = base + float64(0.5*dist[i])/safe
		}
	}

	out := &Skeleton{ID: s.ID}
	add := func(node, parent int64, p [3]float64) {
		out.NodeID = append(out.NodeID, node)
		out.Parent = append(out.Parent, parent)
		out.Points = append(out.Points, p)
	}
	nextID := maxID + 1 // navis: nodes.node_id.max() + 1
	for g := range nseg {
		first, last := flat[offsets[g]], flat[offsets[g+1]-1]
		cable := dist[offsets[g+1]-1]
		if cable < step {
			add(s.NodeID[first], s.NodeID[last], s.Points[first])
			continue
		}
		npts := int64(math.RoundToEven(cable/step)) + 1
		idBase := nextID
		nextID += npts // navis advances by n, using n-2 (gaps, unique)
		base := float64(g)
		for w := int64(0); w < npts-1; w++ {
			x := base + float64(0.5*float64(w))/float64(npts-1)
			p := interp(x, xp, flat, s.Points)
			node := s.NodeID[first]
			if w > 0 {
				node = idBase + w - 1
			}
			parent := s.NodeID[last]
			if w < npts-2 {
				parent = idBase + w
			}
			add(node, parent, p)
		}
	}
	for i := range n {
		if parentRow[i] < 0 {
			add(s.NodeID[i], s.Parent[i], s.Points[i])
		}
	}
	// Drop repeated node ids, keeping the first (navis'
	// new_nodes[~new_nodes.node_id.duplicated()]).
	seen := make(map[int64]struct{}, len(out.NodeID))
	k := 0
	for i, id := range out.NodeID {
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out.NodeID[k], out.Parent[k], out.Points[k] = id, out.Parent[i], out.Points[i]
		k++
	}
	out.NodeID, out.Parent, out.Points = out.NodeID[:k], out.Parent[:k], out.Points[:k]
	return out, nil
}

// interp is numpy.interp(x, xp, fp) for each coordinate, fp[i] =
// pts[flat[i]], with numpy's arithmetic: j is the last index with
// xp[j] <= x; x at or beyond the last knot, or exactly on knot j, gives
// fp[j]; otherwise slope·(x − xp[j]) + fp[j] with slope =
// (fp[j+1] − fp[j]) / (xp[j+1] − xp[j]). xp is non-decreasing; x >= xp[0].
func interp(x float64, xp []float64, flat []int32, pts [][3]float64) [3]float64 {
	j := sort.Search(len(xp), func(i int) bool { return xp[i] > x }) - 1
	if j < 0 {
		j = 0
	}
	if j == len(xp)-1 || xp[j] == x {
		return pts[flat[j]]
	}
	a, b := &pts[flat[j]], &pts[flat[j+1]]
	var r [3]float64
	for k := range 3 {
		slope := (b[k] - a[k]) / (xp[j+1] - xp[j])
		r[k] = float64(slope*(x-xp[j])) + a[k]
	}
	return r
}
