package transforms

import (
	"runtime/debug"

	"github.com/nblast-go/nblast/internal/memory"
)

// The memory budget of a worker process (--memory): the block cache, the
// query blocks of the tiles being scored and everything else the process
// allocates stay within it, and the Go runtime is told the same limit
// (debug.SetMemoryLimit), so that its collector works harder before the
// process grows past it rather than after.

// Shares of the budget (the rest is headroom for the collector, the
// layout, output chunks in flight and Beam's own buffers). Measured at
// 100k synthetic neurons with the default 4 GiB: about 2 GB live after
// each collection, and a peak resident set of 3.4-3.7 GiB.
const (
	cacheShare = 0.40 // loaded blocks kept for later work (blockCache)
	tileShare  = 0.15 // the query blocks of the tiles in progress
	// The Go runtime's soft limit: measured at 100k synthetic neurons
	// with the limit at the whole budget, the collector let the heap grow
	// to it (twice the 2 GB live) and the resident set went 2% past it.
	runtimeShare = 0.85
)

// cachePointBytes is about what a cached point costs once prepared (its
// tangent, alpha and search structures, with the Go heap's overhead;
// measured: 10.4 GB peak for 48.5M points cached).
const cachePointBytes = 200

// applyMemory sets this process's budget: the block cache's share of it
// and the Go runtime's soft memory limit, runtimeShare of it (the rest of
// a process's resident memory is not the runtime's: its code, and heap
// pages freed but not yet returned). Workers call it at Setup with the
// run's --memory; the last call wins (a process runs one job).
func applyMemory(requested int64) {
	m := memory.Effective(requested)
	blocks.setBudget(int(float64(m) * cacheShare / cachePointBytes))
	debug.SetMemoryLimit(int64(float64(m) * runtimeShare))
}

// TileBlocks is how many consecutive query blocks one work element (a
// tile) scores together, each target block then loaded once per tile
// rather than once per query block: as many as fit the tiles' share of
// the budget, with one tile in progress per core, blockPoints points a
// block, and at most enough for minTiles tiles, so that the work still
// spreads over many workers.
func TileBlocks(queryBlocks, blockPoints int, mem int64, workers int) int {
	const minTiles = 16
	if queryBlocks <= 0 {
		return 1
	}
	fit := int(float64(memory.Effective(mem)) * tileShare / float64(max(1, workers)) / float64(max(1, blockPoints)*cachePointBytes))
	most := (queryBlocks + minTiles - 1) / minTiles
	return max(1, min(fit, most))
}
