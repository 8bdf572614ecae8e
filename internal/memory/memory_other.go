//go:build !linux

package memory

// total is unknown off Linux: the block cache keeps its minimum.
func total() uint64 { return 0 }
