// Package pipeline builds the NBLAST Beam pipeline from validated options:
// read dotprops from Parquet, plan balanced blocks, stage them, score every
// (query block, target block) work item and write the Zarr score matrix.
package pipeline

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/memory"
	"github.com/nblast-go/nblast/scoring"
)

// Options are a run's settings, as the runner's flags give them.
type Options struct {
	Queries    string // Parquet file, glob or directory
	Targets    string // as Queries; empty means all-by-all of the queries
	Out        string // output directory or gs:// prefix
	Scores     string // forward, mean, min, max, both
	Normalized bool
	UseAlpha   bool
	Smat       string  // "fcwb" or a CSV path
	MaxDist    string  // "" (none), "auto", or µm
	DType      string  // float32, float16, float64
	BlockSize  int     // neurons per block; 0 picks one from the input size
	Exists     string  // fail, overwrite, resume, update (update.go)
	Sink       string  // zarr, sparse, topk
	Threshold  float64 // sparse and top-k keep scores >= Threshold
	TopK       int     // > 0: also (or with Sink "topk", only) the TopK best targets per query
	Prune      bool    // skip pairs and work items that cannot reach Threshold
	Units      string  // input coordinate units ("nm", "8 nm", "um", ...); "" = µm
	Scale      float64 // µm per input coordinate unit; 0 = from Units (or 1)
	// Smart pre-screens as navis.nblast_smart (see smart.go): pre-score on
	// dotprops downsampled by 10, rescore exactly the pairs each query
	// row's SmartCriterion/SmartT selects; OUT/smart_mask says which.
	Smart          bool
	SmartCriterion string  // percentile, score, N
	SmartT         float64 // the criterion's t
	// DryRun builds the job without touching Out (neither --exists checks
	// nor the run marker and Zarr metadata): for Dataflow's --dry_run,
	// which prints the job instead of submitting it. Items are planned as
	// for a fresh run.
	DryRun bool
	// Memory bounds each worker process (a local run: this one): its
	// block cache, tiles and the Go runtime's soft limit; a size such as
	// "4GiB" (memory.Parse), "" for memory.Default.
	Memory string
	// TileBlocks, when > 0, sets how many query blocks a tile (a work
	// element) holds; 0: transforms.TileBlocks chooses. The output does
	// not depend on it.
	TileBlocks int

	scale float64 // µm per input unit, from Units or Scale (0: µm)
}

// Defaults returns the documented defaults.
func Defaults() Options {
	return Options{Scores: "forward", Normalized: true, Smat: "fcwb", DType: "float32", Exists: "fail", Sink: "zarr", Prune: true,
		SmartCriterion: "percentile", SmartT: 90}
}

// AllByAll reports whether the run scores the queries against themselves.
func (o Options) AllByAll() bool { return o.Targets == "" }

