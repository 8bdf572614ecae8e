package progress

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// The line is redrawn in place each tick and ended by one newline at stop;
// nothing is written when no tick drew a line.
func TestStart(t *testing.T) {
	var w lockedBuffer
	stop := Start(&w, time.Millisecond, func(time.Time) string { return "tick   " })
	for {
		time.Sleep(5 * time.Millisecond)
		w.mu.Lock()
		drawn := strings.Count(w.b.String(), "\rtick   ")
		w.mu.Unlock()
		if drawn >= 2 {
			break
		}
	}
	stop()
	if s := w.b.String(); !strings.HasPrefix(s, "\rtick   ") || !strings.HasSuffix(s, "tick   \n") || strings.Count(s, "\n") != 1 {
		t.Errorf("output %q", s)
	}
	var quiet lockedBuffer
	Start(&quiet, time.Millisecond, func(time.Time) string { return "" })()
	if quiet.b.Len() != 0 {
		t.Errorf("nothing drawn, yet %q", quiet.b.String())
	}
}

// JSON progress: one object per line under "progress", a line only when
// the counts change, and a last line at stop with the final counts.
func TestStartJSON(t *testing.T) {
	var w lockedBuffer
	var n atomic.Int64
	stop := StartJSON(&w, time.Millisecond, func(time.Time) (Event, bool) {
		d := n.Load()
		if d == 0 {
			return Event{}, false // nothing to say yet
		}
		return Event{Stage: "scoring", Done: d, Total: 10, Unit: "pairs", Elapsed: float64(time.Now().UnixNano())}, true
	})
	time.Sleep(5 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		n.Store(int64(i))
		time.Sleep(5 * time.Millisecond) // several ticks: one line each time
	}
	n.Store(10)
	stop()
	var got []int64
	for _, line := range strings.Split(strings.TrimSuffix(w.b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, JSONPrefix) {
			t.Fatalf("line %q lacks the prefix %s", line, JSONPrefix)
		}
		var e struct{ Progress Event }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if e.Progress.Stage != "scoring" || e.Progress.Total != 10 || e.Progress.Unit != "pairs" {
			t.Errorf("event %+v", e.Progress)
		}
		got = append(got, e.Progress.Done)
	}
	if want := []int64{1, 2, 3, 10}; !slices.Equal(got, want) {
		t.Errorf("done counts %v, want %v (one line per change, the last at stop)", got, want)
	}
	var quiet lockedBuffer
	StartJSON(&quiet, time.Millisecond, func(time.Time) (Event, bool) { return Event{}, false })()
	if quiet.b.Len() != 0 {
		t.Errorf("nothing to report, yet %q", quiet.b.String())
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Line, "line": Line, "json": JSON, "none": None} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, f, err, want)
		}
	}
	if _, err := ParseFormat("bar"); err == nil || !strings.Contains(err.Error(), "json") {
		t.Errorf("ParseFormat(bar): %v", err)
	}
}
