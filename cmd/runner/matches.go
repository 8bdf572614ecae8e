package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
)

// matchesMain implements
//
//	runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids a,b] [--self] [--what ...] [--to FILE.parquet|FILE.csv]
func matchesMain(args []string) error {
	return runMatches(context.Background(), args, os.Stdout, os.Stderr)
}

// runMatches is matchesMain with its context and writers.
func runMatches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("matches", stderr, "usage: runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids id1,id2] [--self] [--what scores|sparse|topk] [--to FILE.parquet|FILE.csv]\n\n"+
		"Each query's best targets, as navis.nbl.extract_matches, from any output;\n"+
		"a long table query, rank, target, score (rank 1 = best).\n\nFlags:\n")
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	n := fs.Int("n", 0, "the N best targets per query (default 10 when no --threshold or --percentage)")
	threshold := fs.String("threshold", "", "every target scoring >= T")
	percentage := fs.String("percentage", "", "every target scoring within P of the query's best score, P a fraction as in navis (0.05: >= best - |best × 0.05|)")
	ids := fs.String("ids", "", "comma-separated query ids: only these queries (default all; stdout shows these, or the first 5)")
	self := fs.Bool("self", false, "keep each query among its own targets (navis' extract_matches does: the diagonal of an all-by-all)")
	what := fs.String("what", "", "the output to read: scores, scores_reverse, sparse or topk; default: scores if OUT has it, else sparse, else topk")
	to := fs.String("to", "", "write the matches table (long: query, rank, target, score) to FILE.parquet or FILE.csv, atomically")
	allow := fs.Bool("allow_incomplete", false, "read an output whose run did not finish (what is written so far)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	c, err := results.ParseCriterion(*n, *threshold, *percentage)
	if err != nil {
		return err
	}
	var toFormat string
	if *to != "" {
		switch ext := strings.ToLower(filepath.Ext(*to)); ext {
		case ".parquet", ".csv":
			toFormat = ext[1:]
		default:
			return fmt.Errorf("--to %s: want a .parquet or .csv file", *to)
		}
	}
	if err := results.CheckDest("--to", *to, *out); err != nil {
		return err
	}
	want := splitIDs(*ids)
	o, err := results.Open(ctx, *out)
	if err != nil {
		return err
	}
	src, err := o.Source(*what, matchesOrder...)
	if err != nil {
		return err
	}
	if err := src.Check(ctx, *allow); err != nil {
		return err
	}
	var keep func(scoring.ID) bool
	if len(want) > 0 {
		keep = func(q scoring.ID) bool { return slices.Contains(want, q.String()) }
	}
	t, err := results.ReadHits(ctx, src, keep)
	if err != nil {
		return err
	}
	for _, id := range want {
		if !slices.ContainsFunc(t.Queries, func(q scoring.ID) bool { return q.String() == id }) {
			return fmt.Errorf("--ids: %s is not a query with scores in %s (%d queries there)", id, src.Name(), t.AllQueries)
		}
	}
	rows, notes, err := results.ExtractMatches(t, c, *self)
	if err != nil {
		return err
	}
	w := &results.ErrWriter{W: stdout}
	fmt.Fprintf(w, "%s: %s per query from %s\n", *out, c, src.Name())
	show := want
	if len(show) == 0 {
		for _, q := range t.Queries[:min(5, len(t.Queries))] {
			show = append(show, q.String())
		}
	}
	for _, id := range show {
		var hits []results.Hit
		for _, r := range rows {
			if r.Query.String() == id {
				hits = append(hits, results.Hit{Target: r.Target, Score: r.Score})
			}
		}
		results.PrintHits(w, fmt.Sprintf("%s: %d matches", id, len(hits)), hits, len(hits), nil)
	}
	if len(want) == 0 && len(t.Queries) > len(show) {
		fmt.Fprintf(w, "  ... %d more queries (--ids to pick, --to to write all)\n", len(t.Queries)-len(show))
	}
	for _, note := range notes {
		fmt.Fprintf(w, "note: %s\n", note)
	}
	if w.Err != nil {
		return w.Err
	}
	if *to != "" {
		if err := results.WriteMatches(ctx, *to, toFormat, rows, t.Bits); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "matches: %d rows (%d queries) written to %s\n", len(rows), len(t.Queries), *to)
	}
	return nil
}

func splitIDs(s string) []string {
	var ids []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
