package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/pipeline"
)

// flagCase is a command line with a flag value the command must refuse
// before doing anything, and the start of the first line of its error
// ("" for a value it must accept).
type flagCase struct {
	args []string
	want string
}

// checkFlagCases runs each case through cmd (a subcommand's entry
// function, in this process) and checks the first line of its error.
func checkFlagCases(t *testing.T, cmd func(ctx context.Context, args []string, stderr io.Writer) error, base []string, cases []flagCase) {
	t.Helper()
	for _, tc := range cases {
		args := append(append([]string(nil), base...), tc.args...)
		var stderr bytes.Buffer
		err := cmd(context.Background(), args, &stderr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: refused: %v", tc.args, err)
		case tc.want == "":
		case err == nil:
			t.Errorf("%q: accepted, want an error starting %q", tc.args, tc.want)
		default:
			first, _, _ := strings.Cut(err.Error(), "\n")
			if !strings.HasPrefix(first, tc.want) {
				t.Errorf("%q: first line %q, want it to start %q", tc.args, first, tc.want)
			}
		}
	}
}

// TestScoringGivenFlags: a scoring run's flag given with the value its
// option takes as "not given", or where it has no effect, is refused
// (the values themselves: pipeline's TestValidateRanges).
func TestScoringGivenFlags(t *testing.T) {
	for _, tc := range []struct {
		edit  func(*pipeline.Options)
		given []string
		want  string
	}{
		{func(o *pipeline.Options) { o.Scale = 0 }, []string{"scale"}, "--scale 0: want the positive number of µm per input coordinate unit"},
		{func(o *pipeline.Options) { o.Scale = 0.008 }, []string{"scale"}, ""},
		{func(o *pipeline.Options) { o.SmartCriterion = "N" }, []string{"smart_criterion"}, `--smart_criterion "N" without --smart`},
		{func(o *pipeline.Options) { o.SmartT = 50 }, []string{"smart_t"}, "--smart_t 50 without --smart"},
		{func(o *pipeline.Options) { o.Smart, o.SmartT = true, 50 }, []string{"smart", "smart_t"}, ""},
		{func(o *pipeline.Options) { o.Threshold = 0.5 }, []string{"threshold"}, "--threshold 0.5 with --sink zarr and no --topk"},
		{func(o *pipeline.Options) { o.Threshold, o.TopK = 0.5, 5 }, []string{"threshold", "topk"}, ""},
		{func(o *pipeline.Options) { o.Threshold, o.Sink = 0.5, "sparse" }, []string{"threshold", "sink"}, ""},
		{func(o *pipeline.Options) {}, nil, ""},
	} {
		o := pipeline.Defaults()
		o.Queries, o.Out = "q.parquet", "out"
		tc.edit(&o)
		given := map[string]bool{}
		for _, g := range tc.given {
			given[g] = true
		}
		err := checkGivenFlags(o, given)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.given, err)
		case tc.want == "":
		case err == nil || !strings.HasPrefix(err.Error(), tc.want):
			t.Errorf("%v: error %v, want one starting %q", tc.given, err, tc.want)
		}
	}
}

