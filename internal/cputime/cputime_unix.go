//go:build unix

package cputime

import "syscall"

// Seconds is the user and system CPU time of this process so far, in
// seconds, or 0 where it cannot be read.
func Seconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
