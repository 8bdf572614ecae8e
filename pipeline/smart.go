package pipeline

import (
	"fmt"
	"math"
	"strings"

	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/smart"
	"github.com/nblast-go/nblast/zarr"
)

// validateSmart checks the --smart flags (the N criterion's bound on t is
// checked against the targets in Prepare, see checkSmartTargets).
func (o Options) validateSmart() error {
	if !o.Smart {
		return nil
	}
	c, err := smart.ParseCriterion(o.SmartCriterion)
	if err != nil {
		return fmt.Errorf("--smart_criterion %q: want percentile, score or N", o.SmartCriterion)
	}
	if err := smart.CheckT(c, o.SmartT, math.MaxInt); err != nil {
		return fmt.Errorf("--smart_t %v: %s (--smart_criterion %s)", o.SmartT, smartTRange(c), o.SmartCriterion)
	}
	if o.Scores == "both" {
		return fmt.Errorf("--smart with --scores both: navis.nblast_smart has no both; use forward, mean, min or max")
	}
	return nil
}

// smartTRange says which --smart_t criterion c takes.
func smartTRange(c smart.Criterion) string {
	switch c {
	case smart.Percentile:
		return "want a percentile 0 < t < 100"
	case smart.TopN:
		return "want a whole number of targets between 0 and the number of targets"
	}
	return "want a finite score"
}

// checkSmartTargets checks the options bounded by the number of targets,
// known once the inputs are planned: --smart_t of the N criterion (which
// selects at most every target) and --topk (at most every target can be
// listed; a larger K only made workers allocate for it, running out of
// memory or panicking).
func (j *Job) checkSmartTargets() error {
	o := j.Options
	n := len(j.Plan.Targets)
	if o.TopK > n {
		return fmt.Errorf("--topk %d: want at most %d, the number of targets (each query's top-k table cannot hold more)", o.TopK, n)
	}
	if !o.Smart || o.SmartCriterion != "N" {
		return nil
	}
	if err := smart.CheckT(smart.TopN, o.SmartT, n); err != nil {
		return fmt.Errorf("--smart_t %v: want a whole number of targets between 0 and %d, the number of targets (--smart_criterion N)", o.SmartT, n)
	}
	return nil
}

// smartMaxDist is --max_dist as a --smart run reads it: auto unless given,
// as navis.nblast_smart's limit_dist (none = unbounded).
func (o Options) smartMaxDist() string {
	if o.Smart && strings.TrimSpace(o.MaxDist) == "" {
		return "auto"
	}
	return o.MaxDist
}

// smartParameters adds the --smart settings to the output's parameters
// (nothing for other runs, whose parameters stay as they were).
func (o Options) smartParameters(p map[string]any) {
	if !o.Smart {
		return
	}
	p["smart"] = true
	p["smart_criterion"] = o.SmartCriterion
	p["smart_t"] = o.SmartT
	p["smart_downsample"] = smart.Factor
}

// smartMaskSpec is the spec of OUT/smart_mask, beside scores (same shape,
// chunks and attributes).
func (j *Job) smartMaskSpec(scores zarr.ArraySpec) zarr.ArraySpec {
	attrs := map[string]any{}
	for k, v := range scores.Attrs {
		attrs[k] = v
	}
	delete(attrs, "direction")
	attrs["meaning"] = "true: the score in OUT/scores is exact (rescored with the full dotprops); false: the pre-score on dotprops downsampled by 10 (navis.nblast_smart return_mask)"
	return zarr.ArraySpec{Name: sinks.MaskArray, Shape: scores.Shape, Chunks: scores.Chunks, DType: "bool", Attrs: attrs}
}
