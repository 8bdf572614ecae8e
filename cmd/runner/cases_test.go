package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/parquettest"
	"github.com/nblast-go/nblast/scoring"
)

// userCase is one thing a user types, and what they must get back.
type userCase struct {
	name  string
	args  []string // OUT is appended as --out unless args name it
	code  int      // exit code
	first []string // the first line of the message contains each of these
	// advice is in the message (after the first line); with bad input,
	// "--exists resume" must not be.
	advice string
}

// runCase runs the runner binary and returns its exit code, stderr and
// what it left in out.
func runCase(t *testing.T, bin string, args []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String()
}

// leftIn summarises what a run left in out, for the case table.
func leftIn(out string) string {
	var names []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(names) == 0 {
		return "nothing"
	}
	sort.Strings(names)
	complete := "not complete"
	for _, n := range names {
		if b, _ := os.ReadFile(filepath.Join(out, n)); n == "scores/.zattrs" && bytes.Contains(b, []byte(`"complete": true`)) || n == "_manifest.json" {
			complete = "COMPLETE"
		}
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("… (%d files)", len(names)))
	}
	return strings.Join(names, ", ") + "; " + complete
}

// firstLine is the first line of the runner's message: after the plan
// and memory lines and the progress line, which a run prints before its
// job starts.
func firstLine(s string) string {
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "plan: ") && !strings.HasPrefix(l, "memory: ") && !strings.HasPrefix(l, "work items ") {
			return l
		}
	}
	return ""
}

// TestUserMistakes runs the runner binary on the mistakes of a new user's
// first hour and checks the exit code and that the first line of the
// message names the file, neuron and problem with fitting advice, and
// that no output is left looking complete. The log is the table of the
// closing note.
func TestUserMistakes(t *testing.T) {
	bin := binary(t, ".")
	tmp := t.TempDir()
	if d := os.Getenv("NBLAST_CASES_DIR"); d != "" { // keep the inputs, e.g. to run another binary on them
		tmp = d
	}
	good := parquettest.WriteRaw(t, filepath.Join(tmp, "good.parquet"),
		[]*scoring.Dotprops{parquettest.Neuron(scoring.IntID(1), 0), parquettest.Neuron(scoring.IntID(2), 3)}, nil)
	zero := parquettest.Neuron(scoring.IntID(7), 0)
	zero.Vectors[5] = [3]float64{0, 0, 0}
	zeroFile := parquettest.WriteRaw(t, filepath.Join(tmp, "zero_tangent.parquet"), []*scoring.Dotprops{parquettest.Neuron(scoring.IntID(1), 0), zero}, nil)
	alpha := parquettest.Neuron(scoring.IntID(8), 0)
	alpha.Alpha[3] = 1.3
	alphaFile := parquettest.WriteRaw(t, filepath.Join(tmp, "alpha.parquet"), []*scoring.Dotprops{parquettest.Neuron(scoring.IntID(1), 0), alpha}, nil)
	dup := filepath.Join(tmp, "dup")
	os.Mkdir(dup, 0o755)
	parquettest.WriteRaw(t, filepath.Join(dup, "a.parquet"), []*scoring.Dotprops{parquettest.Neuron(scoring.IntID(1), 0), parquettest.Neuron(scoring.IntID(2), 3)}, nil)
	parquettest.WriteRaw(t, filepath.Join(dup, "b.parquet"), []*scoring.Dotprops{parquettest.Neuron(scoring.IntID(2), 9)}, nil)
	nm := parquettest.Neuron(scoring.IntID(3), 0)
	for i := range nm.Points {
		for k := range 3 {
			nm.Points[i][k] *= 125 // 8 nm voxels: 1 µm = 125 voxels
		}
	}
	nmFile := parquettest.WriteRaw(t, filepath.Join(tmp, "voxels.parquet"), []*scoring.Dotprops{nm, parquettest.Neuron(scoring.IntID(4), 1000)},
		map[string]string{"3:units": "8 nanometer", "4:units": "8 nanometer"})
	nan := parquettest.Neuron(scoring.IntID(5), 0)
	nan.Points[2][1] = math.NaN()
	nanFile := parquettest.WriteRaw(t, filepath.Join(tmp, "nan.parquet"), []*scoring.Dotprops{nan}, nil)

	cases := []userCase{
		{"boolean flag with a space", []string{"--queries", good, "--normalized", "false", "--scores", "mean"}, 2, []string{"false", "--normalized=false"}, ""},
		{"unknown command", []string{"bogus"}, 2, []string{"bogus", "not a command"}, ""},
		{"zero tangent", []string{"--queries", zeroFile}, 1, []string{zeroFile, "neuron 7", "zero tangent"}, "--exists overwrite"},
		{"alpha 1.3 without --use_alpha", []string{"--queries", alphaFile}, 0, nil, ""},
		{"alpha 1.3 with --use_alpha", []string{"--queries", alphaFile, "--use_alpha"}, 1, []string{alphaFile, "neuron 8", "alpha 1.3", "--use_alpha"}, "--exists overwrite"},
		{"same id, different data", []string{"--queries", dup}, 1, []string{"neuron 2", "a.parquet", "b.parquet"}, ""},
		{"NaN coordinate", []string{"--queries", nanFile}, 1, []string{nanFile, "neuron 5"}, ""},
		{"8 nm voxels", []string{"--queries", nmFile}, 1, []string{nmFile, "8 nanometer", "--units"}, ""},
		{"8 nm voxels with --units", []string{"--queries", nmFile, "--units", "8 nm"}, 0, nil, ""},
	}
	t.Logf("| case | exit | first line | left in OUT |")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "_"))
			args := tc.args
			if len(args) > 1 {
				args = append(append([]string(nil), args...), "--out", out)
			}
			code, stderr := runCase(t, bin, args)
			first := firstLine(stderr)
			t.Logf("| %s | %d | `%s` | %s |", tc.name, code, first, leftIn(out))
			if code != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tc.code, tail([]byte(stderr), 3000))
			}
			for _, w := range tc.first {
				if !strings.Contains(first, w) {
					t.Errorf("first line %q does not mention %q", first, w)
				}
			}
			if tc.advice != "" {
				if !strings.Contains(stderr, tc.advice) {
					t.Errorf("the message does not advise %q:\n%s", tc.advice, stderr)
				}
				if tc.advice == "--exists overwrite" && strings.Contains(stderr, "--exists resume") {
					t.Errorf("bad input, but the message advises --exists resume:\n%s", stderr)
				}
			}
			if code != 0 && strings.Contains(leftIn(out), "COMPLETE") {
				t.Errorf("a failed run left %s", leftIn(out))
			}
		})
	}
}
