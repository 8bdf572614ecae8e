// Package makedotprops turns point clouds into dotprops with the semantics
// of navis.make_dotprops (navis 1.12; nat.nblast's dotprops agrees): each
// point's tangent is the principal direction of its k nearest neighbours
// (itself included) and its alpha, (l1 − l2)/(l1 + l2 + l3) of their scatter
// matrix's eigenvalues, says how line-like that neighbourhood is.
//
// Coordinates are in µm (the unit NBLAST's scoring matrices assume); the
// package does not convert units or resample (see package skeleton).
//
// The k nearest neighbours are those scipy's cKDTree(points).query(points,
// k) returns, as navis uses it (leafsize 16, balanced median splits,
// compact nodes): the same tree, the same search order and the same squared
// distances to the bit, so that when the k-th and (k+1)-th neighbours are at
// exactly the same distance the point kept is scipy's, and a user comparing
// with navis sees the same tangents and alpha (to the eigensolver's ~1e-15),
// hence the same NBLAST scores.
//
// The package is pure Go; scoring (package scoring) does not depend on it.
package makedotprops
