// Package progress is the one progress line of the commands: a line
// redrawn in place (\r) once a tick until stopped, then ended with a
// newline if it was ever drawn.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Start draws line(now) on w every tick until stop is called; line
// returns "" to draw nothing at that tick. A line that must stay (a
// message between progress lines) ends in "\n".
func Start(w io.Writer, tick time.Duration, line func(now time.Time) string) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		drawn := false
		for {
			select {
			case <-done:
				if drawn {
					fmt.Fprintln(w)
				}
				return
			case now := <-t.C:
				if s := line(now); s != "" {
					fmt.Fprint(w, "\r"+s)
					drawn = true
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
