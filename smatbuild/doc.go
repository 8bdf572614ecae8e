// Package smatbuild builds a scoring matrix from neurons known to match
// (runner smat, navis' "make your own scoring matrix"): the inputs that
// say which neurons match (--matches, --pairs), the pairs to count
// (MatchingPairs, DrawNonMatching), the counting of their point matches
// into the matrix's cells (Counter, on the kernel's exact nearest-point
// search, scoring.Neuron.EachNearest), the log-odds cells (BuildMatrix),
// and, for runner smat --beam, the counting as a Beam job (Build).
package smatbuild
