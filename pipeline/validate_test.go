package pipeline_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/pipeline"
)

// firstLine is the first line of an error message.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// TestValidateRanges: every option value a run cannot honour is refused
// by Validate, before anything is read, with a first line that names the
// flag, the value given and the range it takes. Each case edits the
// defaults; want is the start of the first line ("" for values that are
// accepted, the edges of each range).
func TestValidateRanges(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		name string
		edit func(*pipeline.Options)
		want string
	}{
		// --block_size: block_size² float64 values must fit in half of --memory.
		{"block_size negative", func(o *pipeline.Options) { o.BlockSize = -1 }, "--block_size -1: want a positive number of neurons up to 16384"},
		{"block_size over 4GiB/2", func(o *pipeline.Options) { o.BlockSize = 16385 }, "--block_size 16385: want a positive number of neurons up to 16384"},
		{"block_size 1e9", func(o *pipeline.Options) { o.BlockSize = 1e9 }, "--block_size 1000000000: want a positive number of neurons up to 16384"},
		{"block_size max int", func(o *pipeline.Options) { o.BlockSize = math.MaxInt }, "--block_size 9223372036854775807: want a positive number of neurons up to 16384"},
		{"block_size with both", func(o *pipeline.Options) { o.BlockSize, o.Scores = 11586, "both" }, "--block_size 11586: want a positive number of neurons up to 11585"},
		{"block_size with 64MiB", func(o *pipeline.Options) { o.BlockSize, o.Memory = 2049, "64MiB" }, "--block_size 2049: want a positive number of neurons up to 2048"},
		{"block_size 0 chooses", func(o *pipeline.Options) { o.BlockSize = 0 }, ""},
		{"block_size at the bound", func(o *pipeline.Options) { o.BlockSize = 16384 }, ""},
		{"block_size at the bound of 64MiB", func(o *pipeline.Options) { o.BlockSize, o.Memory = 2048, "64MiB" }, ""},
		// --tile_blocks
		{"tile_blocks negative", func(o *pipeline.Options) { o.TileBlocks = -1 }, "--tile_blocks -1: want a positive number of query blocks up to 2147483647, or 0"},
		{"tile_blocks max int", func(o *pipeline.Options) { o.TileBlocks = math.MaxInt }, "--tile_blocks 9223372036854775807: want a positive number of query blocks up to 2147483647"},
		{"tile_blocks 2^31", func(o *pipeline.Options) { o.TileBlocks = 1 << 31 }, "--tile_blocks 2147483648: want a positive number of query blocks up to 2147483647"},
		{"tile_blocks at the bound", func(o *pipeline.Options) { o.TileBlocks = math.MaxInt32 }, ""},
		// --memory
		{"memory 1KiB", func(o *pipeline.Options) { o.Memory = "1KiB" }, `--memory "1KiB": want a size from 64MiB up to 2^62 bytes`},
		{"memory 63MiB", func(o *pipeline.Options) { o.Memory = "63MiB" }, `--memory "63MiB": want a size from 64MiB`},
		{"memory 0", func(o *pipeline.Options) { o.Memory = "0" }, `--memory "0": want a size from 64MiB`},
		{"memory negative", func(o *pipeline.Options) { o.Memory = "-1GiB" }, `--memory "-1GiB": want a size from 64MiB`},
		{"memory 1e30", func(o *pipeline.Options) { o.Memory = "1e30" }, `--memory "1e30": want a size from 64MiB up to 2^62 bytes`},
		{"memory NaN", func(o *pipeline.Options) { o.Memory = "NaN" }, `--memory "NaN": want a size from 64MiB`},
		{"memory Inf", func(o *pipeline.Options) { o.Memory = "InfGiB" }, `--memory "InfGiB": want a size from 64MiB`},
		{"memory not a size", func(o *pipeline.Options) { o.Memory = "lots" }, `--memory "lots": want a size from 64MiB`},
		{"memory 64MiB", func(o *pipeline.Options) { o.Memory = "64MiB" }, ""},
		// --topk (its bound by the targets: TestPlannedRanges)
		{"topk negative", func(o *pipeline.Options) { o.TopK = -1 }, "--topk -1: want the number of best targets per query, from 1 to the number of targets"},
		{"topk 0 with sink topk", func(o *pipeline.Options) { o.Sink = "topk" }, "--topk 0: want the number of best targets per query, from 1"},
		// --threshold
		{"threshold NaN", func(o *pipeline.Options) { o.Sink, o.Threshold = "sparse", nan }, "--threshold NaN: want a finite score"},
		{"threshold +Inf", func(o *pipeline.Options) { o.Sink, o.Threshold = "sparse", inf }, "--threshold +Inf: want a finite score"},
		{"threshold -Inf keeps all", func(o *pipeline.Options) { o.Sink, o.Threshold = "sparse", -inf }, ""},
		// --max_dist
		{"max_dist NaN", func(o *pipeline.Options) { o.MaxDist = "NaN" }, `--max_dist "NaN": want a positive, finite distance in µm, auto, or none`},
		{"max_dist Inf", func(o *pipeline.Options) { o.MaxDist = "Inf" }, `--max_dist "Inf": want a positive, finite distance`},
		{"max_dist 0", func(o *pipeline.Options) { o.MaxDist = "0" }, `--max_dist "0": want a positive, finite distance`},
		{"max_dist negative", func(o *pipeline.Options) { o.MaxDist = "-3" }, `--max_dist "-3": want a positive, finite distance`},
		{"max_dist not a number", func(o *pipeline.Options) { o.MaxDist = "far" }, `--max_dist "far": want a positive, finite distance`},
		{"max_dist none", func(o *pipeline.Options) { o.MaxDist = "none" }, ""},
		// --scale and --units
		{"scale NaN", func(o *pipeline.Options) { o.Scale = nan }, "--scale NaN: want the positive number of µm per input coordinate unit"},
		{"scale +Inf", func(o *pipeline.Options) { o.Scale = inf }, "--scale +Inf: want the positive number of µm"},
		{"scale -Inf", func(o *pipeline.Options) { o.Scale = -inf }, "--scale -Inf: want the positive number of µm"},
		{"scale negative", func(o *pipeline.Options) { o.Scale = -1 }, "--scale -1: want the positive number of µm"},
		{"units blank", func(o *pipeline.Options) { o.Units = " " }, `--units " ": want a unit of length`},
		{"units negative", func(o *pipeline.Options) { o.Units = "-8 nm" }, "--units: units \"-8 nm\": factor -8 is not a positive number"},
		{"units and scale", func(o *pipeline.Options) { o.Units, o.Scale = "8 nm", 0.008 }, `--units "8 nm" and --scale 0.008 both given`},
		// --dtype
		{"dtype int8", func(o *pipeline.Options) { o.DType = "int8" }, `--dtype "int8": want float32, float16 or float64`},
		{"dtype float16 raw", func(o *pipeline.Options) { o.DType, o.Normalized = "float16", false }, "--dtype float16 with --normalized=false: raw scores overflow float16 (largest 65504"},
		{"dtype float16 raw, both", func(o *pipeline.Options) { o.DType, o.Normalized, o.Scores = "float16", false, "both" }, "--dtype float16 with --normalized=false"},
		{"dtype float16 raw, topk with zarr", func(o *pipeline.Options) { o.DType, o.Normalized, o.TopK = "float16", false, 5 }, "--dtype float16 with --normalized=false"},
		{"dtype float16 normalized", func(o *pipeline.Options) { o.DType = "float16" }, ""},
		{"dtype float16 raw, sparse (stored as float32)", func(o *pipeline.Options) { o.DType, o.Normalized, o.Sink = "float16", false, "sparse" }, ""},
		// the enumerations
		{"scores", func(o *pipeline.Options) { o.Scores = "average" }, `--scores: unknown scores mode "average" (want forward, mean, min, max or both)`},
		{"exists", func(o *pipeline.Options) { o.Exists = "skip" }, `--exists "skip": want fail, overwrite or resume`},
		{"sink", func(o *pipeline.Options) { o.Sink = "csv" }, `--sink "csv": want zarr`},
		{"smat empty", func(o *pipeline.Options) { o.Smat = "" }, "--smat is empty"},
		// --smart_criterion and --smart_t (N's bound by the targets: TestPlannedRanges)
		{"smart_criterion", func(o *pipeline.Options) { o.Smart, o.SmartCriterion = true, "top" }, `--smart_criterion "top": want percentile, score or N`},
		{"smart_t percentile NaN", func(o *pipeline.Options) { o.Smart, o.SmartT = true, nan }, "--smart_t NaN: want a percentile 0 < t < 100 (--smart_criterion percentile)"},
		{"smart_t percentile 0", func(o *pipeline.Options) { o.Smart, o.SmartT = true, 0 }, "--smart_t 0: want a percentile 0 < t < 100"},
		{"smart_t percentile 100", func(o *pipeline.Options) { o.Smart, o.SmartT = true, 100 }, "--smart_t 100: want a percentile 0 < t < 100"},
		{"smart_t percentile Inf", func(o *pipeline.Options) { o.Smart, o.SmartT = true, inf }, "--smart_t +Inf: want a percentile 0 < t < 100"},
		{"smart_t N fraction", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "N", 2.5 }, "--smart_t 2.5: want a whole number of targets between 0 and the number of targets (--smart_criterion N)"},
		{"smart_t N negative", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "N", -1 }, "--smart_t -1: want a whole number of targets"},
		{"smart_t N NaN", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "N", nan }, "--smart_t NaN: want a whole number of targets"},
		{"smart_t score Inf", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "score", -inf }, "--smart_t -Inf: want a finite score (--smart_criterion score)"},
		{"smart_t score NaN", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "score", nan }, "--smart_t NaN: want a finite score"},
		{"smart_t N 0", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "N", 0 }, ""},
		{"smart_t score negative", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "score", -1 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Queries, o.Out = "q.parquet", "out"
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Errorf("accepted, want an error starting %q", tc.want)
			case !strings.HasPrefix(firstLine(err), tc.want):
				t.Errorf("first line %q, want it to start %q", firstLine(err), tc.want)
			}
		})
	}
}

