package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
)

// matchesMain implements
//
//	runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids a,b] [--self] [--what ...] [--to FILE.parquet|FILE.csv]
func matchesMain(args []string) error {
	return runMatches(context.Background(), args, os.Stdout, os.Stderr)
}

// criterion is navis.nbl.extract_matches' N, threshold or percentage.
type criterion struct {
	mode  string // "n", "threshold" or "percentage"
	n     int
	value float64
}

func (c criterion) String() string {
	switch c.mode {
	case "n":
		return fmt.Sprintf("the %d best targets", c.n)
	case "threshold":
		return fmt.Sprintf("targets scoring >= %v", c.value)
	}
	return fmt.Sprintf("targets within %v (a fraction) of the best score", c.value)
}

// matchRow is one row of the long matches table.
type matchRow struct {
	query  scoring.ID
	rank   int
	target scoring.ID
	score  float64
}

// extractMatches is navis.nbl.extract_matches (axis=0, similarities) on
// a hit table, in long form: per query its targets best first (ties:
// smaller target id), rank 1, 2, ...
//
//   - n: the n best targets (fewer if the query has fewer scores);
//   - threshold: every target scoring >= value;
//   - percentage: every target scoring >= best - |best × value|, best
//     being the query's best score (value a fraction, 0.05 = 5%).
//
// The query itself is left out of its targets unless self (navis keeps
// the diagonal: self = true is navis' result; without it the best score
// of percentage mode is the best other target's). A sparse or top-k
// output holds only some scores: a criterion that would need scores it
// does not hold is an error; notes says where the answer is short only
// because there are no more scores (a sparse query with fewer than n rows).
func extractMatches(t *hitTable, c criterion, self bool) (rows []matchRow, notes []string, err error) {
	what := t.src.Name()
	if c.mode == "n" && t.kind == "dense" && c.n > t.targets {
		return nil, nil, fmt.Errorf("--n %d: %s has only %d targets (navis: cannot extract N=%d matches from only %d candidates)", c.n, what, t.targets, c.n, t.targets)
	}
	if c.mode == "threshold" && c.value < t.floor {
		return nil, nil, fmt.Errorf("--threshold %v: %s holds only scores >= %v (its run's --threshold): a lower threshold needs a run with a lower --threshold, or a dense output", c.value, what, t.floor)
	}
	short, cutLow := 0, 0
	var cannot []string
	for _, q := range t.queries {
		all := t.hits[q]
		l := all
		if !self {
			l = slices.DeleteFunc(slices.Clone(all), func(h hit) bool { return h.target == q })
		}
		// full: a top-k list holding k rows (and not every target), so
		// targets it does not hold may score up to its last score.
		full := t.kind == "top-k" && len(all) >= t.k && len(all) > 0 && (t.targets == 0 || len(all) < t.targets)
		var keep []hit
		switch c.mode {
		case "n":
			keep = l[:min(c.n, len(l))]
			if len(keep) < c.n {
				if full {
					cannot = append(cannot, q.String())
				} else {
					short++
				}
			}
		case "threshold", "percentage":
			cut := c.value
			if c.mode == "percentage" {
				if len(l) == 0 {
					continue
				}
				best := l[0].score
				cut = best - math.Abs(best*c.value)
				if cut < t.floor {
					cutLow++
					continue
				}
			}
			n := 0
			for n < len(l) && l[n].score >= cut {
				n++
			}
			keep = l[:n]
			if full && all[len(all)-1].score >= cut {
				cannot = append(cannot, q.String())
			}
		}
		for r, h := range keep {
			rows = append(rows, matchRow{q, r + 1, h.target, h.score})
		}
	}
	if len(cannot) > 0 {
		most := t.k
		if !self {
			most-- // the query itself is among its k (in an all-by-all)
		}
		return nil, nil, fmt.Errorf("%s holds only the %d best targets per query (its run's --topk), too few to answer %s for %d queries (first: %s): use --n %d or less, a higher --threshold or --percentage cut, or a sparse or dense output",
			what, t.k, c, len(cannot), cannot[0], max(most, 1))
	}
	if cutLow > 0 {
		return nil, nil, fmt.Errorf("--percentage %v: for %d queries the cut (best - |best × %v|) falls below %v, the lowest score %s holds (its run's --threshold): use a smaller --percentage, or a dense output",
			c.value, cutLow, c.value, t.floor, what)
	}
	if short > 0 {
		why := "fewer scored targets"
		if t.kind != "dense" {
			why = fmt.Sprintf("fewer targets scoring >= %v (the run's --threshold) in %s; the others score lower and are not in it", t.floor, what)
		}
		notes = append(notes, fmt.Sprintf("%d of %d queries have fewer than %d matches: %s", short, len(t.queries), c.n, why))
	}
	return rows, notes, nil
}

