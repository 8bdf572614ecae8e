package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestResumeAfterKill kills a real run midway (SIGKILL, so nothing of the
// runner gets to clean up), resumes it with --exists resume, and checks
// the result is byte for byte the output of an uninterrupted run, and that
// the resumed run scored only what was missing.
func TestResumeAfterKill(t *testing.T) {
	runner := binary(t, ".")
	tmp := t.TempDir()
	in := filepath.Join(tmp, "neurons.parquet")
	if err := synthMain([]string{"--n", "300", "--out", in, "--seed", "11"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sink  string
		flags []string
		done  func(out string) int // result files written so far
		total int                  // result files of a whole run
	}{
		// 300 neurons in blocks of 10: a 30 × 30 chunk grid; one sparse
		// part per query block.
		{"zarr", []string{"--scores", "both"}, func(out string) int { return countFiles(out, `^scores/\d+\.\d+$`) }, 30 * 30},
		{"sparse", []string{"--threshold", "0.1", "--prune=false"}, func(out string) int { return countFiles(out, `^part-\d+\.parquet$`) }, 30},
	} {
		t.Run(tc.sink, func(t *testing.T) {
			args := append([]string{"--queries", in, "--sink", tc.sink, "--block_size", "10"}, tc.flags...)
			want := filepath.Join(tmp, tc.sink+"-whole")
			runStep(t, "uninterrupted run", nil, nil, append(args, "--out", want)...)
			total := tc.done(want)
			if total != tc.total {
				t.Fatalf("the uninterrupted run wrote %d result files, want %d", total, tc.total)
			}

			out := filepath.Join(tmp, tc.sink+"-killed")
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, runner, append(args, "--out", out)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			killed := false
			for !killed {
				select {
				case err := <-exited:
					t.Fatalf("the run ended (%v) before a third of its %d files were written, nothing to kill; stderr:\n%s", err, total, tail(stderr.Bytes(), 2000))
				case <-ctx.Done():
					t.Fatalf("no third of %d files written within the deadline; stderr:\n%s", total, tail(stderr.Bytes(), 2000))
				case <-time.After(20 * time.Millisecond):
					if n := tc.done(out); n >= total/3 {
						if err := cmd.Process.Kill(); err != nil {
							t.Fatal(err)
						}
						<-exited
						killed = true
					}
				}
			}
			left := tc.done(out)
			if left >= total {
				t.Fatalf("the run had written all %d files when killed", total)
			}
			if tc.sink == "sparse" {
				if _, err := os.Stat(filepath.Join(out, "_manifest.json")); err == nil {
					t.Fatal("a killed sparse run has a manifest")
				}
			}

			stderrResume := runStep(t, "resumed run", nil, nil, append(args, "--out", out, "--exists", "resume")...)
			m := regexp.MustCompile(`(\d+) to score, (\d+) already done`).FindStringSubmatch(stderrResume)
			if m == nil {
				t.Fatalf("no plan line in the resumed run's output:\n%s", stderrResume)
			}
			if m[2] == "0" {
				t.Errorf("the resumed run found nothing already done (%s)", m[0])
			}
			// Its throughput counts only the pairs it scored.
			done := regexp.MustCompile(`done: (\d+) pairs in`).FindStringSubmatch(stderrResume)
			if done == nil {
				t.Fatalf("no done line in the resumed run's output:\n%s", stderrResume)
			}
			if n, _ := strconv.Atoi(done[1]); n <= 0 || n >= 300*300 {
				t.Errorf("the resumed run reports %s pairs: want only those it scored, fewer than all %d", done[1], 300*300)
			}
			sameTree(t, want, out)
		})
	}
}

// countFiles counts the files under dir whose slash path matches pattern.
func countFiles(dir, pattern string) int {
	re := regexp.MustCompile(pattern)
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, _ := filepath.Rel(dir, p); re.MatchString(filepath.ToSlash(rel)) {
				n++
			}
		}
		return nil
	})
	return n
}

// readTree reads every file under dir, keyed by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	tree := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		tree[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
