// Package smatbuild builds a scoring matrix from neurons known to match
// (runner smat, navis' "make your own scoring matrix"): the inputs that
// say which neurons match (--matches, --pairs) and, for runner smat
// --beam, the counting as a Beam job (Build). The counting itself is the
// kernel's (scoring.SmatBuilder).
package smatbuild
