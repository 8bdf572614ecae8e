package transforms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sort"
	"sync"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/memory"
	"github.com/nblast-go/nblast/internal/stagefile"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(int), error](&splitsFn{})
	register.DoFn3x1[context.Context, int, func(string, int), error](&fragmentFn{})
	register.DoFn4x1[context.Context, string, func(*int) bool, func(string), error](&bucketFn{})
	register.Emitter1[int]()
	register.Emitter2[string, int]()
	register.Emitter1[string]()
	register.Iter1[int]()
}

// BadInputTag starts the message of an error caused by the input data,
// so that the launcher can tell it from a crash once it has crossed the
// runner (which passes errors on as text): see pipeline.Explain.
const BadInputTag = "bad input: "

// BadInput tags err as caused by the input data, unless it is a failure
// of the machinery (a cancelled context, a network or I/O error other
// than a missing file), which a rerun can get past.
func BadInput(err error) error {
	var ne net.Error
	var errno syscall.Errno
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		errors.As(err, &errno) && errno != syscall.ENOENT {
		return err
	}
	return fmt.Errorf("%s%w", BadInputTag, err)
}

// Staging names where a run's layout and staged blocks are: the layout
// (see Layout) at LayoutPath, and one file per block (internal/stagefile),
// so that a worker reads only the blocks of the work it scores. It is what
// the job graph carries of the plan: a few paths and options, whatever the
// number of neurons.
type Staging struct {
	Dir    string // the staging area, OUT/.staging; removed after the run
	Digest string // the layout's digest (Layout.Encode)
	// AllByAll: the target blocks are the query blocks.
	AllByAll bool
	// Read is how the input files are read (units, alpha); staged
	// blocks are in µm and read with the zero ReadOptions.
	Read dotprops.ReadOptions
}

// runDir holds the files of the layout with st's digest, so that a file
// cached by path in a worker process is never one of another layout.
func (st Staging) runDir() string { return files.Join(st.Dir, "run-"+st.Digest[:16]) }

// LayoutPath is where the layout is stored.
func (st Staging) LayoutPath() string { return files.Join(st.runDir(), "layout.gob") }

// BlockPath is the staged file of query ("q") or target ("t") block b. In
// all-by-all runs the target blocks are the query blocks.
func (st Staging) BlockPath(side string, b int) string {
	if st.AllByAll {
		side = "q"
	}
	return files.Join(st.runDir(), fmt.Sprintf("%s-%05d.bin", side, b))
}

// fragmentPath is the file of the neurons (pieces of neurons) that split
// supplies to staging bucket key.
func (st Staging) fragmentPath(key string, split int) string {
	return files.Join(st.runDir(), "frag", key, fmt.Sprintf("%06d.bin", split))
}

// WriteLayout stores l where st says (st.Digest must be l's).
func (st Staging) WriteLayout(ctx context.Context, data []byte) error {
	return files.WriteFile(ctx, st.LayoutPath(), data)
}

// StageBlocks reads the inputs in splits and writes each block's neurons,
// in plan order, to the staging area, in two steps through storage: each
// split (a worker reads a few row groups) writes, per bucket of
// consecutive blocks, one fragment of its neurons; each bucket then reads
// its fragments and writes its block files. Memory per step is one split or
// one bucket, and the shuffle carries only fragment names. It returns the
// staged block paths; they are complete when that collection is.
func StageBlocks(s beam.Scope, st Staging) beam.PCollection {
	s = s.Scope("StageBlocks")
	splits := beam.ParDo(s, &splitsFn{Staging: st}, beam.Impulse(s))
	frags := beam.ParDo(s, &fragmentFn{Staging: st}, beam.Reshuffle(s, splits))
	return beam.ParDo(s, &bucketFn{Staging: st}, beam.GroupByKey(s, frags))
}

var (
	splitsRead   = beam.NewCounter("nblast", "splits_staged")
	blocksStaged = beam.NewCounter("nblast", "blocks_staged")
)