// TestPlannedRanges: the bounds that depend on the number of targets
// (--topk, --smart_t of the N criterion) are checked by Prepare once the
// inputs are indexed, before anything is staged or scored.
func TestPlannedRanges(t *testing.T) {
	in := "../testdata/golden_synthetic.dotprops.parquet" // 17 neurons
	for _, tc := range []struct {
		name string
		edit func(*pipeline.Options)
		want string
	}{
		{"topk over the targets", func(o *pipeline.Options) { o.TopK = 18 }, "--topk 18: want at most 17, the number of targets"},
		{"topk 1e9", func(o *pipeline.Options) { o.TopK = 1e9 }, "--topk 1000000000: want at most 17"},
		{"topk max int, sink topk", func(o *pipeline.Options) { o.Sink, o.TopK = "topk", math.MaxInt }, "--topk 9223372036854775807: want at most 17"},
		{"topk over the targets, sparse", func(o *pipeline.Options) { o.Sink, o.TopK = "sparse", 100 }, "--topk 100: want at most 17"},
		{"smart_t N over the targets", func(o *pipeline.Options) { o.Smart, o.SmartCriterion, o.SmartT = true, "N", 18 }, "--smart_t 18: want a whole number of targets between 0 and 17, the number of targets (--smart_criterion N)"},
		{"topk every target", func(o *pipeline.Options) { o.TopK = 17 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Queries, o.Out = in, filepath.Join(t.TempDir(), "out")
			o.DryRun = true // nothing written to OUT either way
			tc.edit(&o)
			_, err := pipeline.Prepare(context.Background(), o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Errorf("accepted, want an error starting %q", tc.want)
			case !strings.HasPrefix(firstLine(err), tc.want):
				t.Errorf("first line %q, want it to start %q", firstLine(err), tc.want)
			}
			if _, err := os.Stat(o.Out); err == nil {
				t.Errorf("%s was written", o.Out)
			}
		})
	}
}
