package results

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// Summarise prints what inspect prints of o to stdout: a line naming every
// output, who owns it (a run writing it now, or a dead run's lock), each
// output's shape, files, verdict and parameters and, with id, that query's
// k best targets in each (with names from nm); with verify, every part and
// chunk decoded (failing on a damaged one). found reports whether id is a
// query of some output.
func (o *Output) Summarise(ctx context.Context, stdout io.Writer, id string, k int, nm Names, verify bool) (found bool, err error) {
	w := &ErrWriter{W: stdout}
	fmt.Fprintf(w, "%s: %s\n", o.Dir, o.Describe())
	switch owner, alive, err := sinks.OwnerOf(ctx, o.Dir); {
	case err != nil:
		return false, err
	case owner != nil && alive:
		fmt.Fprintf(w, "  being written now by %s\n", owner.Describe())
	case owner != nil && o.allComplete(ctx):
		fmt.Fprintf(w, "  left by %s, which is no longer running; the output is complete (the next run into OUT takes the lock over)\n", owner.Describe())
	case owner != nil:
		fmt.Fprintf(w, "  left by %s, which is no longer running: finish it with --exists resume\n", owner.Describe())
	}
	for _, name := range o.Dense {
		ok, err := o.summariseDense(ctx, w, name, id, k, nm)
		if err != nil {
			return false, err
		}
		found = found || ok
	}
	for _, p := range []*Parts{o.Sparse, o.TopK} {
		if p == nil {
			continue
		}
		ok, err := o.summariseParts(ctx, w, p, id, k, nm)
		if err != nil {
			return false, err
		}
		found = found || ok
	}
	if verify {
		if err := o.verifyAll(ctx, w); err != nil {
			return false, err
		}
	}
	return found, w.Err
}

// allComplete reports whether every output of o is complete (its verdict).
func (o *Output) allComplete(ctx context.Context) bool {
	for _, what := range What {
		if src, err := o.Source(what); err == nil {
			if st, _, err := src.Status(ctx); err != nil || st != Complete {
				return false
			}
		}
	}
	return true
}

// verifyAll decodes every output of o (Source.Verify), printing
// a line for each; it fails on the first damaged one.
func (o *Output) verifyAll(ctx context.Context, w io.Writer) error {
	for _, what := range What {
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

// ErrWriter keeps the first write error, so that printing code need not
// check every Fprintf.
type ErrWriter struct {
	W   io.Writer
	Err error
}

func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
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

// PrintHits prints the first k hits (sorted already), with names.
func PrintHits(w io.Writer, title string, hits []Hit, k int, nm Names) {
	fmt.Fprintf(w, "  %s:\n", title)
	for r, h := range hits[:min(k, len(hits))] {
		fmt.Fprintf(w, "  %4d  %-20s %10s%s\n", r+1, h.Target, FormatScore(h.Score), nm.Column(h.Target.String()))
	}
}

// summariseDense summarises Zarr array name and, with id, lists its row's
// top k; found reports whether id is among its queries.
func (o *Output) summariseDense(ctx context.Context, w io.Writer, name, id string, k int, nm Names) (found bool, err error) {
	src, err := o.Source(name)
	if err != nil {
		return false, err
	}
	st, why, err := src.Status(ctx) // opens the array and lists its chunks
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
	if st != Complete {
		fmt.Fprintf(w, "  %s; unwritten chunks read as NaN\n", src.verdict(st, why))
	}
	fmt.Fprintf(w, "  parameters:\n")
	printParams(w, "    ", z.Attrs, "queries", "targets", "complete", "direction")
	if id == "" {
		return false, nil
	}
	t, err := ReadHits(ctx, src, func(q scoring.ID) bool { return q.String() == id })
	if err != nil {
		return false, err
	}
	if len(t.Queries) == 0 {
		fmt.Fprintf(w, "  neuron %s is not among the %d queries of %s\n", id, t.AllQueries, path)
		return false, nil
	}
	hits := t.Lists[t.Queries[0]]
	PrintHits(w, fmt.Sprintf("top %d targets of %s%s in %s", min(k, len(hits)), id, nm.Paren(id), name), hits, k, nm)
	return true, nil
}

// summariseParts summarises a sparse or top-k output and, with id, lists
// that query's top k (streaming the rows; a sparse query's rows are
// sorted, a top-k query's are in rank order).
func (o *Output) summariseParts(ctx context.Context, w io.Writer, p *Parts, id string, k int, nm Names) (found bool, err error) {
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
	if st, why, err := src.Status(ctx); err != nil {
		return false, err
	} else if st == Complete {
		fmt.Fprintf(w, "; complete: true\n")
	} else {
		fmt.Fprintf(w, "\n  %s\n", src.verdict(st, why))
	}
	var ps map[string]any
	from := files.Join(p.Dir, sinks.ManifestName)
	if p.Manifest != nil {
		if ps, err = Params(p.Manifest.Parameters); err != nil {
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
	t, err := ReadHits(ctx, src, func(q scoring.ID) bool { return q.String() == id })
	if err != nil {
		return false, err
	}
	var hits []Hit
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
	PrintHits(w, title, hits, k, nm)
	return true, nil
}
