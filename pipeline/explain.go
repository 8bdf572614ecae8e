package pipeline

import (
	"fmt"
	"strings"

	"github.com/nblast-go/nblast/transforms"
)

// Failure is a failed job explained: the root cause in one line (the
// error a DoFn returned, found at the end of the runner's report), advice
// that fits it, and the runner's whole report.
type Failure struct {
	Cause  string // one line: file, neuron and problem
	Advice string
	Report string // the runner's error, as it came
}

func (f *Failure) Error() string {
	msg := f.Cause + "\n" + f.Advice
	if f.Report != "" {
		msg += "\n\nthe runner's report:\n" + f.Report
	}
	return msg
}

// doFnFailed ends the frame of a DoFn's error in Beam's reports:
// "DoFn[UID:4, PID:e4, Name: .../transforms.stageFn] failed:\n<error>".
const doFnFailed = "] failed:\n"

// Explain turns the error of a failed job into a Failure whose first line
// is the root cause. Bad input (transforms.BadInput) is to be fixed and
// the run started again with --exists overwrite; anything else (a crash, a
// full disk, a lost worker) is finished with --exists resume, which
// scores only what is missing.
func Explain(err error, out string) error {
	report := err.Error()
	cause := report
	if i := strings.LastIndex(report, doFnFailed); i >= 0 {
		cause = report[i+len(doFnFailed):]
	}
	cause = strings.TrimSpace(cause)
	// Beam appends the element's details on later lines.
	if i := strings.IndexByte(cause, '\n'); i >= 0 {
		cause = cause[:i]
	}
	f := &Failure{Report: report}
	switch {
	case strings.Contains(cause, transforms.BadInputTag):
		f.Cause = strings.Replace(cause, transforms.BadInputTag, "", 1)
		f.Advice = fmt.Sprintf("the input must be fixed: correct or remove that neuron, then run again with --exists overwrite (%s holds no complete result)", out)
		f.Report = "" // the cause is the whole story
	case strings.Contains(cause, "no space left on device") || strings.Contains(cause, "disk quota exceeded"):
		f.Cause = cause
		f.Advice = fmt.Sprintf("the disk is full: free space (the scores and OUT/.staging), then finish the run with --exists resume, which keeps what %s already holds", out)
	default:
		f.Cause = cause
		f.Advice = fmt.Sprintf("the job failed and %s is not marked complete: once the cause is fixed, finish the run with the same command and --exists resume (it scores only what is missing)", out)
	}
	return f
}
