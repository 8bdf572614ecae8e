package transforms

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"sync"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x1[context.Context, InputFile, func(string, []byte), error](&stageFn{})
	register.DoFn3x2[context.Context, string, func(*[]byte) bool, string, error](&writeBlockFn{})
	register.Emitter2[string, []byte]()
	register.Iter1[[]byte]()
	beam.RegisterType(reflect.TypeOf((*WorkItem)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*InputFile)(nil)).Elem())
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

// InputFile is one Parquet input and the side(s) whose neurons it supplies.
type InputFile struct {
	Path          string
	Query, Target bool
}

// Staging describes where the blocks of a plan are staged: one navis-layout
// Parquet file per block under Dir, so that a worker reads only the blocks
// of the work items it scores.
type Staging struct {
	Dir       string
	BlockSize int
	AllByAll  bool
	// QueryIndex and TargetIndex map a neuron id (ID.String()) to its
	// position in the plan's query / target order.
	QueryIndex, TargetIndex map[string]int
	NQ, NT                  int
	// Read is how the input files are read (units, alpha); staged
	// blocks are in µm and read with the zero ReadOptions.
	Read ReadOptions
}

// NewStaging describes the staging of plan p under dir.
func NewStaging(p Plan, dir string) Staging {
	s := Staging{Dir: dir, BlockSize: p.BlockSize, AllByAll: p.AllByAll, NQ: len(p.Queries), NT: len(p.Targets),
		QueryIndex: indexOf(p.Queries)}
	if !p.AllByAll {
		s.TargetIndex = indexOf(p.Targets)
	}
	return s
}

func indexOf(ns []NeuronInfo) map[string]int {
	m := make(map[string]int, len(ns))
	for i, n := range ns {
		m[n.ID.String()] = i
	}
	return m
}

// BlockPath is the staged file of query ("q") or target ("t") block b. In
// all-by-all runs the target blocks are the query blocks.
func (s Staging) BlockPath(side string, b int) string {
	if s.AllByAll {
		side = "q"
	}
	return files.Join(s.Dir, fmt.Sprintf("%s-%05d.parquet", side, b))
}

// StageBlocks reads the input files (a PCollection of InputFile) and writes each block's neurons, in plan
// order, to the staging area. It returns the staged block paths; they are
// complete when that collection is.
func StageBlocks(s beam.Scope, inputs beam.PCollection, st Staging) beam.PCollection {
	s = s.Scope("StageBlocks")
	byBlock := beam.ParDo(s, &stageFn{Staging: st}, beam.Reshuffle(s, inputs))
	return beam.ParDo(s, &writeBlockFn{Staging: st}, beam.GroupByKey(s, byBlock))
}

// stagedNeuron is a neuron on its way to its block file.
type stagedNeuron struct {
	Side string // "q" or "t"
	Pos  int    // position in the plan's order of that side
	File string
	D    scoring.Dotprops
}

type stageFn struct {
	Staging Staging
}

// ProcessElement reads one input file and sends each of its neurons to its
// query block if the file is a query input, and to its target block if it is
// a target input (all-by-all runs have only query blocks).
func (f *stageFn) ProcessElement(ctx context.Context, in InputFile, emit func(string, []byte)) error {
	file := in.Path
	dps, err := ReadDotpropsFile(ctx, file, f.Staging.Read)
	if err != nil {
		return BadInput(err)
	}
	st := f.Staging
	send := func(side string, pos int, d *scoring.Dotprops) error {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(stagedNeuron{Side: side, Pos: pos, File: file, D: *d}); err != nil {
			return fmt.Errorf("stage neuron %s of %s: %w", d.ID, file, err)
		}
		emit(st.BlockPath(side, pos/st.BlockSize), buf.Bytes())
		return nil
	}
	for _, d := range dps {
		key := d.ID.String()
		if pos, ok := st.QueryIndex[key]; ok && in.Query {
			if err := send("q", pos, d); err != nil {
				return err
			}
		}
		if pos, ok := st.TargetIndex[key]; ok && in.Target {
			if err := send("t", pos, d); err != nil {
				return err
			}
		}
	}
	return nil
}

type writeBlockFn struct {
	Staging Staging
}

