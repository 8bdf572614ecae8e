package progress

import (
	"bytes"
	"strings"
	"sync"
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
