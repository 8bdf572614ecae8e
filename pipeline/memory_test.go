package pipeline_test

import (
	"bytes"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/transforms"
)

// synthInput writes n synthetic neurons (seed) and returns the file.
func synthInput(t *testing.T, n int, seed uint64) string {
	t.Helper()
	o := synth.DefaultOptions(n, seed)
	o.FirstID = 1
	b, err := synth.GenerateOptions(o)
	if err != nil {
		t.Fatal(err)
	}
	return writeDotprops(t, filepath.Join(t.TempDir(), "synth.parquet"), b.Neurons)
}

// dataFiles reads every file of an output but the run's records (names
// starting with "_": the run marker and manifests, which name the run),
// keyed by path under out.
func dataFiles(t *testing.T, out string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "_") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(out, p)
		m[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTilesGiveTheSameOutput: scoring query blocks in tiles (each target
// block loaded once per tile) writes the same bytes as one query block at
// a time, for the dense Zarr chunks, the sparse parts and the top-k files
// of the exact k-NN graph, all-by-all and with separate targets.
func TestTilesGiveTheSameOutput(t *testing.T) {
	in := synthInput(t, 240, 9)
	for _, c := range []struct {
		name string
		set  func(o *pipeline.Options)
	}{
		{"zarr", func(o *pipeline.Options) {}},
		{"sparse", func(o *pipeline.Options) { o.Sink, o.Scores = "sparse", "mean" }},
		{"sparse, forward above 0.1", func(o *pipeline.Options) { o.Sink, o.Threshold = "sparse", 0.1 }},
		{"knn", func(o *pipeline.Options) { o.Sink, o.Scores, o.TopK, o.Threshold = "topk", "mean", 5, math.Inf(-1) }},
		{"knn, two inputs", func(o *pipeline.Options) {
			o.Sink, o.Scores, o.TopK, o.Threshold, o.Targets = "topk", "max", 5, math.Inf(-1), in
		}},
		{"zarr with top-k", func(o *pipeline.Options) { o.TopK = 3 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want map[string][]byte
			for _, tile := range []int{1, 4, 15} {
				o := pipeline.Defaults()
				o.Queries, o.Out, o.BlockSize, o.TileBlocks = in, t.TempDir(), 16, tile
				c.set(&o)
				job := runJob(t, "prism", o)
				if job.TileBlocks != tile {
					t.Fatalf("tiles of %d query blocks, want %d", job.TileBlocks, tile)
				}
				got := dataFiles(t, o.Out)
				if len(got) == 0 {
					t.Fatal("no output files")
				}
				if want == nil {
					want = got
					continue
				}
				if len(got) != len(want) {
					t.Errorf("tiles of %d: %d files, one block at a time %d", tile, len(got), len(want))
				}
				for name, b := range want {
					if !bytes.Equal(got[name], b) {
						t.Errorf("tiles of %d: %s differs from one block at a time", tile, name)
					}
				}
			}
		})
	}
}

// TestMemoryBoundsTheBlockCache: a run that caches more than a small
// --memory's share when given the default budget keeps within that share
// with --memory, counting the points of the blocks it holds (cached, plus
// those pinned by the tiles and target blocks in use), and writes the
// same output.
func TestMemoryBoundsTheBlockCache(t *testing.T) {
	in := synthInput(t, 400, 11)
	run := func(memory string) (transforms.CacheStats, *pipeline.Job, map[string][]byte) {
		o := pipeline.Defaults()
		o.Queries, o.Out, o.BlockSize, o.Memory = in, t.TempDir(), 16, memory
		o.Sink, o.Scores, o.TopK, o.Threshold = "topk", "mean", 5, math.Inf(-1)
		transforms.ResetCachePeak()
		job := runJob(t, "prism", o)
		return transforms.BlockCacheStats(), job, dataFiles(t, o.Out)
	}
	free, _, want := run("")
	small, job, got := run("64MiB")
	budget := small.Budget
	mem := float64(64 << 20)
	if want := int(mem * 0.40 / 200); budget != want {
		t.Errorf("--memory 64MiB: cache budget %d points, want %d (40%% at 200 bytes a point)", budget, want)
	}
	if free.Peak <= budget {
		t.Fatalf("the default budget cached %d points at its peak, not above the small budget's %d: the test shows nothing", free.Peak, budget)
	}
	// Beyond the budget: at most the blocks pinned at once, a tile's query
	// blocks and one target block for each tile in progress.
	most := 0
	for b := range job.Plan.QueryBlocks() {
		most = max(most, pointsOf(job.Plan.QueryBlock(b)))
	}
	pinned := (job.TileBlocks + 1) * most * cores.N()
	if small.Peak > budget+pinned {
		t.Errorf("--memory 64MiB: the cache held %d points at its peak; budget %d, plus at most %d pinned", small.Peak, budget, pinned)
	}
	t.Logf("cache peak: %d points with the default budget, %d with --memory 64MiB (budget %d, tiles of %d blocks)", free.Peak, small.Peak, budget, job.TileBlocks)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("--memory 64MiB: %s differs from the run with the default budget", name)
		}
	}
}

func pointsOf(ns []dotprops.NeuronInfo) int {
	n := 0
	for _, x := range ns {
		n += x.Points
	}
	return n
}
