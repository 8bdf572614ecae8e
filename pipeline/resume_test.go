package pipeline_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
)

// TestResumeRescoresOnlyMissing: an output that lost some chunks or parts
// (and its completion mark), as an interrupted run leaves it, is finished
// by --exists resume scoring only the missing work items, and ends byte
// for byte equal to an uninterrupted run. (cmd/runner tests the same with
// a real process kill.)
func TestResumeRescoresOnlyMissing(t *testing.T) {
	in := writeDotprops(t, filepath.Join(t.TempDir(), "synth.parquet"), synth.Generate(60, 5))
	for _, tc := range []struct {
		name, sink     string
		lost           func(name string) bool // files an interrupted run has not written
		removed, items int                    // files lost, work items to rescore (-1: all)
	}{
		{"zarr", "zarr", func(n string) bool {
			return n == "scores/1.2" || n == "scores/3.0" || n == "scores_reverse/1.2" || n == "scores_reverse/2.2"
		}, 4, 3}, // (1,2), (3,0), (2,2)
		{"sparse", "sparse", func(n string) bool {
			return n == sinks.ManifestName || n == sinks.PartName(0) || n == sinks.PartName(3)
		}, 3, 8}, // a part is a query block: 2 × 4 target blocks
		{"sparse-manifest-only", "sparse", func(n string) bool { return n == sinks.ManifestName }, 1, 0},
		// Top-k combines every work item: without its manifest, all are
		// rescored; with it, none.
		{"topk", "topk", func(n string) bool { return n == "topk/"+sinks.ManifestName || n == "topk/"+sinks.TopKPartName(1) }, 2, -1},
		{"topk-complete", "topk", func(n string) bool { return false }, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pipeline.Defaults()
			o.Queries, o.Out, o.Sink, o.BlockSize, o.Threshold = in, t.TempDir(), tc.sink, 16, 0.2
			if tc.sink == "zarr" {
				o.Scores = "both"
			}
			if tc.sink == "topk" {
				o.TopK = 3
			}
			runJob(t, "prism", o)
			want := localTree(t, o.Out)
			for name := range want {
				if strings.HasPrefix(name, ".staging") {
					t.Fatalf("%s left in the output", name)
				}
			}
			removed := 0
			for name := range want {
				if tc.lost(name) {
					os.Remove(filepath.Join(o.Out, name))
					removed++
				}
			}
			if removed != tc.removed {
				t.Fatalf("removed %d files of %d", removed, len(want))
			}
			if tc.sink == "zarr" { // the completion mark goes with the chunks
				for _, a := range []string{"scores", "scores_reverse"} {
					p := filepath.Join(o.Out, a, ".zattrs")
					b := bytes.Replace(want[a+"/.zattrs"], []byte(`"complete": true`), []byte(`"complete": false`), 1)
					if bytes.Equal(b, want[a+"/.zattrs"]) {
						t.Fatalf("%s/.zattrs has no \"complete\": true:\n%s", a, b)
					}
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			// A write killed before its rename leaves a temporary file.
			if err := os.WriteFile(filepath.Join(o.Out, "part-00001.parquet.tmp-0123456789abcdef"), []byte("half"), 0o644); err != nil {
				t.Fatal(err)
			}
			o.Exists = "resume"
			job := runJob(t, "prism", o)
			if tc.items < 0 { // all, but those pruning skips
				if job.Done != 0 || len(job.Items) == 0 {
					t.Errorf("resume scored %d work items (%d already done of %d), want all", len(job.Items), job.Done, job.Total)
				}
			} else if len(job.Items) != tc.items || job.Done != job.Total-tc.items {
				t.Errorf("resume scored %d work items (%d already done of %d), want %d", len(job.Items), job.Done, job.Total, tc.items)
			}
			got := localTree(t, o.Out)
			if len(got) != len(want) {
				t.Errorf("resumed output has %d files, uninterrupted %d", len(got), len(want))
			}
			for name, b := range want {
				if !bytes.Equal(got[name], b) {
					t.Errorf("%s differs after resume", name)
				}
			}
		})
	}
}