// heavy bounds the memory-heavy staging steps (a split read, a bucket
// assembled) running at once in this process to its cores: prism runs
// every bundle of a stage in the launcher's process.
var heavy = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// splitsFn emits the index of every split of the layout.
type splitsFn struct {
	Staging Staging
}

func (f *splitsFn) ProcessElement(ctx context.Context, _ []byte, emit func(int)) error {
	l, err := f.Staging.layout(ctx)
	if err != nil {
		return err
	}
	for i := range l.Splits {
		emit(i)
	}
	return nil
}

// fragmentFn reads one split and writes its neurons to their buckets'
// fragments; it emits (bucket key, split) for each fragment written.
type fragmentFn struct {
	Staging Staging
}

// bucketKey names the bucket of block b of side ("q" or "t").
func bucketKey(side string, bucket int) string { return fmt.Sprintf("%s-%05d", side, bucket) }

func (f *fragmentFn) ProcessElement(ctx context.Context, split int, emit func(string, int)) error {
	st := f.Staging
	l, err := st.layout(ctx)
	if err != nil {
		return err
	}
	heavy <- struct{}{}
	defer func() { <-heavy }()
	sp := l.Splits[split]
	pieces, err := dotprops.ReadDotpropsRowGroups(ctx, sp.Path, sp.RowGroup, sp.RowGroups, st.Read)
	if err != nil {
		return BadInput(err)
	}
	per := l.BucketBlocks * l.Plan.BlockSize
	byKey := map[string][]*scoring.Dotprops{}
	var keys []string
	add := func(key string, d *scoring.Dotprops) {
		if _, ok := byKey[key]; !ok {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], d)
	}
	for _, d := range pieces {
		if err := d.Validate(); err != nil {
			return BadInput(fmt.Errorf("%s: %w: %s", sp.Path, err, dotprops.InvalidAdvice(err, st.Read.Factor())))
		}
		if pos, ok := l.queryIndex[d.ID]; ok && sp.Query {
			add(bucketKey("q", pos/per), d)
		}
		if pos, ok := l.targetIndex[d.ID]; ok && sp.Target && !st.AllByAll {
			add(bucketKey("t", pos/per), d)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := stagefile.Write(ctx, st.fragmentPath(key, split), byKey[key]); err != nil {
			return fmt.Errorf("staging %s (row groups %d-%d): %w", sp.Path, sp.RowGroup, sp.RowGroup+sp.RowGroups-1, err)
		}
		emit(key, split)
	}
	splitsRead.Inc(ctx, 1)
	Progress.Splits.Add(1)
	return nil
}

// bucketFn assembles the neurons of one bucket from its fragments and
// writes the bucket's block files, emitting their paths. The pieces of a
// neuron from one file are joined in row-group order; a neuron read from
// two files is kept once if both copies are identical and is an error
// otherwise; a neuron of the plan that no file supplied is an error.
type bucketFn struct {
	Staging Staging
}

