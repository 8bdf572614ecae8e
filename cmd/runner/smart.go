package main

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// smartSummary prints how many cells a --smart run rescored exactly: for
// the Zarr output from the counts recorded in OUT/smart_mask (the whole
// matrix, resumed runs included), otherwise from the workers' counters
// (this run's cells).
func smartSummary(ctx context.Context, job *pipeline.Job, res beam.PipelineResult) {
	o := job.Options
	if o.Sink == "zarr" {
		if z, err := zarr.Open(ctx, o.Out, sinks.MaskArray); err == nil {
			fmt.Fprintf(os.Stderr, "smart: %v of %v cells rescored exactly (fraction %v; %s criterion, t = %v), recorded in %s/%s/.zattrs (%s) and OUT/%s marks them\n",
				z.Attrs[sinks.AttrRescored], z.Attrs[sinks.AttrCells], z.Attrs[sinks.AttrFraction], o.SmartCriterion, o.SmartT,
				o.Out, sinks.MaskArray, sinks.AttrFraction, sinks.MaskArray)
			return
		}
	}
	c, _ := pipeline.Counters(res)
	rescored, cells := c["smart_pairs_rescored"], c["smart_pairs_prescored"]
	if cells > 0 {
		fmt.Fprintf(os.Stderr, "smart: %d of %d cells rescored exactly (fraction %.4f; %s criterion, t = %v; Beam counters nblast/smart_pairs_rescored, nblast/smart_pairs_prescored)\n",
			rescored, cells, float64(rescored)/float64(cells), o.SmartCriterion, o.SmartT)
	}
}
