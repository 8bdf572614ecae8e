package sinks

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/gcstest"
	"github.com/nblast-go/nblast/zarr"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// testClaims runs the ownership rules against out (local or gs://).
func testClaims(t *testing.T, out string) {
	ctx := context.Background()
	a := NewOwner()
	ca, err := ClaimOutput(ctx, out, a)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Previous != nil {
		t.Errorf("a fresh claim took over %+v", ca.Previous)
	}
	// A second run is refused while the first lives, and told which run.
	b := NewOwner()
	if _, err := ClaimOutput(ctx, out, b); err == nil || !strings.Contains(err.Error(), "run "+a.Run) || !strings.Contains(err.Error(), "being written by another") {
		t.Fatalf("second claim: %v, want a refusal naming run %s", err, a.Run)
	}
	if err := (RunOwner{Out: out, Run: a.Run}).Check(ctx); err != nil {
		t.Errorf("owner check of the owner: %v", err)
	}
	if err := (RunOwner{Out: out, Run: b.Run}).Check(ctx); err == nil || !strings.Contains(err.Error(), a.Run) {
		t.Errorf("owner check of another run: %v", err)
	}
	if err := ca.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := files.Exists(ctx, files.Join(out, OwnerName)); ok {
		t.Fatal("the lock survived its release")
	}
	if err := (RunOwner{Out: out, Run: a.Run}).Check(ctx); err == nil {
		t.Error("owner check passed without a lock")
	}

	// Dead owners are taken over: a process gone on this host, and a run
	// on another host without a heartbeat for OwnerStaleAfter. A live one
	// on another host is not.
	host, _ := os.Hostname()
	old := time.Now().Add(-2 * OwnerStaleAfter).UTC()
	for _, tc := range []struct {
		name     string
		prev     Owner
		takeover bool
	}{
		{"killed here", Owner{Run: "dead1", Host: host, PID: deadPID(t), Started: time.Now(), Heartbeat: time.Now()}, true},
		{"stale elsewhere", Owner{Run: "dead2", Host: "elsewhere", PID: 1, Started: old, Heartbeat: old}, true},
		{"alive elsewhere", Owner{Run: "live", Host: "elsewhere", PID: 1, Started: old, Heartbeat: time.Now().UTC()}, false},
		{"alive here", Owner{Run: "live2", Host: host, PID: os.Getpid(), Started: old, Heartbeat: time.Now().UTC()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := files.WriteJSON(ctx, files.Join(out, OwnerName), tc.prev); err != nil {
				t.Fatal(err)
			}
			me := NewOwner()
			c, err := ClaimOutput(ctx, out, me)
			if !tc.takeover {
				if err == nil || !strings.Contains(err.Error(), tc.prev.Run) {
					t.Fatalf("claim over a live run: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Previous == nil || c.Previous.Run != tc.prev.Run {
				t.Errorf("took over %+v, want %s", c.Previous, tc.prev.Run)
			}
			if err := (RunOwner{Out: out, Run: me.Run}).Check(ctx); err != nil {
				t.Error(err)
			}
			if err := c.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClaimOutputLocal(t *testing.T) {
	testClaims(t, filepath.Join(t.TempDir(), "out"))
}

func TestClaimOutputGCS(t *testing.T) {
	gcstest.Start(t, "bkt")
	testClaims(t, "gs://bkt/run1")
}

// TestCreateNewIsExclusive: of many concurrent creators exactly one wins,
// locally and on gs://.
func TestCreateNewIsExclusive(t *testing.T) {
	gcstest.Start(t, "bkt")
	for _, p := range []string{filepath.Join(t.TempDir(), "lock"), "gs://bkt/lock"} {
		ctx := context.Background()
		errs := make(chan error, 8)
		for i := range 8 {
			go func() { errs <- files.CreateNew(ctx, p, []byte{byte('0' + i)}) }()
		}
		wins := 0
		for range 8 {
			if err := <-errs; err == nil {
				wins++
			} else if !errors.Is(err, fs.ErrExist) {
				t.Errorf("%s: %v", p, err)
			}
		}
		if wins != 1 {
			t.Errorf("%s: %d creators won, want 1", p, wins)
		}
		_, v, err := files.ReadVersion(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := files.ReplaceIf(ctx, p, []byte("x"), v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := files.ReplaceIf(ctx, p, []byte("y"), v); !errors.Is(err, files.ErrChanged) {
			t.Errorf("%s: replace of an old version: %v", p, err)
		}
		if err := files.RemoveIf(ctx, p, v); !errors.Is(err, files.ErrChanged) {
			t.Errorf("%s: remove of an old version: %v", p, err)
		}
		if err := files.RemoveIf(ctx, p, v2); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestFinalizersCheckTheOwner: a sink whose run no longer owns the output
// does not mark it complete (Zarr attrs, sparse and top-k manifests).
func TestFinalizersCheckTheOwner(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	if err := files.WriteJSON(ctx, files.Join(out, OwnerName), Owner{Run: "other", Host: "h", PID: 1, Heartbeat: time.Now()}); err != nil {
		t.Fatal(err)
	}
	spec := zarr.ArraySpec{Name: "scores", Shape: [2]int{1, 1}, Chunks: [2]int{1, 1}, DType: "float32"}
	if err := zarr.Create(ctx, out, []zarr.ArraySpec{spec}); err != nil {
		t.Fatal(err)
	}
	me := RunOwner{Out: out, Run: "me"}
	zf := &finalizeZarrFn{Out: out, Arrays: []ArrayGeometry{{Name: "scores", DType: "float32", Rows: 1, Cols: 1, ChunkRows: 1, ChunkCols: 1}}, Expected: 1, Owner: me}
	if err := zf.ProcessElement(ctx, 1); err == nil || !strings.Contains(err.Error(), "run other") {
		t.Errorf("zarr finaliser: %v", err)
	}
	if z, _ := zarr.Open(ctx, out, "scores"); z.Complete() {
		t.Error("zarr marked complete by a run that does not own the output")
	}
	mf := &finalizeManifestFn{Config: manifestConfig{Dir: out, What: "sparse parts", Expected: 0, Parameters: "{}", Owner: me}}
	if err := mf.ProcessElement(ctx, partCount{}); err == nil {
		t.Error("manifest finaliser wrote for a run that does not own the output")
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); err == nil {
		t.Error("manifest written")
	}
	zf.Owner.Run, mf.Config.Owner.Run = "other", "other"
	if err := zf.ProcessElement(ctx, 1); err != nil {
		t.Error(err)
	}
	if err := mf.ProcessElement(ctx, partCount{}); err != nil {
		t.Error(err)
	}
}