func (f *bucketFn) ProcessElement(ctx context.Context, key string, splits func(*int) bool, emit func(string)) error {
	st := f.Staging
	l, err := st.layout(ctx)
	if err != nil {
		return err
	}
	var got []int
	var sp int
	for splits(&sp) {
		got = append(got, sp)
	}
	sort.Ints(got)
	got = slices.Compact(got) // a retried split reports its fragment again
	heavy <- struct{}{}
	defer func() { <-heavy }()

	type copyOf struct {
		file string
		d    *scoring.Dotprops
	}
	neurons := map[scoring.ID][]copyOf{} // copies by file, in split order
	for _, i := range got {
		p := st.fragmentPath(key, i)
		dps, err := stagefile.Read(ctx, p)
		if err != nil {
			return fmt.Errorf("staging: %w", err)
		}
		file := l.Splits[i].Path
		for _, d := range dps {
			cs := neurons[d.ID]
			if n := len(cs); n > 0 && cs[n-1].file == file {
				join(cs[n-1].d, d) // the next piece, from a later row group
				continue
			}
			neurons[d.ID] = append(cs, copyOf{file, d})
		}
	}
	side, plan := key[:1], l.Plan.Queries
	if side == "t" {
		plan = l.Plan.Targets
	}
	var bucket int
	fmt.Sscanf(key[2:], "%d", &bucket)
	bs := l.Plan.BlockSize
	nb := (len(plan) + bs - 1) / bs
	for b := bucket * l.BucketBlocks; b < min(nb, (bucket+1)*l.BucketBlocks); b++ {
		members := plan[b*bs : min(len(plan), (b+1)*bs)]
		dps := make([]*scoring.Dotprops, len(members))
		for k, n := range members {
			cs := neurons[n.ID]
			if len(cs) == 0 {
				return fmt.Errorf("staging %s: neuron %s (plan position %d, from %s) was listed by the inputs but not read", st.BlockPath(side, b), n.ID, b*bs+k, n.File)
			}
			for _, c := range cs[1:] {
				if diff := dotprops.Diff(cs[0].d, c.d); diff != "" {
					return BadInput(fmt.Errorf("neuron %s is in %s and in %s with different data (%s): remove one copy or give them distinct ids", n.ID, cs[0].file, c.file, diff))
				}
			}
			dps[k] = cs[0].d
		}
		if err := stagefile.Write(ctx, st.BlockPath(side, b), dps); err != nil {
			return fmt.Errorf("staging %s: %w", st.BlockPath(side, b), err)
		}
		blocksStaged.Inc(ctx, 1)
		Progress.Blocks.Add(1)
		emit(st.BlockPath(side, b))
	}
	return nil
}

// join appends piece's points to d (the same neuron's earlier rows).
func join(d, piece *scoring.Dotprops) {
	d.Points = append(d.Points, piece.Points...)
	d.Vectors = append(d.Vectors, piece.Vectors...)
	d.Alpha = append(d.Alpha, piece.Alpha...)
}

// blockCache keeps the most recently used staged blocks of this process,
// their neurons prepared for scoring (search trees built) as they are first
// needed, so that a block is read once per worker (and tile) rather than
// once per work item, and a neuron prepared at most once while its block
// stays cached. A block is pinned while a caller uses it (get to release)
// and never dropped then, so two callers share one copy; the cache holds
// at most budget points of loaded blocks (about cachePointBytes each once
// prepared) beyond the pinned ones, dropping the least recently used
// unpinned block first. applyMemory sets the budget from --memory.
type blockCache struct {
	mu      sync.Mutex
	budget  int
	held    int // points of the loaded blocks, pinned or not
	peak    int // the most held at once
	entries map[string]*cachedBlock
	clock   int64
}

type cachedBlock struct {
	once    sync.Once
	block   *preparedBlock
	points  int
	err     error
	used    int64
	pins    int  // callers between get and release (guarded by the cache's mu)
	counted bool // points added to held (guarded by the cache's mu)
}

// blocks is shared by every DoFn instance of the process; its budget is
// memory.Default's share until a worker's Setup applies the run's --memory.
var blocks = &blockCache{budget: int(float64(memory.Effective(0)) * cacheShare / cachePointBytes), entries: map[string]*cachedBlock{}}

// CacheStats describes this process's block cache, in points: the budget,
// what it holds now (pinned blocks included) and the most it has held
// since ResetCachePeak.
type CacheStats struct{ Budget, Held, Peak int }

// BlockCacheStats returns the block cache's figures.
func BlockCacheStats() CacheStats {
	blocks.mu.Lock()
	defer blocks.mu.Unlock()
	return CacheStats{Budget: blocks.budget, Held: blocks.held, Peak: blocks.peak}
}

