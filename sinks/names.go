package sinks

// The names of a result's files under OUT, for the writers here and the
// readers in package results (and nowhere else).
const (
	// RunMarkerName is OUT/_nblast_run.json, written before any work:
	// the run's parameters and inputs (package pipeline writes it).
	RunMarkerName = "_nblast_run.json"
	// ScoresArray and ReverseArray are the dense Zarr arrays: the scores
	// (forward, or the combined mean, min or max) and, for scores=both,
	// the target→query scores.
	ScoresArray  = "scores"
	ReverseArray = "scores_reverse"
	// TopKDir is the directory of the top-k output under OUT.
	TopKDir = "topk"
	// ClustersDir is the directory runner cluster writes under OUT.
	ClustersDir = "clusters"
)

// AttrOrder is the .zattrs key of a dense array that --exists update
// wrote, with the value OrderUpdate: its rows and columns are the earlier
// output's neurons still there, in the earlier order, then the new ones
// (attrs "queries" and "targets" list them). A fresh run's arrays have no
// such key: their order is the run's plan's.
const (
	AttrOrder   = "order"
	OrderUpdate = "update"
)

// DenseArrays are the dense arrays a result may hold, in that order.
var DenseArrays = []string{ScoresArray, ReverseArray}
