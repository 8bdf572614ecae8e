package transforms

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// The memory budget of a worker process (--memory): the block cache, the
// query blocks of the tiles being scored and everything else the process
// allocates stay within it, and the Go runtime is told the same limit
// (debug.SetMemoryLimit), so that its collector works harder before the
// process grows past it rather than after.

// DefaultMemory is a worker process's budget when --memory is not given:
// 4 GiB, or what the machine (or its container) allows if less.
const DefaultMemory = 4 << 30

// MinMemory is the smallest budget accepted: below it the fixed costs of a
// process (the runtime, Beam's harness, the layout) leave nothing to cache.
const MinMemory = 64 << 20

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

// ParseMemory parses a --memory value: a number of bytes with an optional
// unit, B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024); "4GiB", "3.5GB", "512MiB".
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mul := 1.0
	for _, u := range []struct {
		suffix string
		mul    float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mul
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("--memory %q: want a size such as 4GiB, 3.5GB or 512MiB", s)
	}
	b := v * mul
	if b > 1<<62 {
		return 0, fmt.Errorf("--memory %q: too large", s)
	}
	if b < MinMemory {
		return 0, fmt.Errorf("--memory %q: below the least a worker needs, %s", s, FormatMemory(MinMemory))
	}
	return int64(b), nil
}

// FormatMemory writes n bytes in GiB or MiB, as ParseMemory reads them.
func FormatMemory(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', -1, 64) + "GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + "MiB"
}

// EffectiveMemory is the budget a process keeps for a requested one
// (0: DefaultMemory): never more than the machine or its container allows
// (totalMemory), less a tenth for what the kernel and other processes
// hold.
func EffectiveMemory(requested int64) int64 {
	m := requested
	if m <= 0 {
		m = DefaultMemory
	}
	if total := totalMemory(); total > 0 {
		m = min(m, int64(total/10*9))
	}
	return max(m, MinMemory)
}

// applyMemory sets this process's budget: the block cache's share of it
// and the Go runtime's soft memory limit, runtimeShare of it (the rest of
// a process's resident memory is not the runtime's: its code, and heap
// pages freed but not yet returned). Workers call it at Setup with the
// run's --memory; the last call wins (a process runs one job).
func applyMemory(requested int64) {
	m := EffectiveMemory(requested)
	blocks.setBudget(int(float64(m) * cacheShare / cachePointBytes))
	debug.SetMemoryLimit(int64(float64(m) * runtimeShare))
}

// TileBlocks is how many consecutive query blocks one work element (a
// tile) scores together, each target block then loaded once per tile
// rather than once per query block: as many as fit the tiles' share of
// the budget, with one tile in progress per core, blockPoints points a
// block, and at most enough for minTiles tiles, so that the work still
// spreads over many workers.
func TileBlocks(queryBlocks, blockPoints int, memory int64, workers int) int {
	const minTiles = 16
	if queryBlocks <= 0 {
		return 1
	}
	fit := int(float64(EffectiveMemory(memory)) * tileShare / float64(max(1, workers)) / float64(max(1, blockPoints)*cachePointBytes))
	most := (queryBlocks + minTiles - 1) / minTiles
	return max(1, min(fit, most))
}
