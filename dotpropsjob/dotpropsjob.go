package dotpropsjob

// Making dotprops from skeletons and point clouds (`runner dotprops`): a
// parallel, streaming local engine (WriteFrom) and the Beam
// composite that runs it per shard of the inputs on a cluster
// (MakeParts).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/transforms"
)

func init() {
	register.DoFn3x1[context.Context, int, func(string), error](&dotpropsPartFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&dotpropsManifestFn{})
	register.Emitter1[string]()
	register.Iter1[string]()
}

// Job says how to make dotprops (see MakeNeuronDotprops).
type Job struct {
	K        int                        // nearest neighbours per point, itself included (navis' k)
	Resample float64                    // µm between a skeleton's nodes after resampling; 0: not resampled
	Read     dotprops.NeuronReadOptions // units and id rules of the inputs
	Workers  int                        // goroutines computing dotprops; 0: GOMAXPROCS
}

// Stats counts what WriteFrom did.
type Stats struct {
	Files     int   // input files read
	Neurons   int   // neurons written
	Skeletons int   // of which skeletons (the rest point clouds)
	InPoints  int64 // input nodes and points
	Points    int64 // dotprops points written
}

// Progress counts, for a local run's progress line, the input
// files read and the neurons and points written so far by
// WriteFrom in this process.
var Progress struct {
	Files, Neurons, Points atomic.Int64
}

var (
	dotpropsNeurons = beam.NewCounter("nblast", "dotprops_neurons")
	dotpropsPoints  = beam.NewCounter("nblast", "dotprops_points")
)

// WriteFrom reads the neurons of paths (ReadNeuronInputs), makes
// their dotprops (MakeNeuronDotprops) on job.Workers goroutines and writes
// them to w as one navis-layout dotprops Parquet file (DotpropsWriter,
// with alpha, units "1 micrometer"), in input order: files in the order
// given, neurons in file order. The bytes do not depend on the number of
// workers or on timing. SWC files are read and parsed by the workers (one
// neuron each); tables are read by one goroutine, a neuron at a time, and
// their neurons handed to the workers. Memory holds at most 2·workers
// neurons (inputs and dotprops) besides the writer's row group.
//
// The first bad neuron in input order (reading, checking, making or
// writing it fails) stops the work and its error is returned, whatever
// the timing; what was written to w is then incomplete and must be
// discarded (the caller writes through files.Create and aborts). w is not
// closed.
func WriteFrom(ctx context.Context, paths []string, job Job, w io.Writer) (Stats, error) {
	var st Stats
	if job.K < 1 {
		return st, fmt.Errorf("k must be >= 1, got %d", job.K)
	}
	workers := job.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A task is a neuron read (in), one to read (load: an SWC file), or
	// the error that ended the reading of a file (err), at its place seq
	// in input order.
	type task struct {
		seq  int
		in   *dotprops.NeuronInput
		load func() (*dotprops.NeuronInput, error)
		err  error
	}
	type result struct {
		seq      int
		source   string
		d        *scoring.Dotprops
		skeleton bool
		inPoints int
		err      error
	}
	tasks := make(chan task)
	results := make(chan result, workers)
	tokens := make(chan struct{}, 2*workers) // tasks in flight
	send := func(t task) bool {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		select {
		case tasks <- t:
			return true
		case <-ctx.Done():
			return false
		}
	}

	// Reader: files in order, neurons in file order.
	go func() {
		defer close(tasks)
		seq := 0
		for _, p := range paths {
			if dotprops.IsSWC(p) {
				p := p
				load := func() (*dotprops.NeuronInput, error) {
					var got *dotprops.NeuronInput
					err := dotprops.ReadSWCInput(ctx, p, job.Read, func(in *dotprops.NeuronInput) error { got = in; return nil })
					return got, err
				}
				if !send(task{seq: seq, load: load}) {
					return
				}
				seq++
				continue
			}
			err := dotprops.ReadNeuronInputs(ctx, p, job.Read, func(in *dotprops.NeuronInput) error {
				if !send(task{seq: seq, in: in}) {
					return ctx.Err()
				}
				seq++
				return nil
			})
			if err != nil {
				send(task{seq: seq, err: err})
				return
			}
			Progress.Files.Add(1)
		}
	}()
	// Workers.
	var cw sync.WaitGroup
	for range workers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for t := range tasks {
				r := result{seq: t.seq, err: t.err}
				in := t.in
				if t.load != nil {
					if in, r.err = t.load(); r.err == nil {
						Progress.Files.Add(1)
					}
				}
				if r.err == nil {
					r.source, r.skeleton = in.Source, in.Skeleton != nil
					r.inPoints = len(in.Points)
					if in.Skeleton != nil {
						r.inPoints = in.Skeleton.Len()
					}
					r.d, r.err = dotprops.MakeNeuronDotprops(in, job.K, job.Resample)
				}
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { cw.Wait(); close(results) }()

	// Writer: in input order.
	var dw *dotprops.DotpropsWriter
	pending := map[int]result{}
	next := 0
	var firstErr error
	for r := range results {
		if firstErr != nil {
			continue // draining
		}
		pending[r.seq] = r
		for firstErr == nil {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if r.err != nil {
				firstErr = r.err
				break
			}
			if dw == nil {
				var err error
				if dw, err = dotprops.NewDotpropsWriter(w, r.d.ID.IsStr, true); err != nil {
					firstErr = err
					break
				}
			}
			if err := dw.Write(r.d); err != nil {
				firstErr = fmt.Errorf("%s: neuron %s: %w", r.source, r.d.ID, err)
				break
			}
			st.Neurons++
			st.Points += int64(r.d.Len())
			st.InPoints += int64(r.inPoints)
			if r.skeleton {
				st.Skeletons++
			}
			Progress.Neurons.Add(1)
			Progress.Points.Add(int64(r.d.Len()))
		}
		if firstErr != nil {
			cancel()
		}
	}
	if firstErr == nil {
		// Every task was written unless the caller's ctx ended the work.
		if err := ctx.Err(); err != nil {
			firstErr = err
		} else if len(pending) > 0 {
			firstErr = fmt.Errorf("internal error: %d neurons left unwritten", len(pending))
		}
	}
	st.Files = len(paths)
	if dw == nil {
		if firstErr == nil {
			firstErr = fmt.Errorf("no neurons in %d input file(s)", len(paths))
		}
		return st, firstErr
	}
	if err := dw.Close(); firstErr == nil && err != nil {
		firstErr = err
	}
	return st, firstErr
}

// WriteFile is WriteFrom into the file out (local or
// gs://), written atomically: readers see the whole file or none, and a
// failed run leaves nothing at out.
func WriteFile(ctx context.Context, paths []string, job Job, out string) (Stats, int64, error) {
	fw, err := files.Create(ctx, out)
	if err != nil {
		return Stats{}, 0, err
	}
	defer fw.Abort() // no-op after Commit
	cw := &byteCounter{w: fw}
	bw := bufio.NewWriterSize(cw, 1<<20)
	st, err := WriteFrom(ctx, paths, job, bw)
	if err != nil {
		return st, 0, err
	}
	if err := bw.Flush(); err != nil {
		return st, 0, err
	}
	if err := fw.Commit(); err != nil {
		return st, 0, err
	}
	return st, cw.n, nil
}

type byteCounter struct {
	w io.Writer
	n int64
}

func (c *byteCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// InputsFile is the name, under a Beam run's output directory, of
// the list of input files (JSON array) that the workers read their shards
// from; Manifest is the file the last step writes once every part
// is written: the part names (JSON), the mark of a complete output.
const (
	InputsFile = "_dotprops_inputs.json"
	Manifest   = "_SUCCESS"
)

// PartName is the file name of shard i's part.
func PartName(i int) string { return fmt.Sprintf("part-%05d.parquet", i) }

// MakeParts adds to s the Beam job of `runner dotprops` on a
// cluster: shard i of the input files listed in out/InputsFile
// (files [i·shardSize, (i+1)·shardSize)) becomes out/part-0000i.parquet,
// written by WriteFile on one worker (atomically, the same bytes
// on a retry); once all parts exist, out/_SUCCESS lists them. The input
// list must have been written (WriteInputs) before the job runs.
func MakeParts(s beam.Scope, out string, nfiles, shardSize int, job Job) {
	s = s.Scope("MakeDotprops")
	nshards := (nfiles + shardSize - 1) / shardSize
	idx := make([]int, nshards)
	for i := range idx {
		idx[i] = i
	}
	shards := beam.Reshuffle(s, beam.CreateList(s, idx))
	parts := beam.ParDo(s, &dotpropsPartFn{Out: out, ShardSize: shardSize, Job: job}, shards)
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, parts))
	beam.ParDo0(s, &dotpropsManifestFn{Out: out, Parts: nshards}, grouped)
}

