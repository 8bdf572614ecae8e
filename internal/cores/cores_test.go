package cores

import (
	"runtime"
	"testing"
)

func TestAtLeastTwoPs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer kept.Store(0)
	for _, c := range []struct{ procs, wantN, wantProcs int }{
		{1, 1, 2},
		{2, 2, 2},
		{3, 3, 3},
	} {
		kept.Store(0)
		runtime.GOMAXPROCS(c.procs)
		AtLeastTwoPs()
		if N() != c.wantN || runtime.GOMAXPROCS(0) != c.wantProcs {
			t.Errorf("GOMAXPROCS %d: N %d, GOMAXPROCS %d after; want %d, %d", c.procs, N(), runtime.GOMAXPROCS(0), c.wantN, c.wantProcs)
		}
	}
}

func TestKeep(t *testing.T) {
	defer kept.Store(0)
	Keep(0)
	if N() != 1 {
		t.Errorf("Keep(0): N = %d, want 1", N())
	}
	Keep(5)
	if N() != 5 {
		t.Errorf("Keep(5): N = %d, want 5", N())
	}
}
