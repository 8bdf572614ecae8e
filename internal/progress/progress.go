// Package progress is the one progress line of the commands: a line
// redrawn in place (\r) once a tick until stopped, then ended with a
// newline if it was ever drawn; or, for programs (--progress json), one
// JSON object per line (StartJSON).
package progress

import (
	"encoding/json"
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

// Format is how a command reports progress on stderr (its --progress
// flag): Line, the default, draws the line above; JSON writes one JSON
// object per line for programs that drive their own progress bar (the
// Python wrapper, python/nblast_go); None writes nothing.
type Format int

const (
	Line Format = iota
	JSON
	None
)

// ParseFormat reads a --progress value: line, json or none.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "line":
		return Line, nil
	case "json":
		return JSON, nil
	case "none":
		return None, nil
	}
	return Line, fmt.Errorf("--progress %q: want line (a line redrawn in place), json (one JSON object per line, for programs) or none", s)
}

// Event is one JSON progress report, written as the line
//
//	{"progress":{"stage":"scoring","done":1200,"total":90000,"unit":"pairs",...}}
//
// so that a reader tells it from the command's other stderr lines by its
// prefix `{"progress":`. Done counts up to Total (0: not known) in Unit
// within Stage; a new stage starts again from 0. Items and ItemsTotal are
// the stage's work items where they differ from its unit; Elapsed is the
// seconds since the command started.
type Event struct {
	Stage      string  `json:"stage"`
	Done       int64   `json:"done"`
	Total      int64   `json:"total"`
	Unit       string  `json:"unit"`
	Items      int64   `json:"items,omitempty"`
	ItemsTotal int64   `json:"items_total,omitempty"`
	Elapsed    float64 `json:"elapsed"`
}

// JSONPrefix starts every line StartJSON writes.
const JSONPrefix = `{"progress":`

// StartJSON writes event(now) as one JSON line (Event) on w every tick
// and when stop is called, if it differs from the last one written
// (Elapsed aside), so the last line has the final counts; event returns
// ok = false to write nothing at that time. Each line is one Write, so it does not mix with other
// writers' lines on a pipe.
func StartJSON(w io.Writer, tick time.Duration, event func(now time.Time) (e Event, ok bool)) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	var last Event
	written := false
	emit := func(now time.Time) {
		e, ok := event(now)
		if !ok {
			return
		}
		same := e
		same.Elapsed = last.Elapsed
		if written && same == last {
			return
		}
		b, err := json.Marshal(struct {
			Progress Event `json:"progress"`
		}{e})
		if err != nil {
			return
		}
		w.Write(append(b, '\n'))
		last, written = e, true
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-done:
				emit(time.Now())
				return
			case now := <-t.C:
				emit(now)
			}
		}
	}()
	return func() { close(done); <-finished }
}
