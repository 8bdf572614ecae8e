// Package smart is navis.nblast_smart's pre-screening, without Beam: every
// pair is first scored on dotprops downsampled by Factor (Downsample), then
// each query row's pre-scores select the pairs worth an exact score
// (Criterion, Select); those are scored exactly and the rest keep their
// pre-score. The Beam side is transforms' smart DoFns; the exact scores of
// a list of pairs are the kernel's (scoring.ScorePairs).
package smart