// runMatches is matchesMain with its context and writers.
func runMatches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("matches", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	n := fs.Int("n", 0, "the N best targets per query (default 10 when no --threshold or --percentage)")
	threshold := fs.String("threshold", "", "every target scoring >= T")
	percentage := fs.String("percentage", "", "every target scoring within P of the query's best score, P a fraction as in navis (0.05: >= best - |best × 0.05|)")
	ids := fs.String("ids", "", "comma-separated query ids: only these queries (default all; stdout shows these, or the first 5)")
	self := fs.Bool("self", false, "keep each query among its own targets (navis' extract_matches does: the diagonal of an all-by-all)")
	what := fs.String("what", "", "the output to read: scores, scores_reverse, sparse or topk; default: scores if OUT has it, else sparse, else topk")
	to := fs.String("to", "", "write the matches table (long: query, rank, target, score) to FILE.parquet or FILE.csv, atomically")
	allow := fs.Bool("allow_incomplete", false, "read an output whose run did not finish (what is written so far)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: runner matches --out OUT [--n 10 | --threshold T | --percentage P] [--ids id1,id2] [--self] [--what scores|sparse|topk] [--to FILE.parquet|FILE.csv]\n\n"+
			"Each query's best targets, as navis.nbl.extract_matches, from any output;\n"+
			"a long table query, rank, target, score (rank 1 = best).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	c, err := parseCriterion(*n, *threshold, *percentage)
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
	t, err := readHits(ctx, src, keep)
	if err != nil {
		return err
	}
	for _, id := range want {
		if !slices.ContainsFunc(t.queries, func(q scoring.ID) bool { return q.String() == id }) {
			return fmt.Errorf("--ids: %s is not a query with scores in %s (%d queries there)", id, src.Name(), t.allQueries)
		}
	}
	rows, notes, err := extractMatches(t, c, *self)
	if err != nil {
		return err
	}
	w := &errWriter{w: stdout}
	fmt.Fprintf(w, "%s: %s per query from %s\n", *out, c, src.Name())
	show := want
	if len(show) == 0 {
		for _, q := range t.queries[:min(5, len(t.queries))] {
			show = append(show, q.String())
		}
	}
	for _, id := range show {
		var hits []hit
		for _, r := range rows {
			if r.query.String() == id {
				hits = append(hits, hit{r.target, r.score})
			}
		}
		printHits(w, fmt.Sprintf("%s: %d matches", id, len(hits)), hits, len(hits), nil)
	}
	if len(want) == 0 && len(t.queries) > len(show) {
		fmt.Fprintf(w, "  ... %d more queries (--ids to pick, --to to write all)\n", len(t.queries)-len(show))
	}
	for _, note := range notes {
		fmt.Fprintf(w, "note: %s\n", note)
	}
	if w.err != nil {
		return w.err
	}
	if *to != "" {
		if err := writeMatches(ctx, *to, toFormat, rows, t.bits); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "matches: %d rows (%d queries) written to %s\n", len(rows), len(t.queries), *to)
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

// parseCriterion takes one of --n, --threshold, --percentage (none: --n 10).
func parseCriterion(n int, threshold, percentage string) (criterion, error) {
	given := 0
	for _, g := range []bool{n != 0, threshold != "", percentage != ""} {
		if g {
			given++
		}
	}
	if given > 1 {
		return criterion{}, errors.New("give one of --n, --threshold and --percentage")
	}
	switch {
	case threshold != "":
		v, err := strconv.ParseFloat(threshold, 64)
		if err != nil || math.IsNaN(v) {
			return criterion{}, fmt.Errorf("--threshold %q: want a number", threshold)
		}
		return criterion{mode: "threshold", value: v}, nil
	case percentage != "":
		v, err := strconv.ParseFloat(percentage, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return criterion{}, fmt.Errorf("--percentage %q: want a fraction >= 0 (0.05 = within 5%% of the best score)", percentage)
		}
		return criterion{mode: "percentage", value: v}, nil
	case n < 0:
		return criterion{}, fmt.Errorf("--n %d: want at least 1", n)
	case n == 0:
		n = 10
	}
	return criterion{mode: "n", n: n}, nil
}

// writeMatches writes rows to p (local or gs://) as CSV or Parquet,
// through files.Create: p appears whole, or not at all.
func writeMatches(ctx context.Context, p, format string, rows []matchRow, bits int) (err error) {
	f, err := files.Create(ctx, p)
	if err != nil {
		return fmt.Errorf("--to %s: %w", p, err)
	}
	defer func() {
		if err != nil {
			f.Abort()
			err = fmt.Errorf("--to %s: %w (nothing written)", p, err)
		}
	}()
	if format == "csv" {
		bw := bufio.NewWriter(f)
		cw := csv.NewWriter(bw)
		if err := cw.Write([]string{"query", "rank", "target", "score"}); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write([]string{r.query.String(), strconv.Itoa(r.rank), r.target.String(), strconv.FormatFloat(r.score, 'g', -1, bits)}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	} else if err := encodeMatchesParquet(f, rows, bits); err != nil {
		return err
	}
	return f.Commit()
}

// encodeMatchesParquet writes the matches as one Parquet file: query and
// target INT64 or STRING (as the output's ids), rank INT32, score FLOAT or
// DOUBLE (as the output stores them), nothing nullable, a REQUIRED root,
// zstd; the layout of a top-k part.
func encodeMatchesParquet(w io.Writer, rows []matchRow, bits int) error {
	qStr, tStr := false, false
	if len(rows) > 0 {
		qStr, tStr = rows[0].query.IsStr, rows[0].target.IsStr
	}
	idType := func(s bool) arrow.DataType {
		if s {
			return arrow.BinaryTypes.String
		}
		return arrow.PrimitiveTypes.Int64
	}
	scoreType := arrow.DataType(arrow.PrimitiveTypes.Float32)
	if bits == 64 {
		scoreType = arrow.PrimitiveTypes.Float64
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "query", Type: idType(qStr)},
		{Name: "rank", Type: arrow.PrimitiveTypes.Int32},
		{Name: "target", Type: idType(tStr)},
		{Name: "score", Type: scoreType},
	}, nil)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	appendID := func(bb array.Builder, id scoring.ID) {
		switch bb := bb.(type) {
		case *array.StringBuilder:
			bb.Append(id.String())
		case *array.Int64Builder:
			bb.Append(id.Int)
		}
	}
	for _, r := range rows {
		if r.query.IsStr != qStr || r.target.IsStr != tStr {
			return fmt.Errorf("ids mix int64 and string ids (%s, %s): a Parquet column holds one kind", r.query, r.target)
		}
		appendID(b.Field(0), r.query)
		b.Field(1).(*array.Int32Builder).Append(int32(r.rank))
		appendID(b.Field(2), r.target)
		switch sb := b.Field(3).(type) {
		case *array.Float32Builder:
			sb.Append(float32(r.score))
		case *array.Float64Builder:
			sb.Append(r.score)
		}
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCreatedBy("nblast-go"),
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	)
	fw, err := pqarrow.NewFileWriter(schema, noCloseWriter{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	rec := b.NewRecord()
	defer rec.Release()
	if rec.NumRows() > 0 {
		if err := fw.WriteBuffered(rec); err != nil {
			fw.Close()
			return err
		}
	}
	return fw.Close()
}

// noCloseWriter hides Close from the Parquet writer, which closes a sink
// that is an io.Closer (files.Writer's Close would not commit).
type noCloseWriter struct{ w io.Writer }

func (n noCloseWriter) Write(p []byte) (int, error) { return n.w.Write(p) }
