package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/pipeline"
)

// TestPipelineSizeDoesNotGrow marshals the pipeline as the Dataflow runner
// does (a dry run, which touches no output) for a small and a 20× larger
// brain, for every sink, and requires the same size to within 4 kB: the
// plan travels in storage, not in the job graph (Dataflow refuses graphs
// over 10 MB; before the layout moved to storage the graph grew as N²).
func TestPipelineSizeDoesNotGrow(t *testing.T) {
	dir := t.TempDir()
	inputs := map[int]string{}
	for _, n := range []int{100, 2000} {
		p := filepath.Join(dir, fmt.Sprintf("syn%d.parquet", n))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := dotprops.WriteDotpropsParquet(f, synth.Generate(n, 7)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		inputs[n] = p
	}
	for _, tc := range []struct {
		sink string
		topk int
	}{{"zarr", 0}, {"zarr", 5}, {"sparse", 0}, {"sparse", 5}, {"topk", 5}} {
		t.Run(fmt.Sprintf("%s-topk%d", tc.sink, tc.topk), func(t *testing.T) {
			size := map[int]int{}
			for n, in := range inputs {
				o := pipeline.Defaults()
				o.Queries, o.Out, o.Sink, o.TopK, o.DryRun = in, filepath.Join(dir, "out"), tc.sink, tc.topk, true
				job, err := pipeline.Prepare(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				if size[n], err = job.MarshalledSize(); err != nil {
					t.Fatal(err)
				}
				if len(job.Items) < 2 {
					t.Fatalf("%d neurons: only %d work items to score; the test needs a real plan", n, len(job.Items))
				}
			}
			if d := size[2000] - size[100]; d > 4000 || d < -4000 {
				t.Errorf("marshalled pipeline: %d bytes for 100 neurons, %d for 2000: it grows with the input", size[100], size[2000])
			}
			t.Logf("marshalled pipeline: %d bytes (100 neurons), %d (2000)", size[100], size[2000])
		})
	}
}
