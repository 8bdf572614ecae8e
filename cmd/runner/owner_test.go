package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// TestSecondRunIsRefused starts two runs into one OUT, as in the issue
// (--exists overwrite, --scores forward and max): the second is refused
// with a message naming the first, which finishes alone and complete,
// and the lock is gone once it is done.
func TestSecondRunIsRefused(t *testing.T) {
	runner := binary(t, ".")
	tmp := t.TempDir()
	in := filepath.Join(tmp, "neurons.parquet")
	if err := synthMain([]string{"--n", "200", "--out", in, "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	first := exec.CommandContext(ctx, runner, "--queries", in, "--out", out, "--block_size", "10", "--exists", "overwrite", "--scores", "forward")
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(out, sinks.OwnerName)
	for {
		if _, err := os.Stat(lock); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no owner lock appeared; first run:\n%s", firstErr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var owner sinks.Owner
	if b, err := os.ReadFile(lock); err != nil || json.Unmarshal(b, &owner) != nil {
		t.Fatalf("owner lock: %v %s", err, b)
	}
	code, stderr := runCase(t, runner, []string{"--queries", in, "--out", out, "--block_size", "10", "--exists", "overwrite", "--scores", "max"})
	if code != 1 || !strings.Contains(firstLine(stderr), "run "+owner.Run) || !strings.Contains(firstLine(stderr), "pid "+strconv.Itoa(first.Process.Pid)) {
		t.Errorf("second run: exit %d, %q; want a refusal naming run %s (pid %d)", code, firstLine(stderr), owner.Run, first.Process.Pid)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, tail(firstErr.Bytes(), 3000))
	}
	z, err := zarr.Open(context.Background(), out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	if !z.Complete() || z.Attrs["scores"] != "forward" {
		t.Errorf("result: complete %v, scores %v", z.Complete(), z.Attrs["scores"])
	}
	// Every chunk is the first run's: the same bytes as a clean run's.
	clean := filepath.Join(tmp, "clean")
	runStep(t, "clean run", nil, nil, "--queries", in, "--out", clean, "--block_size", "10", "--scores", "forward")
	sameTree(t, clean, out)
	if _, err := os.Stat(lock); err == nil {
		t.Error("the owner lock outlived its run")
	}
}

// TestResumeRefusalNamesTheChange: --exists resume with another option or
// input says which.
func TestResumeRefusalNamesTheChange(t *testing.T) {
	runner := binary(t, ".")
	tmp := t.TempDir()
	in := filepath.Join(tmp, "a.parquet")
	if err := synthMain([]string{"--n", "20", "--out", in, "--seed", "5"}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "b.parquet")
	if err := synthMain([]string{"--n", "21", "--out", other, "--seed", "6"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	runStep(t, "first run", nil, nil, "--queries", in, "--out", out, "--sink", "sparse")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--queries", in, "--sink", "sparse", "--threshold", "0.2"}, []string{"--threshold was 0, now 0.2"}},
		{[]string{"--queries", in, "--sink", "sparse", "--normalized=false", "--scores", "mean"}, []string{"--normalized was true, now false", "--scores was forward, now mean"}},
		{[]string{"--queries", other, "--sink", "sparse"}, []string{in + " is no longer an input", other + " is a new input"}},
	} {
		code, stderr := runCase(t, runner, append(tc.args, "--out", out, "--exists", "resume"))
		line := firstLine(stderr)
		if code != 1 {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(line, w) {
				t.Errorf("%v: %q does not say %q", tc.args, line, w)
			}
		}
	}
}
