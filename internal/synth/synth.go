// Package synth generates a synthetic "brain" of neurons for benchmarks and
// end-to-end tests: branching random walks at ~1 µm spacing inside a
// 600 × 300 × 200 µm box, grouped into cell types whose members share a
// template walk, turned into dotprops with makedotprops.MakeDotprops (k = 5).
//
// Units: micrometres throughout (the FCWB scoring matrix assumes µm).
//
// Model (defaults in DefaultOptions):
//   - Neurons are split into cell types of MinTypeSize..MaxTypeSize members
//     (uniform; one smaller type only when N < MinTypeSize). Each type has a template: a branching random walk of T
//     points (T log-normal with median MedianPoints and log-sd SigmaLog,
//     clipped to [MinPoints, MaxPoints]) from a random origin. The walk
//     steps Step µm with persistent direction, starts a side branch every
//     ~BranchEvery steps, and reflects off walls Margin µm inside the box.
//   - A member keeps a prefix of the template (a fraction uniform in
//     [MinKeep, 1], at least MinPoints points; the walk order is depth-first
//     from the trunk, so the last branches are cut), rotated about the template origin by up to MaxRotation
//     degrees, translated by a Gaussian offset (sd Offset µm per axis, the
//     "nearby origin") and jittered per point (sd Jitter µm per axis); both
//     Gaussians are truncated at 3 sd, and points are clamped into the box.
//   - Neuron order is shuffled (types are not contiguous); ids are
//     FirstID + i (default 1e16 + i: above 2^53 ≈ 9.007e15, like real body
//     ids, so an id that passes through float64 is caught).
//
// Generation is deterministic for a given Options (the number of workers does
// not change the result): each type draws from its own PCG stream seeded by
// (Seed, type index).
package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/nblast-go/nblast/makedotprops"
	"github.com/nblast-go/nblast/scoring"
)

// Options configure Generate. Lengths are in µm.
type Options struct {
	N    int    // number of neurons (> 0)
	Seed uint64 // random seed

	Volume [3]float64 // box [0, Volume[i]] in µm that holds every point
	Margin float64    // template walks reflect this far (µm) inside the box

	K int // make_dotprops k

	Step        float64 // walk step, µm
	Persistence float64 // sd of the per-step direction perturbation (unit vector units); smaller is straighter
	BranchEvery float64 // mean steps between side branches
	BranchLen   float64 // mean length of a branch, steps

	MedianPoints float64 // median template size, points
	SigmaLog     float64 // sd of log(template size)
	MinPoints    int     // template sizes and kept prefixes have at least this many points
	MaxPoints    int     // template sizes are at most this many points

	MinTypeSize, MaxTypeSize int // members per cell type

	MinKeep     float64 // smallest kept fraction of the template
	MaxRotation float64 // largest rotation of a member about the template origin, degrees
	Offset      float64 // sd of a member's translation per axis, µm
	Jitter      float64 // sd of the per-point jitter per axis, µm

	FirstID int64 // id of the first neuron; neuron i gets FirstID + i
	Workers int   // goroutines; 0 means GOMAXPROCS
}

// DefaultOptions returns the default brain of n neurons for seed: sizes
// ~100 to 5,000 points (median ~350, mean ~485), types of 5 to 20 neurons
// (~800 types for 10,000 neurons).
func DefaultOptions(n int, seed uint64) Options {
	return Options{
		N:            n,
		Seed:         seed,
		Volume:       [3]float64{600, 300, 200},
		Margin:       15,
		K:            5,
		Step:         1,
		Persistence:  0.25,
		BranchEvery:  30,
		BranchLen:    45,
		MedianPoints: 420,
		SigmaLog:     0.8,
		MinPoints:    100,
		MaxPoints:    5000,
		MinTypeSize:  5,
		MaxTypeSize:  20,
		MinKeep:      0.75,
		MaxRotation:  4,
		Offset:       2,
		Jitter:       0.3,
		FirstID:      10_000_000_000_000_000,
	}
}

// Brain is a generated set of neurons.
type Brain struct {
	Neurons []*scoring.Dotprops // in id order
	Type    []int               // cell type of each neuron, 0 .. Types-1
	Types   int                 // number of cell types
	Points  int                 // total points over all neurons
}

