// Package cores says how many goroutines the project computes on at once
// in this process: GOMAXPROCS, unless the runner has raised GOMAXPROCS for
// the engine's own goroutines and kept the user's number here (Keep).
//
// Why the two can differ: prism, the local runner, runs in the launcher's
// process, and its scheduler polls a bundle's state without pause while
// the bundle runs (its stage loop selects on a closed channel once a
// bundle's data is in). With GOMAXPROCS=1 that loop holds the only P, and
// every step of the SDK harness then waits for it to be preempted (10 ms
// each): about 0.2 CPU s per run, most of a small job's time. With a second
// P the harness runs beside it and each bundle's wait is short; the
// scoring still runs on the user's one core.
package cores

import (
	"runtime"
	"sync/atomic"
)

var kept atomic.Int32

// N is the number of goroutines to compute on: the number given to Keep,
// or GOMAXPROCS.
func N() int {
	if k := kept.Load(); k > 0 {
		return int(k)
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// Keep records n (at least 1) as the number of goroutines to compute on,
// whatever GOMAXPROCS is set to afterwards.
func Keep(n int) { kept.Store(int32(max(1, n))) }

// AtLeastTwoPs raises GOMAXPROCS to 2 when it is 1, keeping 1 as N: the
// engine's goroutines then get a P of their own while the computing stays
// on one (see the package doc). It does nothing when GOMAXPROCS is above 1.
func AtLeastTwoPs() {
	if p := runtime.GOMAXPROCS(0); p < 2 {
		Keep(p)
		runtime.GOMAXPROCS(2)
	}
}
