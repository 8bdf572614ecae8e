// Package transforms is the Beam side of a scoring run and of runner
// dotprops: the plan (balanced blocks of neurons, plan.go) and its stored
// layout (layout.go), staging the blocks to storage (stage.go), the work
// items and the scoring DoFn (score.go) with the exact k-nearest-neighbour
// search (knn.go) and nblast_smart's pre-screen (smart.go), the worker's
// memory budget (memory.go), and making dotprops as a Beam job
// (makedotprops.go). Reading and writing dotprops is package dotprops;
// the outputs are written by package sinks.
package transforms
