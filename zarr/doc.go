// Package zarr is the dense output's format, both halves: a Zarr v2 group
// of 2-D float score arrays (the "Output 1" contract in docs/formats.md),
// written chunk by chunk through internal/files so that local paths and
// gs:// prefixes both work (Create, EncodeChunk, WriteChunk,
// MarkComplete), and read back (Open, Reader). The Beam sink that writes a
// run's chunks is sinks.WriteZarr.
package zarr
