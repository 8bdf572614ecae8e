package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
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
	w := &errWriter{w: stdout}
	fmt.Fprintf(w, "%s: %s\n", o.Dir, o.Describe())
	switch owner, alive, err := sinks.OwnerOf(ctx, *out); {
	case err != nil:
		return err
	case owner != nil && alive:
		fmt.Fprintf(w, "  being written now by %s\n", owner.Describe())
	case owner != nil && allComplete(ctx, o):
		fmt.Fprintf(w, "  left by %s, which is no longer running; the output is complete (the next run into OUT takes the lock over)\n", owner.Describe())
	case owner != nil:
		fmt.Fprintf(w, "  left by %s, which is no longer running: finish it with --exists resume\n", owner.Describe())
	}
	found := false
	for _, name := range o.Dense {
		ok, err := inspectDense(ctx, w, o, name, *id, *k, nm)
		if err != nil {
			return err
		}
		found = found || ok
	}
	if o.Sparse != nil {
		ok, err := inspectParts(ctx, w, o, o.Sparse, *id, *k, nm)
		if err != nil {
			return err
		}
		found = found || ok
	}
	if o.TopK != nil {
		ok, err := inspectParts(ctx, w, o, o.TopK, *id, *k, nm)
		if err != nil {
			return err
		}
		found = found || ok
	}
	if *verify {
		if err := verifyAll(ctx, w, o); err != nil {
			return err
		}
	}
	if w.err != nil {
		return w.err
	}
	if *id != "" && !found {
		return fmt.Errorf("neuron %s is not a query with results in any output at %s (see above)", *id, o.Dir)
	}
	return nil
}

// allComplete reports whether every output of o is complete (its verdict).
func allComplete(ctx context.Context, o *results.Output) bool {
	for _, what := range results.What {
		if src, err := o.Source(what); err == nil {
			if st, _, err := src.Status(ctx); err != nil || st != results.Complete {
				return false
			}
		}
	}
	return true
}

// verifyAll decodes every output of o (results.Source.Verify), printing
// a line for each; it fails on the first damaged one.
func verifyAll(ctx context.Context, w io.Writer, o *results.Output) error {
	for _, what := range results.What {
		src, err := o.Source(what)
		if err != nil {
			continue // not in this result
		}
		if err := src.Verify(ctx); err != nil {
			return err
		}
		fmt.Fprintf(w, "verified: every part or chunk written of %s decodes\n", src.Name())
	}
	return nil
}

// errWriter keeps the first write error, so that printing code need not
// check every Fprintf.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// printParams prints the parameters in key order, skipping skip; null
// prints as none.
func printParams(w io.Writer, indent string, m map[string]any, skip ...string) {
	keys := make([]string, 0, len(m))
	for key := range m {
		if !slices.Contains(skip, key) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := m[key]
		switch {
		case v == nil:
			v = "none"
		case key == "fingerprint":
			if s, ok := v.(string); ok && len(s) > 12 {
				v = s[:12] + "…"
			}
		}
		fmt.Fprintf(w, "%s%s: %v\n", indent, key, v)
	}
}

// printHits prints the first k hits (sorted already), with names.
func printHits(w io.Writer, title string, hits []results.Hit, k int, nm results.Names) {
	fmt.Fprintf(w, "  %s:\n", title)
	for r, h := range hits[:min(k, len(hits))] {
		fmt.Fprintf(w, "  %4d  %-20s %10s%s\n", r+1, h.Target, results.FormatScore(h.Score), nm.Column(h.Target.String()))
	}
}

