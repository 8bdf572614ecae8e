//go:build unix

package scoring_test

import "syscall"

// cpuSeconds is the CPU time (user + system) the process has used so far,
// or 0 where it is not known.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
