// Package memory is a process's memory budget (--memory): parsing and
// printing sizes, the default and least budgets, and what a machine (or
// its container) allows.
package memory

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Default is a worker process's budget when --memory is not given: 4 GiB,
// or what the machine (or its container) allows if less.
const Default = 4 << 30

// Min is the smallest budget accepted: below it the fixed costs of a
// process (the runtime, Beam's harness, the layout) leave nothing to cache.
const Min = 64 << 20

// Parse parses a --memory value: a number of bytes with an optional
// unit, B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024); "4GiB", "3.5GB", "512MiB".
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mul := 1.0
	for _, u := range []struct {
		suffix string
		mul    float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mul
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("--memory %q: want a size such as 4GiB, 3.5GB or 512MiB", s)
	}
	b := v * mul
	if b > 1<<62 {
		return 0, fmt.Errorf("--memory %q: too large", s)
	}
	if b < Min {
		return 0, fmt.Errorf("--memory %q: below the least a worker needs, %s", s, Format(Min))
	}
	return int64(b), nil
}

// Format writes n bytes in GiB or MiB, as Parse reads them.
func Format(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', -1, 64) + "GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + "MiB"
}

// Effective is the budget a process keeps for a requested one
// (0: Default): never more than the machine or its container allows
// (total), less a tenth for what the kernel and other processes
// hold.
func Effective(requested int64) int64 {
	m := requested
	if m <= 0 {
		m = Default
	}
	if total := total(); total > 0 {
		m = min(m, int64(total/10*9))
	}
	return max(m, Min)
}