// inspectDense summarises Zarr array name and, with id, lists its row's
// top k; found reports whether id is among its queries.
func inspectDense(ctx context.Context, w io.Writer, o *results.Output, name, id string, k int, nm results.Names) (found bool, err error) {
	src, err := o.Source(name)
	if err != nil {
		return false, err
	}
	verdict, err := src.Describe(ctx) // opens the array and lists its chunks
	if err != nil {
		return false, err
	}
	z, g := src.Z, src.Z.Grid()
	path := files.Join(o.Dir, name)
	dir := ""
	if d, ok := z.Attrs["direction"].(string); ok {
		dir = " (" + d + ")"
	}
	fmt.Fprintf(w, "%s: dense scores%s, %d queries × %d targets, %s\n", path, dir, z.Shape[0], z.Shape[1], z.DType)
	fmt.Fprintf(w, "  chunk shape %d rows × %d cols; chunk grid %d × %d = %d chunks, %d written; complete: %v\n",
		z.Chunks[0], z.Chunks[1], g[0], g[1], g[0]*g[1], len(src.Written), z.Complete())
	if verdict != "complete: true" {
		fmt.Fprintf(w, "  %s; unwritten chunks read as NaN\n", verdict)
	}
	fmt.Fprintf(w, "  parameters:\n")
	printParams(w, "    ", z.Attrs, "queries", "targets", "complete", "direction")
	if id == "" {
		return false, nil
	}
	t, err := results.ReadHits(ctx, src, func(q scoring.ID) bool { return q.String() == id })
	if err != nil {
		return false, err
	}
	if len(t.Queries) == 0 {
		fmt.Fprintf(w, "  neuron %s is not among the %d queries of %s\n", id, t.AllQueries, path)
		return false, nil
	}
	hits := t.Lists[t.Queries[0]]
	printHits(w, fmt.Sprintf("top %d targets of %s%s in %s", min(k, len(hits)), id, nm.Paren(id), name), hits, k, nm)
	return true, nil
}

// inspectParts summarises a sparse or top-k output and, with id, lists
// that query's top k (streaming the rows; a sparse query's rows are
// sorted, a top-k query's are in rank order).
func inspectParts(ctx context.Context, w io.Writer, o *results.Output, p *results.Parts, id string, k int, nm results.Names) (found bool, err error) {
	fmt.Fprintf(w, "%s: %s output, %d part files", p.Where(), p.Kind, len(p.Files))
	var rows int64
	if p.Manifest != nil {
		rows = p.Manifest.Rows
		fmt.Fprintf(w, ", %d rows (from %s)", rows, sinks.ManifestName)
	} else {
		for _, part := range p.Files {
			n, err := sinks.PartRows(ctx, part)
			if err != nil {
				return false, err
			}
			rows += n
		}
		fmt.Fprintf(w, ", %d rows (sum of the part footers)", rows)
	}
	src, err := o.Source(p.What())
	if err != nil {
		return false, err
	}
	if verdict, err := src.Describe(ctx); err != nil {
		return false, err
	} else if verdict == "complete: true" {
		fmt.Fprintf(w, "; complete: true\n")
	} else {
		fmt.Fprintf(w, "\n  %s\n", verdict)
	}
	var ps map[string]any
	from := files.Join(p.Dir, sinks.ManifestName)
	if p.Manifest != nil {
		if ps, err = results.Params(p.Manifest.Parameters); err != nil {
			return false, fmt.Errorf("%s: invalid parameters: %w", from, err)
		}
	} else if o.Marker != nil {
		ps, from = o.Marker, files.Join(o.Dir, sinks.RunMarkerName)
	}
	if ps != nil {
		fmt.Fprintf(w, "  parameters (from %s):\n", from)
		printParams(w, "    ", ps)
	} else {
		fmt.Fprintf(w, "  parameters: unknown (no %s, no %s)\n", sinks.ManifestName, files.Join(o.Dir, sinks.RunMarkerName))
	}
	if id == "" {
		return false, nil
	}
	t, err := results.ReadHits(ctx, src, func(q scoring.ID) bool { return q.String() == id })
	if err != nil {
		return false, err
	}
	var hits []results.Hit
	if len(t.Queries) > 0 {
		hits = t.Lists[t.Queries[0]]
	}
	if len(hits) == 0 {
		threshold := ""
		if t, ok := ps["threshold"]; ok {
			threshold = fmt.Sprintf(" %v", t)
		}
		fmt.Fprintf(w, "  neuron %s is not among the %d queries with rows in %s (a query without any score ≥ the threshold%s has none)\n", id, t.AllQueries, p.Where(), threshold)
		return false, nil
	}
	title := fmt.Sprintf("top %d targets of %s%s in the %s output", min(k, len(hits)), id, nm.Paren(id), p.Kind)
	if p.Kind == "sparse" && len(hits) < k {
		title += fmt.Sprintf(" (all its %d rows)", len(hits))
	}
	printHits(w, title, hits, k, nm)
	return true, nil
}
