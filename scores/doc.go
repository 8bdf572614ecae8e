// Package scores is what the scoring job (package transforms) hands the
// writers (package sinks): a Chunk of scores of one work item, or of a
// query block's row. It sits below both, so that neither imports the
// other.
package scores
