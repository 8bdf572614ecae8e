package smatbuild

// Building a scoring matrix as a Beam job (runner smat --beam): the pairs
// are elements, in batches; a worker counts each batch's (distance, |dot|)
// point matches into histograms of the matrix's cells (Counter);
// the histograms are summed by a global Combine and the one sum becomes the
// matrix, written as a CSV in navis' layout. Counts are integers, so the
// result does not depend on how the runner splits or orders the work.

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatcsv"
)

func init() {
	register.DoFn3x1[context.Context, Batch, func(Hist), error](&smatCountFn{})
	register.Combiner1[Hist](&smatMergeFn{})
	register.DoFn2x1[context.Context, Hist, error](&smatWriteFn{})
	register.Emitter1[Hist]()
	beam.RegisterType(reflect.TypeOf((*Batch)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Hist)(nil)).Elem())
}

// Job describes a scoring-matrix build: where the neurons are, how to
// read them, the bins, and where the matrix goes.
type Job struct {
	Files    []string // dotprops Parquet files, in the order their neurons are indexed
	Scale    float64  // µm per input coordinate unit (0: µm), as dotprops.ReadOptions.Scale
	UseAlpha bool     // weight |dot| by sqrt(alpha_q · alpha_t)
	// IDs are the neurons' ids (ID.String()) in index order: Files read in
	// order, neurons in order of first appearance. A worker refuses to count
	// when what it reads differs.
	IDs                 []string
	DistEdges, DotEdges []float64 // µm; |dot|
	Out                 string    // the matrix CSV (local or gs://), written atomically
}

// Batch is one element of the job: pairs of neuron indices (into
// Job.IDs), all matching or all non-matching.
type Batch struct {
	NonMatch bool
	Q, T     []int32
}

// Hist is the counts of some pairs: M (matching) and N (non-matching)
// per cell, row-major by distance bin; nil until something is counted.
type Hist struct {
	M, N []int64
}

// Counters of a smat job (namespace nblast).
var (
	smatPairs      = beam.NewCounter("nblast", "smat_pairs")
	smatMatchPts   = beam.NewCounter("nblast", "smat_match_points")
	smatNonMatchPt = beam.NewCounter("nblast", "smat_nonmatch_points")
)

// SmatBatchSize is how many pairs one element holds.
const SmatBatchSize = 64

// Build adds the job to s: match and nonmatch (indices into job.IDs)
// in batches of SmatBatchSize, spread over the workers (Reshuffle),
// counted, summed and written to job.Out.
func Build(s beam.Scope, job Job, match, nonmatch []Pair) {
	s = s.Scope("Smat")
	var batches []Batch
	add := func(pairs []Pair, non bool) {
		for len(pairs) > 0 {
			n := min(len(pairs), SmatBatchSize)
			b := Batch{NonMatch: non, Q: make([]int32, n), T: make([]int32, n)}
			for k, p := range pairs[:n] {
				b.Q[k], b.T[k] = p.Q, p.T
			}
			batches = append(batches, b)
			pairs = pairs[n:]
		}
	}
	add(match, false)
	add(nonmatch, true)
	elems := beam.Reshuffle(s, beam.CreateList(s, batches))
	hists := beam.ParDo(s, &smatCountFn{Job: job}, elems)
	total := beam.Combine(s, &smatMergeFn{}, hists)
	beam.ParDo0(s, &smatWriteFn{Job: job}, total)
}

type smatCountFn struct {
	Job Job

	neurons []*scoring.Neuron
	b       *Counter
}

// smatNeurons caches one process's neurons per job (prism runs many
// bundles in one process): key = the job's files, scale and alpha.
var smatNeurons struct {
	sync.Mutex
	key string
	ns  []*scoring.Neuron
}

