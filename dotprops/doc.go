// Package dotprops reads and writes neurons' dotprops in navis' Parquet
// layout (parquet.go: whole files, the neuron index the plan is made from,
// units; rowgroups.go: row groups as work for many readers; writer.go: a
// streaming writer of row groups), and reads the inputs that dotprops are
// made from (neuroninputs.go: SWC files, node tables, point clouds). It
// knows no Beam: the jobs that use it are in transforms.
package dotprops
