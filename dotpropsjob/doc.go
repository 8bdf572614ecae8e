// Package dotpropsjob is the job behind `runner dotprops`: it reads
// skeletons (SWC, node tables) and point clouds, makes their dotprops
// (package makedotprops) and writes them as one navis-layout dotprops
// Parquet file. Locally a parallel, streaming engine does it (WriteFrom,
// WriteFile); on a cluster a Beam composite runs that engine per shard of
// the inputs and writes one part per shard and, last, a manifest
// (MakeParts).
package dotpropsjob