// Generate returns n neurons of the default brain for seed (see
// DefaultOptions); nil if n <= 0.
func Generate(n int, seed uint64) []*scoring.Dotprops {
	if n <= 0 {
		return nil
	}
	b, err := GenerateOptions(DefaultOptions(n, seed))
	if err != nil {
		panic(err)
	}
	return b.Neurons
}

// GenerateOptions generates a brain under o, all in memory (see
// GenerateEach for one neuron at a time).
func GenerateOptions(o Options) (*Brain, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	b := &Brain{Neurons: make([]*scoring.Dotprops, 0, o.N), Type: make([]int, 0, o.N)}
	sum, err := GenerateEach(o, func(d *scoring.Dotprops, cellType int) error {
		b.Neurons = append(b.Neurons, d)
		b.Type = append(b.Type, cellType)
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.Types, b.Points = sum.Types, sum.Points
	return b, nil
}

// Summary describes a generated brain.
type Summary struct {
	Neurons int // number of neurons
	Types   int // number of cell types
	Points  int // total points over all neurons
}

// plan is what GenerateEach keeps for the whole brain before making any
// neuron: about 24 bytes per neuron, no points.
type plan struct {
	sizes  []int      // members of each cell type
	typeOf []int32    // cell type of neuron i (neuron i has id FirstID + i)
	start  []rand.PCG // state of its type's stream where neuron i's member draws begin
}

// makePlan splits the neurons into types, shuffles their order and runs
// every type's stream once (template and members, points discarded) to
// record where each member's draws begin, so that any neuron can then be
// made on its own: its type's template regenerated from the start of the
// stream, its member from the recorded state. The draws are those of
// makeType, so the neurons are the same as when a type's members are made
// together.
func (o *Options) makePlan(workers int) plan {
	master := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))

	// Split the neurons into types.
	var sizes []int
	for left := o.N; left > 0; {
		s := left
		if left > o.MaxTypeSize {
			s = o.MinTypeSize + master.IntN(min(o.MaxTypeSize, left-o.MinTypeSize)-o.MinTypeSize+1)
		}
		sizes = append(sizes, s)
		left -= s
	}

	// Shuffle the neuron order: pos[t][m] is the index (and FirstID + pos
	// the id) of member m of type t.
	pos := make([][]int, len(sizes))
	order := make([][2]int, 0, o.N)
	for t, s := range sizes {
		pos[t] = make([]int, s)
		for m := range s {
			order = append(order, [2]int{t, m})
		}
	}
	master.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i, r := range order {
		pos[r[0]][r[1]] = i
	}

	p := plan{sizes: sizes, typeOf: make([]int32, o.N), start: make([]rand.PCG, o.N)}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(sizes)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf [][3]float64
			for {
				t := int(next.Add(1)) - 1
				if t >= len(sizes) {
					return
				}
				src := rand.NewPCG(o.Seed, uint64(t)+1)
				rng := rand.New(src)
				tmpl, origin := o.template(rng)
				for m := range sizes[t] {
					i := pos[t][m]
					p.typeOf[i], p.start[i] = int32(t), *src
					buf = o.member(rng, tmpl, origin, buf[:0])
				}
			}
		}()
	}
	wg.Wait()
	return p
}

// neuron makes neuron i of plan p.
func (o *Options) neuron(p *plan, i int, buf [][3]float64) (*scoring.Dotprops, [][3]float64, error) {
	t := p.typeOf[i]
	tmpl, origin := o.template(rand.New(rand.NewPCG(o.Seed, uint64(t)+1)))
	src := p.start[i]
	buf = o.member(rand.New(&src), tmpl, origin, buf[:0])
	d, err := makedotprops.MakeDotprops(scoring.IntID(o.FirstID+int64(i)), buf, o.K)
	return d, buf, err
}

