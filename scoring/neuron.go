package scoring

import "math"

// Neuron is a validated dotprops prepared for scoring: its points, tangents
// and alphas reordered into kd-tree order (so that a search touches
// contiguous memory and consecutive query points lie close together), its
// search tree, and the boxes used by UpperBound. Build it once per neuron with
// NewNeuron and reuse it for every pair it takes part in, as query or as
// target. A Neuron is read-only and safe for concurrent use.
type Neuron struct {
	ID ID

	pts   [][3]float64 // tree order
	vecs  [][3]float64 // tree order
	alpha []float64    // tree order; nil without alpha
	tree  kdTree

	box    box      // bounding box of all points
	groups []group  // disjoint point groups (kd subtrees) with their boxes
	gboxes []boxes8 // the groups' boxes again, by axis (groupgap.go)
	lboxes []boxes8 // the tree's leaves' boxes, by axis (leafBounds)
}

// box is an axis-aligned bounding box in µm.
type box struct{ lo, hi [3]float64 }

// group is a run of tree-ordered points and their bounding box.
type group struct {
	box
	n int
}

// groupSize is the most points in one UpperBound group.
const groupSize = 64

// NewNeuron validates d and builds its search tree. d is not modified.
func NewNeuron(d *Dotprops) (*Neuron, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	n := d.Len()
	pts := append([][3]float64(nil), d.Points...)
	tree, perm := buildKDTree(pts)
	nr := &Neuron{ID: d.ID, pts: pts, tree: tree, vecs: make([][3]float64, n)}
	for k, i := range perm {
		nr.vecs[k] = d.Vectors[i]
	}
	if d.HasAlpha() {
		nr.alpha = make([]float64, n)
		for k, i := range perm {
			nr.alpha[k] = d.Alpha[i]
		}
	}
	nr.box = boundingBox(pts)
	nr.collectGroups(0)
	nr.gboxes = groupBoxes(nr.groups)
	nr.lboxes = leafBoxes(&nr.tree)
	return nr, nil
}

// Len is the number of points.
func (n *Neuron) Len() int { return len(n.pts) }

// EachNearest calls visit once for every point of q, in q's tree order,
// with the exact float64 Euclidean distance (µm) from it to its nearest
// point of t and the |dot| of their tangents, times sqrt(alpha_q · alpha_t)
// when useAlpha (both neurons must then have alpha). It is the unbounded,
// unpruned search navis' LookupDistDotBuilder counts with.
func (q *Neuron) EachNearest(t *Neuron, useAlpha bool, visit func(dist, dot float64)) {
	hint := int32(-1)
	for i := range q.pts {
		// Points are in tree order: the previous point's neighbour is a
		// good hint. Unbounded, so there is always a neighbour.
		j, d2 := t.tree.nearest(&q.pts[i], hint, math.Inf(1))
		hint = j
		dot := absDot(&q.vecs[i], &t.vecs[j])
		if useAlpha {
			dot *= math.Sqrt(q.alpha[i] * t.alpha[j])
		}
		visit(math.Sqrt(d2), dot)
	}
}

// HasAlpha reports whether the neuron carries alpha values.
func (n *Neuron) HasAlpha() bool { return n.alpha != nil }

func (n *Neuron) collectGroups(ni int32) {
	nd := &n.tree.nodes[ni]
	if nd.end-nd.start <= groupSize || nd.right == 0 {
		pts := n.pts[nd.start:nd.end]
		n.groups = append(n.groups, group{box: boundingBox(pts), n: len(pts)})
		return
	}
	n.collectGroups(ni + 1)
	n.collectGroups(nd.right)
}

func boundingBox(pts [][3]float64) box {
	b := box{lo: pts[0], hi: pts[0]}
	for _, p := range pts[1:] {
		for k := 0; k < 3; k++ {
			b.lo[k] = math.Min(b.lo[k], p[k])
			b.hi[k] = math.Max(b.hi[k], p[k])
		}
	}
	return b
}

// dist returns the smallest Euclidean distance between any point of a and
// any point of c (0 when they overlap).
func (a *box) dist(c *box) float64 { return math.Sqrt(a.dist2(c)) }

// dist2 is the square of dist before its square root: the nearest of
// several boxes by dist2 is the nearest by dist, and the square root of
// the least dist2 is the least dist, to the bit (the square root is
// correctly rounded, hence monotone).
func (a *box) dist2(c *box) float64 {
	var s float64
	for k := 0; k < 3; k++ {
		var g float64
		if a.lo[k] > c.hi[k] {
			g = a.lo[k] - c.hi[k]
		} else if c.lo[k] > a.hi[k] {
			g = c.lo[k] - a.hi[k]
		}
		s += g * g
	}
	return s
}
