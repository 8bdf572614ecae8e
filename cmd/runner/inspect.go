package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nblast-go/nblast/results"
)

// inspect implements
//
//	runner inspect --out OUT [--id ID] [--k 10] [--names META.csv]
//
// printing to stdout.
func inspect(ctx context.Context, args []string) error {
	return runInspect(ctx, args, os.Stdout, os.Stderr)
}

// runInspect is inspect with its writers: the summary goes to stdout,
// flag errors and usage to stderr.
//
// It finds every kind of output at OUT (dense Zarr arrays OUT/scores and
// OUT/scores_reverse, sparse parts OUT/part-*.parquet with
// OUT/_manifest.json, top-k parts OUT/topk/topk-*.parquet with
// OUT/topk/_manifest.json), names them on its first line, summarises each
// (shape and chunks; parts, rows, completeness, parameters) and, with
// --id, lists that query's k best targets in each.
func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr, "usage: runner inspect --out OUT [--id ID] [--k 10] [--names META.csv] [--verify]\n\n"+
		"Summarise every output at OUT (dense Zarr scores, sparse Parquet parts, top-k)\nand, with --id, list a query's top hits in each.\n\nFlags:\n")
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	id := fs.String("id", "", "a query neuron id: print its top hits in every output found")
	k := fs.Int("k", 10, "how many top hits to print")
	names := fs.String("names", "", "a CSV (navis meta table) with an id column (neuron_id, id or neuron) and a name column: print names beside ids")
	verify := fs.Bool("verify", false, "also decode every part and chunk (and count the parts' rows against their manifest): say whether any was damaged after the run wrote it, and fail if so")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	if *k < 1 {
		return fmt.Errorf("--k must be at least 1, got %d", *k)
	}
	var nm results.Names
	if *names != "" {
		var err error
		if nm, err = results.ReadNames(ctx, *names); err != nil {
			return err
		}
	}
	o, err := results.Open(ctx, *out)
	if err != nil {
		return err
	}
	found, err := o.Summarise(ctx, stdout, *id, *k, nm, *verify)
	if err != nil {
		return err
	}
	if *id != "" && !found {
		return fmt.Errorf("neuron %s is not a query with results in any output at %s (see above)", *id, o.Dir)
	}
	return nil
}
