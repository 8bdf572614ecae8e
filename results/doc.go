// Package results is the read side of the on-disk contract whose writers
// are package sinks: it opens a result directory OUT (local or gs://),
// says what it holds (dense Zarr arrays, sparse Parquet parts, a top-k
// output, OUT/clusters), and gives one verdict on each output, whichever
// command asks: complete, incomplete (its run did not finish: resume it),
// or damaged (it changed after its run finished). Every command that reads
// an output (inspect, export, matches, report, cluster) opens it here, and
// reads it here: hit lists (ReadHits), navis' extract_matches
// (ExtractMatches), the long CSV table of runner export (WriteCSV), the
// clustering (ReadClusters).
//
// Output.Summarise is what runner inspect prints.
//
// Open and Source.Check look at names and counts only (a listing and the
// manifests); Source.Verify also decodes every part and chunk.
package results
