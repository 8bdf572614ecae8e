package dotpropsjob_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/dotpropsjob"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/skeleton"
)

// BenchmarkMakeNeuronDotprops makes dotprops of navis' five example
// skeletons (extra/swc, 8 nm voxels, 23,221 nodes) as `runner dotprops`
// does, on one goroutine: read and parse the SWC files, convert to µm,
// resample to 1 µm (12,284 nodes) with k = 5, or use the nodes as they
// are with k = 20 (navis' defaults). It reports dotprops points made per
// second on one core (points/s), the figure to compare with navis'
// make_dotprops on the same skeletons.
func BenchmarkMakeNeuronDotprops(b *testing.B) {
	dir := reference.Dir(b)
	ctx := context.Background()
	paths, err := dotprops.ExpandNeuronInputs(ctx, filepath.Join(dir, "extra", "swc"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name     string
		k        int
		resample float64
	}{
		{"k5_resample1um", 5, 1},
		{"k20_nodes", 20, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			job := dotpropsjob.Job{K: bc.k, Resample: bc.resample, Workers: 1,
				Read: dotprops.NeuronReadOptions{Units: skeleton.Units{Mul: 8, Div: 1000}}}
			var points int64
			for b.Loop() {
				st, err := dotpropsjob.WriteFrom(ctx, paths, job, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				points += st.Points
			}
			b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