// TestSynthFlagRanges: runner synth refuses --n outside 1 to 10M before
// writing anything.
func TestSynthFlagRanges(t *testing.T) {
	dir := t.TempDir()
	checkFlagCases(t, runSynth, []string{"--out", filepath.Join(dir, "s.parquet")}, []flagCase{
		{[]string{"--n", "0"}, "--n 0: want a number of neurons from 1 to 10000000"},
		{[]string{"--n", "-3"}, "--n -3: want a number of neurons from 1 to 10000000"},
		{[]string{"--n", "10000001"}, "--n 10000001: want a number of neurons from 1 to 10000000"},
		{[]string{"--n", "1000000000000"}, "--n 1000000000000: want a number of neurons from 1 to 10000000"},
		{[]string{"--n", "9223372036854775807"}, "--n 9223372036854775807: want a number of neurons from 1 to 10000000"},
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files: %v", entries)
	}
}

// TestDotpropsFlagRanges: runner dotprops refuses --k, --resample,
// --workers, --scale and --shard_size values it cannot honour before
// reading its input.
func TestDotpropsFlagRanges(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "5.swc")
	if err := os.WriteFile(in, []byte(helixSWC(50, 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.parquet")
	checkFlagCases(t, runDotprops, []string{"--in", in, "--out", out}, []flagCase{
		{[]string{"--k", "0"}, "--k must be >= 2, got 0"},
		{[]string{"--k", "1"}, "--k must be >= 2, got 1"}, // the point alone: every neuron failed
		{[]string{"--k", "-5"}, "--k must be >= 2, got -5"},
		{[]string{"--resample", "-1"}, "--resample must be a spacing in µm from 0.001 (1 nm) up, finite, or 0 (no resampling), got -1"},
		{[]string{"--resample", "NaN"}, "--resample must be a spacing in µm from 0.001 (1 nm) up, finite, or 0 (no resampling), got NaN"},
		{[]string{"--resample", "Inf"}, "--resample must be a spacing in µm from 0.001 (1 nm) up, finite, or 0 (no resampling), got +Inf"},
		{[]string{"--resample", "1e-9"}, "--resample must be a spacing in µm from 0.001 (1 nm) up, finite, or 0 (no resampling), got 1e-09"}, // ran for ever
		{[]string{"--resample", "1e-300"}, "--resample must be a spacing in µm from 0.001 (1 nm) up"},
		{[]string{"--workers", "-1"}, "--workers must be a number of goroutines from 1 to 4096, or 0 (one per core), got -1"}, // was taken as 0
		{[]string{"--workers", "4097"}, "--workers must be a number of goroutines from 1 to 4096, or 0 (one per core), got 4097"},
		{[]string{"--workers", "9223372036854775807"}, "--workers must be a number of goroutines from 1 to 4096"},
		{[]string{"--scale", "0"}, "--scale 0: want the positive number of µm per input coordinate unit"}, // was taken as not given
		{[]string{"--scale", "NaN"}, "--scale NaN: want the positive number of µm per input coordinate unit"},
		{[]string{"--scale", "-Inf"}, "--scale -Inf: want the positive number of µm per input coordinate unit"},
		{[]string{"--shard_size", "0"}, "--shard_size must be >= 1, got 0"},
		{[]string{"--shard_size", "10"}, "--shard_size 10 without --runner"}, // was ignored
	})
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run wrote --out")
	}
}

// TestDotpropsHugeShard: a --shard_size beyond the inputs is one part of
// them all (near the largest int, the part count overflowed and the job
// panicked).
func TestDotpropsHugeShard(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"5.swc", "6.swc"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(helixSWC(50, 0)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "parts")
	if log, err := runDotpropsT(t, "--runner", "direct", "--in", dir, "--out", out, "--k", "5", "--shard_size", "9223372036854775807"); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if len(parts) != 1 {
		t.Errorf("%d part files, want 1: %v", len(parts), parts)
	}
}

// TestSmatFlagRanges: runner smat refuses --scale 0 and non-finite bin
// edges before reading its inputs (which do not exist here).
func TestSmatFlagRanges(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--in", filepath.Join(dir, "n.parquet"), "--matches", filepath.Join(dir, "g.csv"), "--out", filepath.Join(dir, "smat.csv")}
	checkFlagCases(t, runSmat, base, []flagCase{
		{[]string{"--workers", "-1"}, "--workers -1: want a number of goroutines >= 0"},
		{[]string{"--scale", "0"}, "--scale 0: want the positive number of µm per input coordinate unit"}, // was taken as not given
		{[]string{"--scale", "-1"}, "--scale -1: want the positive number of µm"},
		{[]string{"--scale", "NaN"}, "--scale NaN: want the positive number of µm"},
		{[]string{"--dist_edges", "NaN,1,2"}, `--dist_edges: edge 1 "NaN" is not a finite number`},
		{[]string{"--dist_edges", "0,1,Inf"}, `--dist_edges: edge 3 "Inf" is not a finite number`},
		{[]string{"--dist_edges", "-Inf,0,1"}, `--dist_edges: edge 1 "-Inf" is not a finite number`},
		{[]string{"--dist_edges", "0,1,1e400"}, `--dist_edges: edge 3 "1e400" is not a finite number`},
		{[]string{"--dot_edges", "0,NaN"}, `--dot_edges: edge 2 "NaN" is not a finite number`},
		{[]string{"--dot_edges", "0,a,1"}, `--dot_edges: edge 2 "a" is not a number`},
		{[]string{"--dist_edges", "5"}, `--dist_edges "5": need at least 2 edges`},
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files: %v", entries)
	}
}

// TestClusterFlagRanges: runner cluster refuses its flags' bad values
// before it opens --out (an empty directory here), and method-specific
// flags given for the other method.
func TestClusterFlagRanges(t *testing.T) {
	empty := t.TempDir()
	checkFlagCases(t, runCluster, []string{"--out", empty}, []flagCase{
		{[]string{"--n_clusters", "0"}, "--n_clusters 0: want at least 1"}, // was taken as not given
		{[]string{"--n_clusters", "-1"}, "--n_clusters -1: want at least 1"},
		{[]string{"--n_clusters", "0", "--height", "0.5"}, "--n_clusters 0: want at least 1"},
		{[]string{"--height", "NaN"}, "--height NaN: want a finite distance"}, // was taken as not given
		{[]string{"--height", "Inf"}, "--height +Inf: want a finite distance"},
		{[]string{"--height", "-Inf"}, "--height -Inf: want a finite distance"},
		{[]string{"--resolution", "0"}, "--resolution 0: want a finite number > 0"},
		{[]string{"--resolution", "-1"}, "--resolution -1: want a finite number > 0"},
		{[]string{"--resolution", "NaN"}, "--resolution NaN: want a finite number > 0"},
		{[]string{"--resolution", "Inf"}, "--resolution +Inf: want a finite number > 0"}, // panicked in Louvain
		{[]string{"--linkage", "median"}, `--linkage "median": want ward, average, single or complete`},
		{[]string{"--method", "kmeans"}, `--method "kmeans": want hierarchical or graph`},
		{[]string{"--source", "csv"}, `--source "csv": want dense, sparse or topk`},
	})
	dense := copyOutput(t, fixture(t, "dense"))
	checkFlagCases(t, runCluster, []string{"--out", dense}, []flagCase{
		{[]string{"--n_clusters", "3", "--resolution", "2"}, "--resolution 2 is for --method graph"},
		{[]string{"--n_clusters", "3", "--seed", "5"}, "--seed 5 is for --method graph"},
		{[]string{"--method", "graph", "--linkage", "average"}, "--linkage average is for --method hierarchical"},
		{[]string{"--n_clusters", "3", "--linkage", "average"}, ""},
		{[]string{"--method", "graph", "--seed", "5", "--resolution", "2"}, ""},
	})
}
