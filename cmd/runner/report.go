package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/report"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
)

// reportMain implements
//
//	runner report --out OUT [--to OUT/report.html] [--max_side 500] [--n 5]
func reportMain(args []string) error {
	return runReport(context.Background(), args, os.Stdout, os.Stderr)
}

// runReport is reportMain with its context and writers.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr, "usage: runner report --out OUT [--to OUT/report.html] [--max_side 500] [--n 5]\n\n"+
		"A self-contained HTML page (no network) on a result: parameters and timing, the score\n"+
		"histogram, the heatmap (ordered by OUT/clusters if there), the dendrogram, cluster sizes\n"+
		"and a searchable table of top matches.\n\nFlags:\n")
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	to := fs.String("to", "", "the HTML file to write (default OUT/report.html), atomically")
	maxSide := fs.Int("max_side", 500, "at most this many neurons in the heatmap (and, for a dense output, read for the histogram and the table): a larger result is sampled evenly")
	topN := fs.Int("n", 5, "matches per query in the table")
	what := fs.String("what", "", "the output to report on: scores, scores_reverse, sparse or topk; default: scores, else sparse, else topk")
	allow := fs.Bool("allow_incomplete", false, "report on an output whose run did not finish")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	if *maxSide < 2 {
		return fmt.Errorf("--max_side %d: want at least 2", *maxSide)
	}
	if *topN < 1 {
		return fmt.Errorf("--n %d: want at least 1", *topN)
	}
	dest := *to
	if dest == "" {
		dest = files.Join(*out, "report.html")
	}
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
	cl, err := results.ReadClusters(ctx, *out)
	if err != nil {
		return err
	}
	// A dense array is read whole only up to max_side queries.
	var keep func(scoring.ID) bool
	var denseN int
	var params map[string]any
	sampled := false
	if src.Parts == nil {
		queries, _, err := src.DenseIDs()
		if err != nil {
			return err
		}
		denseN = len(queries)
		params = src.Z.Attrs
		if len(queries) > *maxSide {
			sampled = true
			set := map[scoring.ID]bool{}
			for i := range *maxSide {
				set[queries[i*len(queries) / *maxSide]] = true
			}
			keep = func(q scoring.ID) bool { return set[q] }
		}
	} else if src.Parts.Manifest != nil {
		if params, err = results.Params(src.Parts.Manifest.Parameters); err != nil {
			return err
		}
	}
	if params == nil {
		params = o.Marker // an incomplete run: its marker's parameters
	}
	t, err := results.ReadHits(ctx, src, keep)
	if err != nil {
		return err
	}
	rows, notes, err := results.ExtractMatches(t, results.Criterion{Mode: "n", N: *topN}, false)
	if err != nil {
		// A short top-k: as many as it holds.
		if rows, notes, err = results.ExtractMatches(t, results.Criterion{Mode: "n", N: max(1, t.K-1)}, false); err != nil {
			return err
		}
	}
	var page bytes.Buffer
	report.Write(ctx, &page, report.Data{Output: o, Source: src, Hits: t, Clusters: cl, Params: params, Matches: rows, Notes: notes,
		MaxSide: *maxSide, Sampled: sampled, DenseN: denseN})
	f, err := files.Create(ctx, dest)
	if err != nil {
		return fmt.Errorf("--to %s: %w", dest, err)
	}
	if _, err := f.Write(page.Bytes()); err != nil {
		f.Abort()
		return fmt.Errorf("--to %s: %w", dest, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("--to %s: %w", dest, err)
	}
	fmt.Fprintf(stdout, "report: %s (%d KiB) on %s\n", dest, (page.Len()+1023)/1024, src.Name())
	return nil
}
