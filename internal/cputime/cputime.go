// Package cputime reads the CPU time this process has used, for progress
// lines' projections and benchmarks' CPU-seconds metrics (wall time on a
// shared machine varies with the other tenants; CPU time much less).
package cputime
