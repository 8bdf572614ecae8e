package cputime

import (
	"runtime"
	"testing"
)

func TestSecondsGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" {
		t.Skip("no CPU time on " + runtime.GOOS)
	}
	before := Seconds()
	x := 0.0
	for i := range 50_000_000 {
		x += float64(i % 7)
	}
	after := Seconds()
	if x == 0 || !(after > before) {
		t.Fatalf("CPU seconds %v then %v after a busy loop: want an increase", before, after)
	}
}
