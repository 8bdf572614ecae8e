package pipeline

import (
	"errors"
	"strings"
	"testing"
)

// beamReport is how Beam's runners report a DoFn's error: the DoFn's
// message after a long frame of plan details.
func beamReport(msg string) error {
	return errors.New("job job-001 failed:\nbundle inst002 stage-003 failed:process bundle failed for instruction inst002 using plan stage-003 : while executing Process for Plan[stage-003]:\n" +
		"1: DataSource[S[stage-003_source@localhost:37589], i0] Out:4 Coder:W;cwv_n2<LP;c2_lp<R[transforms.InputFile]>>!GWC \n\tcaused by:\nsource failed processing data\n\tcaused by:\n" +
		"DoFn[UID:4, PID:e4, Name: github.com/nblast-go/nblast/transforms.stageFn] failed:\n" + msg)
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name, msg, first, advice, notAdvice string
		report                              bool
	}{
		{"bad input", "bad input: in.parquet: neuron 7: point 5 has a zero tangent vector: recompute", "in.parquet: neuron 7: point 5 has a zero tangent vector: recompute", "--exists overwrite", "--exists resume", false},
		{"full disk", "write OUT/scores/0.1: write /tmp/x: no space left on device", "write OUT/scores/0.1: write /tmp/x: no space left on device", "--exists resume", "--exists overwrite", true},
		{"crash", "work item (query block 1, target block 2): boom", "work item (query block 1, target block 2): boom", "--exists resume", "--exists overwrite", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Explain(beamReport(tc.msg), "OUT")
			lines := strings.Split(err.Error(), "\n")
			if lines[0] != tc.first {
				t.Errorf("first line %q, want %q", lines[0], tc.first)
			}
			if !strings.Contains(lines[1], tc.advice) || strings.Contains(lines[1], tc.notAdvice) {
				t.Errorf("advice %q, want %q and not %q", lines[1], tc.advice, tc.notAdvice)
			}
			if got := strings.Contains(err.Error(), "the runner's report"); got != tc.report {
				t.Errorf("runner's report shown: %v, want %v", got, tc.report)
			}
		})
	}
	// Not a Beam report: the whole error is the cause.
	if err := Explain(errors.New("connection refused"), "OUT"); !strings.HasPrefix(err.Error(), "connection refused\n") {
		t.Errorf("plain error: %q", err)
	}
}
