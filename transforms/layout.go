package transforms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// Layout is the plan as the workers read it: everything they need to find
// their work, written once by the launcher under the staging directory
// (Staging.LayoutPath) and read once per worker process. The job graph
// carries only its path and digest, so its size does not grow with the
// number of neurons; this is the one place the plan is described.
type Layout struct {
	Plan Plan
	// Splits are the pieces of the inputs staging reads, one worker
	// each, in (file, row group) order.
	Splits []Split
	// BucketBlocks is how many consecutive blocks of one side make a
	// staging bucket: the unit that assembles and writes block files,
	// sized to hold about BucketPoints points.
	BucketBlocks int
	// Todo lists the query blocks this run scores, ascending, each with
	// its target blocks (ascending); a query block with no target block
	// left (all skipped by pruning) is still listed when its output
	// (a sparse part, a top-k file) is to be written.
	Todo []QueryWork
	// TileBlocks is how many consecutive entries of Todo make one work
	// element, a tile (see TileBlocks): its query blocks are scored
	// together, each target block loaded once for the tile.
	TileBlocks int
	// Delta, when set, limits scoring to the pairs an update needs
	// (--exists update; see DeltaMask in delta.go).
	Delta *DeltaMask
}

// QueryWork is one query block and the target blocks it is scored
// against; consecutive ones make a tile, the work element of scoring.
type QueryWork struct {
	QB  int
	TBs []int32
}

// Split is a range of row groups of one input file, and the side(s) whose
// neurons it supplies.
type Split struct {
	Path                string
	RowGroup, RowGroups int // row groups [RowGroup, RowGroup+RowGroups)
	Query, Target       bool
}

// BucketPoints is the number of input points a staging bucket is sized to
// hold (about 120 bytes each while it is assembled: 240 MB).
const BucketPoints = 2 << 20

// SplitRows is the number of input rows a staging split is sized to read
// (consecutive row groups are joined up to it; a larger row group is a
// split of its own).
const SplitRows = 1 << 20

// NewLayout makes the layout of plan p, reading inputs in splits and
// scoring todo.
func NewLayout(p Plan, splits []Split, todo []QueryWork) Layout {
	l := Layout{Plan: p, Splits: splits, Todo: todo, BucketBlocks: 1}
	// Buckets of the same number of blocks on both sides, sized from the
	// larger mean block.
	mean := 0
	for _, side := range [][]dotprops.NeuronInfo{p.Queries, p.Targets} {
		if nb := (len(side) + p.BlockSize - 1) / p.BlockSize; nb > 0 {
			mean = max(mean, points(side)/nb)
		}
	}
	if mean > 0 {
		l.BucketBlocks = max(1, BucketPoints/mean)
	}
	return l
}

// Tiles is the number of work elements: Todo in tiles of TileBlocks.
func (l *Layout) Tiles() int {
	g := max(1, l.TileBlocks)
	return (len(l.Todo) + g - 1) / g
}

// tile returns the entries of Todo that work element t scores.
func (l *Layout) tile(t int) ([]QueryWork, error) {
	g := max(1, l.TileBlocks)
	if t < 0 || t*g >= len(l.Todo) {
		return nil, fmt.Errorf("work element %d is not in the run's layout (%d tiles)", t, l.Tiles())
	}
	return l.Todo[t*g : min(len(l.Todo), (t+1)*g)], nil
}

// Items counts the work items of the layout's Todo.
func (l *Layout) Items() int {
	n := 0
	for _, w := range l.Todo {
		n += len(w.TBs)
	}
	return n
}

// Encode returns the layout's stored form and its digest (hex SHA-256).
func (l *Layout) Encode() ([]byte, string, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(l); err != nil {
		return nil, "", fmt.Errorf("encode the layout: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// loadedLayout is a layout read by a worker process, with the indexes
// workers derive from it.
type loadedLayout struct {
	Layout
	queryIndex, targetIndex map[scoring.ID]int // id → position in the plan's order
	targetIDs               []scoring.ID       // the targets' ids, in column order
	targetExtents           []BlockExtent      // each target block's extent
}

// layouts caches the layouts read by this process, by digest (a digest
// names one content, so a cached layout is never stale).
var layouts = struct {
	sync.Mutex
	m map[string]*layoutEntry
}{m: map[string]*layoutEntry{}}

type layoutEntry struct {
	once sync.Once
	l    *loadedLayout
	err  error
}

// LoadLayout reads the layout st names (once per process) and checks its
// digest.
func (st Staging) layout(ctx context.Context) (*loadedLayout, error) {
	layouts.Lock()
	e := layouts.m[st.Digest]
	if e == nil {
		e = &layoutEntry{}
		layouts.m[st.Digest] = e
	}
	layouts.Unlock()
	e.once.Do(func() { e.l, e.err = readLayout(ctx, st.LayoutPath(), st.Digest) })
	if e.err != nil {
		layouts.Lock()
		if layouts.m[st.Digest] == e {
			delete(layouts.m, st.Digest)
		}
		layouts.Unlock()
	}
	return e.l, e.err
}

func readLayout(ctx context.Context, path, digest string) (*loadedLayout, error) {
	b, err := files.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read the run's layout: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != digest {
		return nil, fmt.Errorf("%s: the layout has digest %s, not this job's %s: another run replaced it (two runs into one --out?)", path, got, digest)
	}
	l := &loadedLayout{}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&l.Layout); err != nil {
		return nil, fmt.Errorf("%s: decode the layout: %w", path, err)
	}
	p := l.Plan
	if p.AllByAll {
		p.Targets = p.Queries // gob stores the shared slice twice; share it again
		l.Plan.Targets = p.Queries
	}
	l.queryIndex = Positions(p.Queries)
	l.targetIndex = l.queryIndex
	if !p.AllByAll {
		l.targetIndex = Positions(p.Targets)
	}
	l.targetIDs = make([]scoring.ID, len(p.Targets))
	for i, n := range p.Targets {
		l.targetIDs[i] = n.ID
	}
	l.targetExtents = p.TargetExtents()
	return l, nil
}

// Positions maps each neuron's id to its position in ns (a side of a plan).
func Positions(ns []dotprops.NeuronInfo) map[scoring.ID]int {
	m := make(map[scoring.ID]int, len(ns))
	for i, n := range ns {
		m[n.ID] = i
	}
	return m
}

// InputFile is one Parquet input and the side(s) whose neurons it supplies.
type InputFile struct {
	Path          string
	Query, Target bool
}

// MakeSplits cuts the inputs into staging splits: runs of consecutive row
// groups of about SplitRows rows (a larger row group is a split of its
// own), reading only the files' footers, in parallel.
func MakeSplits(ctx context.Context, inputs []InputFile) ([]Split, error) {
	rows := make([][]int64, len(inputs))
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16) // footers are small ranged reads
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i], errs[i] = dotprops.RowGroupRows(ctx, in.Path)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Split
	for i, in := range inputs {
		for rg := 0; rg < len(rows[i]); {
			sp := Split{Path: in.Path, RowGroup: rg, Query: in.Query, Target: in.Target}
			var n int64
			for rg < len(rows[i]) && (sp.RowGroups == 0 || n+rows[i][rg] <= SplitRows) {
				n += rows[i][rg]
				sp.RowGroups++
				rg++
			}
			out = append(out, sp)
		}
	}
	return out, nil
}