// GenerateEach generates the brain of o and calls each with its neurons in
// id order (the order of GenerateOptions' Neurons; cellType as its Type),
// one at a time: the same neurons as GenerateOptions, but only the ~24-byte
// plan per neuron and the neurons being made (a few per worker) are held,
// whatever o.N. Neurons are made in parallel by o.Workers goroutines; each
// is called from one goroutine, never concurrently, and may keep d. The
// first error of each stops the generation and is returned.
func GenerateEach(o Options, each func(d *scoring.Dotprops, cellType int) error) (Summary, error) {
	if err := o.check(); err != nil {
		return Summary{}, err
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := o.makePlan(workers)
	sum := Summary{Neurons: o.N, Types: len(p.sizes)}

	// Workers take neuron indices in order and deliver each neuron on its
	// own channel; the channels are queued in index order, so at most
	// window neurons are being made or waiting to be handed over.
	type result struct {
		i   int
		d   *scoring.Dotprops
		err error
	}
	type job struct {
		i   int
		out chan result
	}
	window := 4 * workers
	jobs := make(chan job, window)
	queue := make(chan chan result, window)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(jobs)
		defer close(queue)
		for i := range o.N {
			select {
			case <-done:
				return
			default:
			}
			out := make(chan result, 1)
			select {
			case queue <- out:
			case <-done:
				return
			}
			select {
			case jobs <- job{i, out}:
			case <-done:
				return
			}
		}
	}()
	for range workers {
		go func() {
			var buf [][3]float64
			for j := range jobs {
				select {
				case <-done:
					continue // the consumer stopped; just drain
				default:
				}
				r := result{i: j.i}
				r.d, buf, r.err = o.neuron(&p, j.i, buf)
				j.out <- r
			}
		}()
	}
	for out := range queue {
		r := <-out
		if r.err != nil {
			return Summary{}, fmt.Errorf("synth: %w", r.err)
		}
		if err := each(r.d, int(p.typeOf[r.i])); err != nil {
			return Summary{}, err
		}
		sum.Points += r.d.Len()
	}
	return sum, nil
}

func (o *Options) check() error {
	switch {
	case o.N <= 0:
		return fmt.Errorf("synth: the number of neurons must be > 0, got %d", o.N)
	case o.Volume[0] <= 2*o.Margin || o.Volume[1] <= 2*o.Margin || o.Volume[2] <= 2*o.Margin || o.Margin < 0:
		return fmt.Errorf("synth: volume %v µm leaves no room inside a margin of %v µm", o.Volume, o.Margin)
	case o.K < 2:
		return fmt.Errorf("synth: k must be >= 2, got %d", o.K)
	case o.Step <= 0 || o.Persistence < 0 || o.BranchEvery <= 0 || o.BranchLen <= 0:
		return errors.New("synth: step, branch_every and branch_len must be > 0, persistence >= 0")
	case o.MinPoints < 2 || o.MaxPoints < o.MinPoints || o.MedianPoints <= 0 || o.SigmaLog < 0:
		return fmt.Errorf("synth: bad size distribution (median %v, sigma %v, range [%d, %d])", o.MedianPoints, o.SigmaLog, o.MinPoints, o.MaxPoints)
	case o.MinTypeSize < 1 || o.MaxTypeSize < o.MinTypeSize:
		return fmt.Errorf("synth: bad type sizes [%d, %d]", o.MinTypeSize, o.MaxTypeSize)
	case o.MinKeep <= 0 || o.MinKeep > 1:
		return fmt.Errorf("synth: min_keep must be in (0, 1], got %v", o.MinKeep)
	case o.MaxRotation < 0 || o.Offset < 0 || o.Jitter < 0:
		return errors.New("synth: max_rotation, offset and jitter must be >= 0")
	case o.FirstID < 0 || o.FirstID > math.MaxInt64-int64(o.N):
		return fmt.Errorf("synth: first id %d overflows int64 for %d neurons", o.FirstID, o.N)
	}
	return nil
}

// template draws a type's template walk and its origin; len(tmpl) is the
// template size T.
func (o *Options) template(rng *rand.Rand) (tmpl [][3]float64, origin [3]float64) {
	t := int(math.Round(o.MedianPoints * math.Exp(o.SigmaLog*rng.NormFloat64())))
	t = min(max(t, o.MinPoints), o.MaxPoints)
	for a := range origin {
		origin[a] = o.Margin + rng.Float64()*(o.Volume[a]-2*o.Margin)
	}
	return o.walk(rng, t, origin), origin
}

