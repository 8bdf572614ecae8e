// Package interrupt turns Ctrl-C (SIGINT) and SIGTERM into a cancelled
// context, so that a command stops its work, releases what it holds (an
// output's owner lock) and exits with what it wrote left for --exists
// resume; a second signal exits at once.
package interrupt

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// ExitStatus is the exit status of a run stopped by SIGINT or SIGTERM
// (128 + SIGINT, as a shell reports a process killed by Ctrl-C).
const ExitStatus = 130

// Context returns a context that is cancelled at the first SIGINT
// (Ctrl-C) or SIGTERM, so that a run stops its work, releases its output
// (the owner lock) and exits with what it wrote left for --exists resume;
// interrupted reports whether that happened. A second signal exits at
// once. stop restores the default handling.
func Context(parent context.Context, stderr io.Writer) (ctx context.Context, interrupted func() bool, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	var got atomic.Bool
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			got.Store(true)
			fmt.Fprintf(stderr, "\nrunner: %v: stopping (again to exit at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-ch:
			fmt.Fprintf(stderr, "\nrunner: %v again: exiting now\n", s)
			os.Exit(ExitStatus)
		case <-done:
		}
	}()
	return ctx, got.Load, func() { signal.Stop(ch); close(done); cancel() }
}