// LoadNeurons reads the job's neurons (validated, prepared for search)
// and checks that they are job.IDs, in order.
func LoadNeurons(ctx context.Context, job Job) ([]*scoring.Neuron, error) {
	ns, err := smatRead(ctx, job)
	if err != nil {
		return nil, err
	}
	if len(ns) != len(job.IDs) {
		return nil, fmt.Errorf("smat: the inputs %s now hold %d neurons, %d when the job was planned: rerun", strings.Join(job.Files, ", "), len(ns), len(job.IDs))
	}
	for i, n := range ns {
		if n.ID.String() != job.IDs[i] {
			return nil, fmt.Errorf("smat: neuron %d of the inputs is %s, %s when the job was planned: rerun", i, n.ID, job.IDs[i])
		}
	}
	return ns, nil
}

// smatRead reads the job's files once per process (the last job's
// neurons are kept; a local file that changed, by size or time, is read
// again).
func smatRead(ctx context.Context, job Job) ([]*scoring.Neuron, error) {
	key := fmt.Sprintf("%q %v %v", job.Files, job.Scale, job.UseAlpha)
	for _, f := range job.Files {
		if st, err := os.Stat(f); err == nil && !files.IsRemote(f) {
			key += fmt.Sprintf(" %d@%d", st.Size(), st.ModTime().UnixNano())
		}
	}
	smatNeurons.Lock()
	defer smatNeurons.Unlock()
	if smatNeurons.key == key {
		return smatNeurons.ns, nil
	}
	var ns []*scoring.Neuron
	opt := dotprops.ReadOptions{Scale: job.Scale, IgnoreAlpha: !job.UseAlpha}
	for _, f := range job.Files {
		dps, err := dotprops.ReadDotpropsFile(ctx, f, opt)
		if err != nil {
			return nil, err
		}
		for _, d := range dps {
			if job.UseAlpha && !d.HasAlpha() {
				return nil, fmt.Errorf("%s: neuron %s has no alpha values, which use_alpha needs", f, d.ID)
			}
			n, err := scoring.NewNeuron(d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			ns = append(ns, n)
		}
	}
	smatNeurons.key, smatNeurons.ns = key, ns
	return ns, nil
}

func (f *smatCountFn) Setup(ctx context.Context) error {
	var err error
	if f.b, err = NewCounter(f.Job.DistEdges, f.Job.DotEdges, f.Job.UseAlpha); err != nil {
		return err
	}
	f.neurons, err = LoadNeurons(ctx, f.Job)
	return err
}

func (f *smatCountFn) ProcessElement(ctx context.Context, b Batch, emit func(Hist)) error {
	if len(b.Q) != len(b.T) {
		return fmt.Errorf("smat batch: %d queries, %d targets", len(b.Q), len(b.T))
	}
	pairs := make([]Pair, len(b.Q))
	for k := range pairs {
		pairs[k] = Pair{Q: b.Q[k], T: b.T[k]}
	}
	counts, err := f.b.CountPairs(f.neurons, pairs, 1, nil)
	if err != nil {
		return err
	}
	smatPairs.Inc(ctx, int64(len(pairs)))
	h := Hist{}
	if b.NonMatch {
		h.N = counts
	} else {
		h.M = counts
	}
	emit(h)
	return nil
}

type smatMergeFn struct{}

// MergeAccumulators adds b's counts to a's (a nil side takes the other's).
func (smatMergeFn) MergeAccumulators(a, b Hist) Hist {
	merge := func(x, y []int64) []int64 {
		if x == nil {
			return slices.Clone(y)
		}
		AddCounts(x, y)
		return x
	}
	return Hist{M: merge(a.M, b.M), N: merge(a.N, b.N)}
}

type smatWriteFn struct {
	Job Job
}

func (f *smatWriteFn) ProcessElement(ctx context.Context, h Hist) error {
	n := (len(f.Job.DistEdges) - 1) * (len(f.Job.DotEdges) - 1)
	if h.M == nil {
		h.M = make([]int64, n)
	}
	if h.N == nil {
		h.N = make([]int64, n)
	}
	smatMatchPts.Inc(ctx, SumCounts(h.M))
	smatNonMatchPt.Inc(ctx, SumCounts(h.N))
	m, err := BuildMatrix(f.Job.Out, f.Job.DistEdges, f.Job.DotEdges, h.M, h.N)
	if err != nil {
		return err
	}
	return smatcsv.Save(ctx, f.Job.Out, m)
}