// ResetCachePeak empties the block cache of unpinned blocks and restarts
// its peak from what it holds then (for tests and measurements of one
// run in a process that ran others).
func ResetCachePeak() {
	blocks.mu.Lock()
	defer blocks.mu.Unlock()
	for k, e := range blocks.entries {
		if e.counted && e.pins == 0 {
			blocks.held -= e.points
			delete(blocks.entries, k)
		}
	}
	blocks.peak = blocks.held
}

func (c *blockCache) setBudget(points int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.budget = points
	c.trim()
}

// get returns a staged block, reading it at most once while it stays
// cached, and pins it until release(path).
func (c *blockCache) get(ctx context.Context, path string) (*preparedBlock, error) {
	c.mu.Lock()
	e := c.entries[path]
	if e == nil {
		e = &cachedBlock{}
		c.entries[path] = e
	}
	c.clock++
	e.used = c.clock
	e.pins++
	c.mu.Unlock()
	e.once.Do(func() {
		e.block, e.err = loadBlock(ctx, path)
		if e.err == nil {
			for _, d := range e.block.dps {
				e.points += d.Len()
			}
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		e.pins--
		if c.entries[path] == e {
			delete(c.entries, path)
		}
		return nil, e.err
	}
	if !e.counted {
		e.counted = true
		c.held += e.points
		c.peak = max(c.peak, c.held)
		c.trim()
	}
	return e.block, nil
}

// release unpins a block get returned; the cache may then drop it.
func (c *blockCache) release(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[path]; e != nil && e.pins > 0 {
		e.pins--
		c.trim()
	}
}

// trim drops unpinned blocks, least recently used first, until the cache
// holds no more than its budget or only pinned blocks.
func (c *blockCache) trim() {
	for c.held > c.budget && c.evictOldest() {
	}
}

// evictOldest drops the least recently used loaded block that no caller
// has pinned; it reports false when there is none.
func (c *blockCache) evictOldest() bool {
	var oldest string
	var at int64 = -1
	for k, e := range c.entries {
		if e.counted && e.pins == 0 && (at < 0 || e.used < at) {
			oldest, at = k, e.used
		}
	}
	if at < 0 {
		return false
	}
	c.held -= c.entries[oldest].points
	delete(c.entries, oldest)
	return true
}

// preparedBlock is a staged block's neurons in plan order, each prepared
// for scoring (validated, search tree built) the first time it is asked
// for: a work item whose bounds rule out most pairs prepares only the
// neurons of the pairs it scores. Safe for concurrent use.
type preparedBlock struct {
	path string
	dps  []*scoring.Dotprops // dps[i] is dropped once neuron i is prepared
	once []sync.Once
	ns   []*scoring.Neuron
	errs []error
	sm   *smallNeurons // downsampled copies for --smart (smart.go)
}

func loadBlock(ctx context.Context, path string) (*preparedBlock, error) {
	dps, err := stagefile.Read(ctx, path)
	if err != nil {
		return nil, err
	}
	return newPreparedBlock(path, dps), nil
}

func newPreparedBlock(path string, dps []*scoring.Dotprops) *preparedBlock {
	return &preparedBlock{path: path, dps: dps, once: make([]sync.Once, len(dps)),
		ns: make([]*scoring.Neuron, len(dps)), errs: make([]error, len(dps)), sm: newSmallNeurons(len(dps))}
}

// Len is the number of neurons in the block.
func (b *preparedBlock) Len() int { return len(b.ns) }

// Neuron returns the block's i-th neuron, prepared.
func (b *preparedBlock) Neuron(i int) (*scoring.Neuron, error) {
	b.once[i].Do(func() {
		if b.ns[i], b.errs[i] = scoring.NewNeuron(b.dps[i]); b.errs[i] != nil {
			b.errs[i] = fmt.Errorf("%s: %w", b.path, b.errs[i])
		}
		b.sm.keep(i, b.dps[i])
		b.dps[i] = nil
	})
	return b.ns[i], b.errs[i]
}
