//go:build linux

package memory

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// total is the memory this process may use, in bytes: the machine's
// RAM, or its container's limit (cgroup v2 or v1) when lower; 0 if unknown.
func total() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	total := uint64(si.Totalram) * uint64(si.Unit)
	for _, limit := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(limit)
		if err != nil {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && v < total {
			total = v // "max" (no limit) does not parse
		}
	}
	return total
}
