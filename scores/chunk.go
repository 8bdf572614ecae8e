package scores

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/scoring"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Chunk)(nil)).Elem())
}

// Chunk holds the scores of one work item: Rows × Cols values, row-major,
// in the plan's order. A pair skipped by pruning (its upper bound is below
// the threshold, so its score is too) holds NaN.
type Chunk struct {
	QB, TB     int
	Rows, Cols int
	Queries    []scoring.ID // the Rows query ids
	Targets    []scoring.ID // the Cols target ids
	Values     []float64    // forward scores, or the combined mean/min/max
	Reverse    []float64    // target→query scores; only for scores=both
	Mask       []bool       // --smart: true where Values is exact, not the pre-score
	Pruned     int          // pairs skipped by pruning
}