// member draws the next member of the type with template tmpl from rng and
// appends its points (µm) to buf. A type's members are drawn one after the
// other from the stream that drew its template.
func (o *Options) member(rng *rand.Rand, tmpl [][3]float64, origin [3]float64, buf [][3]float64) [][3]float64 {
	t := len(tmpl)
	keep := int(math.Round((o.MinKeep + (1-o.MinKeep)*rng.Float64()) * float64(t)))
	keep = min(max(keep, o.MinPoints), t)
	rot := rotation(randomUnit(rng), o.MaxRotation*math.Pi/180*rng.Float64())
	var off [3]float64
	for a := range off {
		off[a] = truncNorm(rng) * o.Offset
	}
	for _, p := range tmpl[:keep] {
		var d, q [3]float64
		for a := range d {
			d[a] = p[a] - origin[a]
		}
		for a := range q {
			v := origin[a] + rot[a][0]*d[0] + rot[a][1]*d[1] + rot[a][2]*d[2] + off[a] + truncNorm(rng)*o.Jitter
			q[a] = min(max(v, 0), o.Volume[a])
		}
		buf = append(buf, q)
	}
	return buf
}

// branch is a pending side branch of a walk: where it starts, its initial
// direction and its length in steps.
type branch struct {
	start, dir [3]float64
	steps      int
}

// walk returns n points of a branching random walk from origin: steps of
// o.Step µm with a persistent direction, side branches pushed on a stack
// (so the point order is depth-first, trunk first) and reflection off the
// walls o.Margin µm inside the box.
func (o *Options) walk(rng *rand.Rand, n int, origin [3]float64) [][3]float64 {
	var lo, hi [3]float64
	for a := range lo {
		lo[a], hi[a] = o.Margin, o.Volume[a]-o.Margin
	}
	pts := make([][3]float64, 1, n)
	pts[0] = origin
	stack := []branch{{start: origin, dir: randomUnit(rng), steps: 2 * o.branchLen(rng)}}
	for len(pts) < n {
		if len(stack) == 0 { // sprout from a random earlier point
			stack = append(stack, branch{start: pts[rng.IntN(len(pts))], dir: randomUnit(rng), steps: o.branchLen(rng)})
		}
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		cur, dir := b.start, b.dir
		for s := 0; s < b.steps && len(pts) < n; s++ {
			for a := range dir {
				dir[a] += o.Persistence * rng.NormFloat64()
			}
			dir = unit(dir)
			var nxt [3]float64
			for a := range nxt {
				nxt[a] = cur[a] + o.Step*dir[a]
				if nxt[a] < lo[a] || nxt[a] > hi[a] { // reflect off the wall
					dir[a] = -dir[a]
					nxt[a] = cur[a] + o.Step*dir[a]
					nxt[a] = min(max(nxt[a], lo[a]), hi[a])
				}
			}
			pts = append(pts, nxt)
			cur = nxt
			if rng.Float64()*o.BranchEvery < 1 {
				var d [3]float64
				for a := range d {
					d[a] = dir[a] + 1.2*rng.NormFloat64()
				}
				stack = append(stack, branch{start: cur, dir: unit(d), steps: o.branchLen(rng)})
			}
		}
	}
	return pts
}

// branchLen draws a branch length in steps: exponential with mean
// o.BranchLen, at least 5.
func (o *Options) branchLen(rng *rand.Rand) int {
	return 5 + int(rng.ExpFloat64()*max(o.BranchLen-5, 1))
}

// truncNorm is a standard normal deviate truncated to [-3, 3].
func truncNorm(rng *rand.Rand) float64 {
	for {
		if z := rng.NormFloat64(); math.Abs(z) <= 3 {
			return z
		}
	}
}

func unit(v [3]float64) [3]float64 {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if n == 0 {
		return [3]float64{1, 0, 0}
	}
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

// randomUnit is a uniformly distributed unit vector.
func randomUnit(rng *rand.Rand) [3]float64 {
	return unit([3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()})
}

// rotation is the matrix of a rotation by angle (radians) about unit axis u
// (Rodrigues' formula).
func rotation(u [3]float64, angle float64) [3][3]float64 {
	c, s := math.Cos(angle), math.Sin(angle)
	t := 1 - c
	x, y, z := u[0], u[1], u[2]
	return [3][3]float64{
		{c + x*x*t, x*y*t - z*s, x*z*t + y*s},
		{y*x*t + z*s, c + y*y*t, y*z*t - x*s},
		{z*x*t - y*s, z*y*t + x*s, c + z*z*t},
	}
}