// WriteInputs writes the input list for MakeParts.
func WriteInputs(ctx context.Context, out string, paths []string) error {
	b, err := json.Marshal(paths)
	if err != nil {
		return err
	}
	return files.WriteFile(ctx, files.Join(out, InputsFile), b)
}

// inputLists caches each output's input list per worker process.
var inputLists sync.Map // out -> []string

func readInputs(ctx context.Context, out string) ([]string, error) {
	if v, ok := inputLists.Load(out); ok {
		return v.([]string), nil
	}
	b, err := files.ReadFile(ctx, files.Join(out, InputsFile))
	if err != nil {
		return nil, err
	}
	var paths []string
	if err := json.Unmarshal(b, &paths); err != nil {
		return nil, fmt.Errorf("%s: %w", files.Join(out, InputsFile), err)
	}
	inputLists.Store(out, paths)
	return paths, nil
}

// dotpropsPartFn writes the part of one shard and emits its path.
type dotpropsPartFn struct {
	Out       string
	ShardSize int
	Job       Job
}

func (f *dotpropsPartFn) ProcessElement(ctx context.Context, shard int, emit func(string)) error {
	paths, err := readInputs(ctx, f.Out)
	if err != nil {
		return err
	}
	lo := shard * f.ShardSize
	hi := min(lo+f.ShardSize, len(paths))
	if lo >= hi {
		return fmt.Errorf("shard %d: out of range of the %d inputs in %s", shard, len(paths), InputsFile)
	}
	part := files.Join(f.Out, PartName(shard))
	st, _, err := WriteFile(ctx, paths[lo:hi], f.Job, part)
	if err != nil {
		return transforms.BadInput(err)
	}
	dotpropsNeurons.Inc(ctx, int64(st.Neurons))
	dotpropsPoints.Inc(ctx, st.Points)
	emit(PartName(shard))
	return nil
}

// dotpropsManifestFn writes out/_SUCCESS once every part is written.
type dotpropsManifestFn struct {
	Out   string
	Parts int
}

func (f *dotpropsManifestFn) ProcessElement(ctx context.Context, _ int, parts func(*string) bool) error {
	var names []string
	var p string
	for parts(&p) {
		names = append(names, p)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) != f.Parts {
		return fmt.Errorf("%d of %d dotprops parts written", len(names), f.Parts)
	}
	b, err := json.MarshalIndent(map[string]any{"parts": names}, "", " ")
	if err != nil {
		return err
	}
	return files.WriteFile(ctx, files.Join(f.Out, Manifest), b)
}