// Validate checks every option before any work starts; the error says what
// to do.
func (o Options) Validate() error {
	if o.Queries == "" {
		return fmt.Errorf("--queries is required: a dotprops Parquet file, glob or directory")
	}
	if o.Out == "" {
		return fmt.Errorf("--out is required: the output directory (or gs://bucket/prefix) for the Zarr scores")
	}
	if _, err := scoring.ParseMode(o.Scores); err != nil {
		return fmt.Errorf("--scores: %w", err)
	}
	if _, err := o.maxDist(); err != nil {
		return err
	}
	mem, err := o.memory()
	if err != nil {
		return err
	}
	if o.TileBlocks < 0 || o.TileBlocks > MaxTileBlocks {
		return fmt.Errorf("--tile_blocks %d: want a positive number of query blocks up to %d, or 0 to choose from --memory", o.TileBlocks, MaxTileBlocks)
	}
	switch o.DType {
	case "float32", "float16", "float64":
	default:
		return fmt.Errorf("--dtype %q: want float32, float16 or float64", o.DType)
	}
	if o.DType == "float16" && !o.Normalized && o.Sink == "zarr" {
		return fmt.Errorf("--dtype float16 with --normalized=false: raw scores overflow float16 (largest 65504; a neuron of a few thousand points scores tens of thousands) and would be stored as Inf: want --dtype float32 or float64 for raw scores (float16 suits normalized ones)")
	}
	if most := maxBlockSize(mem, o.Scores == "both"); o.BlockSize < 0 || o.BlockSize > most {
		return fmt.Errorf("--block_size %d: want a positive number of neurons up to %d (a work item scores into block_size² float64 values, which must fit in half of --memory %s), or 0 to choose from the input size",
			o.BlockSize, most, memory.Format(memoryOrDefault(mem)))
	}
	switch o.Exists {
	case "fail", "overwrite", "resume", "update":
	default:
		return fmt.Errorf("--exists %q: want fail, overwrite or resume (or update, with --sink sparse or --sink topk)", o.Exists)
	}
	switch o.Sink {
	case "zarr", "sparse", "topk":
	default:
		return fmt.Errorf("--sink %q: want zarr (dense matrix), sparse (Parquet triplets >= --threshold) or topk", o.Sink)
	}
	if o.TopK < 0 || (o.Sink == "topk" && o.TopK == 0) {
		return fmt.Errorf("--topk %d: want the number of best targets per query, from 1 to the number of targets (or 0, without --sink topk, for no top-k table)", o.TopK)
	}
	if math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 1) {
		return fmt.Errorf("--threshold %v: want a finite score (e.g. 0), or -Inf to keep every score", o.Threshold)
	}
	if o.Scores == "both" && (o.Sink != "zarr" || o.TopK > 0) {
		return fmt.Errorf("--scores both writes two matrices, which only --sink zarr (without --topk) supports: use forward, mean, min or max")
	}
	if o.Smat == "" {
		return fmt.Errorf("--smat is empty: use fcwb or the path of a scoring matrix CSV")
	}
	if _, err := o.resolveScale(); err != nil {
		return err
	}
	if err := o.validateUpdate(); err != nil { // --exists update (update.go)
		return err
	}
	return o.validateSmart()
}

// resolveScale returns the µm per input unit that --units or --scale
// give (0 when neither is given: inputs are µm).
func (o Options) resolveScale() (float64, error) { return dotprops.ResolveScale(o.Units, o.Scale) }

// maxDist parses --max_dist: "" is unbounded (0), "auto" is resolved later
// against the matrix (returned as -1).
// With --smart, an empty --max_dist is auto (smartMaxDist).
func (o Options) maxDist() (float64, error) {
	md := o.smartMaxDist()
	switch strings.TrimSpace(md) {
	case "", "none":
		return 0, nil
	case "auto":
		return -1, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(md), 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("--max_dist %q: want a positive, finite distance in µm, auto, or none (unbounded)", md)
	}
	return v, nil
}

// Pruning reports whether this run may skip pairs below the threshold: only
// outputs that drop those scores (sparse, top-k without a dense matrix).
// A --smart run does not prune: every pre-score of a row decides its
// selection.
func (o Options) Pruning() bool { return o.Prune && o.Sink != "zarr" && !o.Smart }

// memory is --memory in bytes; 0 when not given (memory.Default).
func (o Options) memory() (int64, error) {
	if o.Memory == "" {
		return 0, nil
	}
	m, err := memory.Parse(o.Memory)
	if err != nil {
		// memory.Parse's own messages do not all give the range.
		return 0, fmt.Errorf("--memory %q: want a size from %s up to 2^62 bytes, such as 4GiB, 3.5GB or 512MiB (B, KB, MB, GB, TB or KiB, MiB, GiB, TiB); more than the machine has is capped at 90%% of it",
			o.Memory, memory.Format(memory.Min))
	}
	return m, nil
}

// MaxTileBlocks is the largest --tile_blocks: block numbers are int32, so
// no plan has more query blocks (and larger values overflowed the tile
// count, scoring nothing).
const MaxTileBlocks = math.MaxInt32

// memoryOrDefault is a --memory in bytes, memory.Default for 0
// (not given).
func memoryOrDefault(mem int64) int64 {
	if mem <= 0 {
		return memory.Default
	}
	return mem
}

// maxBlockSize is the largest --block_size whose work item fits in half of
// the worker's budget mem (0: the default): a work item scores into
// block_size² float64 values (twice that with --scores both), and a Zarr
// chunk is block_size² values whatever the input size. Larger blocks made
// workers run out of memory, or panic on the chunk's allocation.
func maxBlockSize(mem int64, both bool) int {
	cell := 8.0
	if both {
		cell *= 2
	}
	return int(math.Sqrt(float64(memoryOrDefault(mem)) / 2 / cell))
}