// ProcessElement writes one block file from its neurons. A neuron read from
// two files is kept once if both copies are identical and is an error
// otherwise; a neuron of the plan that no file supplied is an error.
func (f *writeBlockFn) ProcessElement(ctx context.Context, path string, values func(*[]byte) bool) (string, error) {
	var got []stagedNeuron
	var raw []byte
	for values(&raw) {
		var sn stagedNeuron
		if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&sn); err != nil {
			return "", fmt.Errorf("staging %s: %w", path, err)
		}
		got = append(got, sn)
	}
	sort.SliceStable(got, func(a, b int) bool { return got[a].Pos < got[b].Pos })
	var kept []stagedNeuron
	for i := range got {
		if i > 0 && got[i].Pos == got[i-1].Pos {
			if diff := dotpropsDiff(&got[i-1].D, &got[i].D); diff != "" {
				return "", BadInput(fmt.Errorf("neuron %s is in %s and in %s with different data (%s): remove one copy or give them distinct ids", got[i].D.ID, got[i-1].File, got[i].File, diff))
			}
			continue
		}
		kept = append(kept, got[i])
	}
	if len(kept) == 0 {
		return "", fmt.Errorf("staging %s: no neurons arrived", path)
	}
	st := f.Staging
	n := st.NQ
	if kept[0].Side == "t" {
		n = st.NT
	}
	start := kept[0].Pos - kept[0].Pos%st.BlockSize
	end := min(start+st.BlockSize, n)
	dps := make([]*scoring.Dotprops, 0, len(kept))
	for k := range kept {
		if kept[k].Pos != start+k {
			return "", fmt.Errorf("staging %s: the neuron at plan position %d was listed by the inputs but not read", path, start+k)
		}
		dps = append(dps, &kept[k].D)
	}
	if len(dps) != end-start {
		return "", fmt.Errorf("staging %s: %d of %d neurons arrived", path, len(dps), end-start)
	}
	var buf bytes.Buffer
	if err := WriteDotpropsParquet(&buf, dps); err != nil {
		return "", fmt.Errorf("staging %s: %w", path, err)
	}
	if err := files.WriteFile(ctx, path, buf.Bytes()); err != nil {
		return "", err
	}
	return path, nil
}

// blockCache keeps the most recently used staged blocks of this process,
// prepared for scoring (search trees built), so that a block is read and
// its trees built once per worker rather than once per work item. It holds
// at most budget points (about 150 bytes each with their search
// structures), beyond the blocks in use.
type blockCache struct {
	mu      sync.Mutex
	budget  int
	held    int
	entries map[string]*cachedBlock
	clock   int64
}

type cachedBlock struct {
	once    sync.Once
	neurons []*scoring.Neuron
	points  int
	err     error
	used    int64
	counted bool // points added to held (guarded by the cache's mu)
}

// CacheBudget is the default number of points the block cache of a worker
// process holds: 4M points, about 600 MB.
const CacheBudget = 4 << 20

// blocks is shared by every DoFn instance of the process.
var blocks = &blockCache{budget: CacheBudget, entries: map[string]*cachedBlock{}}

// get returns the prepared neurons of a staged block, loading it at most
// once while it stays cached.
func (c *blockCache) get(ctx context.Context, path string) ([]*scoring.Neuron, error) {
	c.mu.Lock()
	e := c.entries[path]
	if e == nil {
		e = &cachedBlock{}
		c.entries[path] = e
	}
	c.clock++
	e.used = c.clock
	c.mu.Unlock()
	e.once.Do(func() {
		e.neurons, e.err = loadBlock(ctx, path)
		for _, n := range e.neurons {
			e.points += n.Len()
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		if c.entries[path] == e {
			delete(c.entries, path)
		}
		return nil, e.err
	}
	if !e.counted {
		e.counted = true
		c.held += e.points
		for c.held > c.budget && c.evictOldest(path) {
		}
	}
	return e.neurons, nil
}

// evictOldest drops the least recently used loaded block other than keep;
// it reports false when there is none. Callers still using a dropped block
// keep their reference.
func (c *blockCache) evictOldest(keep string) bool {
	var oldest string
	var at int64 = -1
	for k, e := range c.entries {
		if k != keep && e.counted && (at < 0 || e.used < at) {
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

func loadBlock(ctx context.Context, path string) ([]*scoring.Neuron, error) {
	dps, err := ReadDotpropsFile(ctx, path, ReadOptions{})
	if err != nil {
		return nil, err
	}
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return ns, nil
}
