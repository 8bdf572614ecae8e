package transforms

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/memory"
	"github.com/nblast-go/nblast/internal/stagefile"
	"github.com/nblast-go/nblast/scoring"
)

func infos(points ...int) []dotprops.NeuronInfo {
	ns := make([]dotprops.NeuronInfo, len(points))
	for i, p := range points {
		ns[i] = dotprops.NeuronInfo{ID: scoring.IntID(int64(i)), Points: p}
	}
	return ns
}

func TestPlanBlocksAreUniformAndBalanced(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points []int
		size   int
		spread float64 // largest allowed max/mean block points
	}{
		{"one block", []int{5, 1, 9}, 8, 1},
		// Four large neurons in three blocks: the best is 800+700+10+10 = 1520
		// against a mean of 1183 (1.285).
		{"skewed sizes", []int{1000, 900, 10, 10, 10, 10, 800, 700, 20, 20, 30, 40}, 4, 1.29},
		{"many similar", []int{50, 60, 55, 52, 58, 61, 49, 50, 57, 53, 51, 59, 60, 48, 52, 56}, 4, 1.02},
		{"uneven last block", []int{3, 3, 3, 3, 3, 3, 3}, 3, 1.5},
	} {
		p, err := MakePlan(infos(tc.points...), nil, tc.size, true, false)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		var maxP, sum float64
		for b := range p.QueryBlocks() {
			blk := p.QueryBlock(b)
			if b < p.QueryBlocks()-1 && len(blk) != tc.size {
				t.Errorf("%s: block %d has %d neurons, want %d", tc.name, b, len(blk), tc.size)
			}
			pts := float64(points(blk))
			maxP = max(maxP, pts*float64(tc.size)/float64(len(blk)))
			sum += pts
			for _, n := range blk {
				seen[n.ID.Int] = true
			}
		}
		if len(seen) != len(tc.points) {
			t.Errorf("%s: plan holds %d of %d neurons", tc.name, len(seen), len(tc.points))
		}
		mean := sum / float64(len(tc.points)) * float64(tc.size)
		if maxP/mean > tc.spread {
			t.Errorf("%s: block points max/mean = %.3f > %.3f", tc.name, maxP/mean, tc.spread)
		}
		if got := len(p.WorkItems()); got != p.QueryBlocks()*p.QueryBlocks() {
			t.Errorf("%s: %d work items", tc.name, got)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	if _, err := MakePlan(nil, nil, 4, true, false); err == nil {
		t.Error("no queries accepted")
	}
	if _, err := MakePlan(infos(1), nil, 0, true, false); err == nil {
		t.Error("block size 0 accepted")
	}
	if _, err := MakePlan(infos(1), nil, 4, false, false); err == nil {
		t.Error("no targets accepted")
	}
}

func TestDefaultBlockSize(t *testing.T) {
	for _, tc := range []struct {
		n       int
		pruning bool
		want    int
	}{{1, false, 1}, {17, false, 3}, {1000, false, 125}, {100000, false, 512}, {1000, true, 64}, {17, true, 3}} {
		if got := DefaultBlockSize(tc.n, tc.pruning); got != tc.want {
			t.Errorf("DefaultBlockSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestSpatialPlanIsCompactAndComplete(t *testing.T) {
	// Two clusters far apart, interleaved in the input: a spatial plan puts
	// each block inside one cluster.
	var ns []dotprops.NeuronInfo
	for i := range 32 {
		c := [3]float64{float64(i % 4), float64(i / 4 % 4), 0}
		if i%2 == 1 {
			c[0] += 500
		}
		ns = append(ns, dotprops.NeuronInfo{ID: scoring.IntID(int64(i)), Points: 10 + i, Centroid: c})
	}
	p, err := MakePlan(ns, nil, 4, true, true)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for b := range p.QueryBlocks() {
		blk := p.QueryBlock(b)
		far := blk[0].Centroid[0] > 250
		for _, n := range blk {
			seen[n.ID.Int] = true
			if (n.Centroid[0] > 250) != far {
				t.Errorf("block %d mixes the two clusters", b)
			}
		}
	}
	if len(seen) != len(ns) {
		t.Errorf("plan holds %d of %d neurons", len(seen), len(ns))
	}
}

func TestSpread3(t *testing.T) {
	if got := spread3(0b111); got != 0b1001001 {
		t.Errorf("spread3(7) = %b", got)
	}
	if got := spread3(1<<20) >> 60; got != 1 {
		t.Errorf("spread3(1<<20) top bit at %b", spread3(1<<20))
	}
}

func TestBlockCacheStaysWithinBudget(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var paths []string
	for b := range 6 {
		var dps []*scoring.Dotprops
		for i := range 3 {
			d := &scoring.Dotprops{ID: scoring.IntID(int64(b*10 + i))}
			for k := range 10 {
				d.Points = append(d.Points, [3]float64{float64(k), float64(i), 0})
				d.Vectors = append(d.Vectors, [3]float64{1, 0, 0})
			}
			dps = append(dps, d)
		}
		p := filepath.Join(dir, fmt.Sprintf("b%d.bin", b))
		if err := stagefile.Write(context.Background(), p, dps); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	c := &blockCache{budget: 70, entries: map[string]*cachedBlock{}} // two 30-point blocks
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				path := paths[(i+r)%len(paths)]
				b, err := c.get(ctx, path)
				if err != nil || b.Len() != 3 {
					t.Errorf("get: %v", err)
					continue
				}
				if n, err := b.Neuron(i % 3); err != nil || n.Len() != 10 {
					t.Errorf("neuron %d: %v", i%3, err)
				}
				c.release(path)
			}
		}()
	}
	wg.Wait()
	// Four callers pin at most four 30-point blocks at once; unpinned,
	// the cache keeps to its budget.
	if c.peak > 70+4*30 {
		t.Errorf("cache held %d points at its peak, budget 70 and four pinned blocks", c.peak)
	}
	if c.held > 70 {
		t.Errorf("cache holds %d points once no block is pinned, budget 70", c.held)
	}
}

func TestTileBlocks(t *testing.T) {
	for _, c := range []struct {
		name                string
		queryBlocks, points int
		mem                 int64
		workers             int
		want                int
	}{
		{"100k neurons, 4 GiB, 2 cores: the tiles' share", 1563, 32000, 4 << 30, 2, 50},
		{"at least 16 tiles", 160, 32000, 4 << 30, 2, 10},
		{"small budget: one block a tile", 1563, 32000, memory.Min, 2, 1},
		{"one block", 1, 100, 4 << 30, 2, 1},
		{"none", 0, 0, 4 << 30, 2, 1},
	} {
		got := TileBlocks(c.queryBlocks, c.points, c.mem, c.workers)
		if got != c.want {
			t.Errorf("%s: TileBlocks(%d, %d, %d, %d) = %d, want %d", c.name, c.queryBlocks, c.points, c.mem, c.workers, got, c.want)
		}
		if tiles := (c.queryBlocks + got - 1) / got; c.queryBlocks >= 16 && tiles < 16 {
			t.Errorf("%s: %d tiles, want at least 16", c.name, tiles)
		}
	}
}
