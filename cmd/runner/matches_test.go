package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

func init() {
	// Every pair in a sparse output, and every target in a top-k output
	// (17 neurons): both can answer every criterion, as the dense array.
	fixtureSpecs["allpairs"] = func(o *pipeline.Options) {
		o.Sink, o.TopK, o.Threshold = "sparse", 17, math.Inf(-1)
	}
	// The 5 best targets of every query, whatever their scores.
	fixtureSpecs["top5"] = func(o *pipeline.Options) {
		o.Sink, o.TopK, o.Threshold = "topk", 5, math.Inf(-1)
	}
}

// denseMatrix reads the dense fixture's OUT/scores whole.
func denseMatrix(t *testing.T, out string) (queries, targets []scoring.ID, vals []float64) {
	t.Helper()
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	if queries, err = results.AttrIDs(z.Attrs["queries"], out, "queries"); err != nil {
		t.Fatal(err)
	}
	if targets, err = results.AttrIDs(z.Attrs["targets"], out, "targets"); err != nil {
		t.Fatal(err)
	}
	if vals, err = z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1]); err != nil {
		t.Fatal(err)
	}
	return queries, targets, vals
}

// directMatches is extract_matches computed straight from the matrix, as
// navis does it on a DataFrame (numpy: sort each row, take the first N;
// >= threshold; >= max - |max × p|), self left out unless self; ties by
// the smaller target id.
func directMatches(queries, targets []scoring.ID, vals []float64, mode string, v float64, self bool) []string {
	var rows []string
	for r, q := range queries {
		type cell struct {
			t scoring.ID
			s float64
		}
		var row []cell
		for c, tg := range targets {
			if !self && tg == q {
				continue
			}
			row = append(row, cell{tg, vals[r*len(targets)+c]})
		}
		sort.SliceStable(row, func(a, b int) bool {
			if row[a].s != row[b].s {
				return row[a].s > row[b].s
			}
			return row[a].t.Less(row[b].t)
		})
		var keep []cell
		switch mode {
		case "n":
			keep = row[:min(int(v), len(row))]
		case "threshold", "percentage":
			cut := v
			if mode == "percentage" {
				cut = row[0].s - math.Abs(row[0].s*v)
			}
			for _, c := range row {
				if c.s >= cut {
					keep = append(keep, c)
				}
			}
		}
		for i, c := range keep {
			rows = append(rows, fmt.Sprintf("%s | %d | %s | %s", q, i+1, c.t, strconv.FormatFloat(c.s, 'g', -1, 32)))
		}
	}
	return rows
}

// matchesRun runs runMatches writing to a CSV and returns its rows (no
// header) and stdout.
func matchesRun(t *testing.T, args ...string) (rows []string, stdout string, err error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.csv")
	var o, e bytes.Buffer
	err = runMatches(context.Background(), append(args, "--to", p), &o, &e)
	if err != nil {
		return nil, o.String(), err
	}
	b, rerr := os.ReadFile(p)
	if rerr != nil {
		t.Fatal(rerr)
	}
	recs, rerr := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if rerr != nil {
		t.Fatal(rerr)
	}
	if got := strings.Join(recs[0], ","); got != "query,rank,target,score" {
		t.Fatalf("header %q", got)
	}
	for _, r := range recs[1:] {
		rows = append(rows, strings.Join(r, " | "))
	}
	return rows, o.String(), nil
}

// sameRows compares two tables, each query's rows in order; the queries
// may come in any order (a dense array's is the plan's, a sparse or top-k
// output's that of its parts).
func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	byQuery := func(rows []string) []string {
		rows = slices.Clone(rows)
		sort.SliceStable(rows, func(a, b int) bool {
			return strings.SplitN(rows[a], " | ", 2)[0] < strings.SplitN(rows[b], " | ", 2)[0]
		})
		return rows
	}
	got, want = byQuery(got), byQuery(want)
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: row %d = %s, want %s", what, i, got[i], want[i])
			return
		}
	}
}

// The matches of every mode, self on and off, from the dense, sparse and
// top-k outputs of a real run equal the direct computation on the dense
// matrix.
func TestMatchesEqualDirect(t *testing.T) {
	dense, all := fixture(t, "dense"), fixture(t, "allpairs")
	q, tg, vals := denseMatrix(t, dense)
	cases := []struct {
		mode, flag, value string
		v                 float64
	}{
		{"n", "--n", "1", 1}, {"n", "--n", "3", 3}, {"n", "--n", "16", 16},
		{"threshold", "--threshold", "0.1", 0.1}, {"threshold", "--threshold", "-0.5", -0.5},
		{"percentage", "--percentage", "0.05", 0.05}, {"percentage", "--percentage", "0.5", 0.5},
	}
	nonEmpty := 0
	for _, c := range cases {
		for _, self := range []bool{false, true} {
			want := directMatches(q, tg, vals, c.mode, c.v, self)
			if len(want) > len(q) {
				nonEmpty++
			}
			args := []string{c.flag, c.value}
			if self {
				args = append(args, "--self")
			}
			for _, src := range []struct{ out, what string }{{dense, "scores"}, {all, "sparse"}, {all, "topk"}} {
				got, _, err := matchesRun(t, append([]string{"--out", src.out, "--what", src.what}, args...)...)
				if err != nil {
					t.Errorf("%s %v: %v", src.what, args, err)
					continue
				}
				sameRows(t, fmt.Sprintf("%s %v", src.what, args), got, want)
			}
		}
	}
	if nonEmpty < 6 {
		t.Errorf("only %d cases give more than one match per query: the test data does not test much", nonEmpty)
	}
}

// A sparse output with --threshold 0 and a top-k output with k = 5 (the
// "sparse" fixture) answer what they hold, as the dense matrix does, and
// refuse what they cannot.
func TestMatchesPartialOutputs(t *testing.T) {
	dense, part := fixture(t, "dense"), fixture(t, "sparse")
	q, tg, vals := denseMatrix(t, dense)
	// Threshold >= the run's: the sparse output answers exactly.
	got, _, err := matchesRun(t, "--out", part, "--what", "sparse", "--threshold", "0.2")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "sparse --threshold 0.2", got, directMatches(q, tg, vals, "threshold", 0.2, false))
	// --n 4 from the top 5: the dense answer less its scores < 0 (the run's
	// --threshold), with a note.
	var want []string
	for _, r := range directMatches(q, tg, vals, "n", 4, false) {
		f := strings.Split(r, " | ")
		if s, _ := strconv.ParseFloat(f[3], 64); s >= 0 {
			want = append(want, r)
		}
	}
	got, stdout, err := matchesRun(t, "--out", part, "--what", "topk", "--n", "4")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "topk --n 4", got, want)
	if !strings.Contains(stdout, "note: ") || !strings.Contains(stdout, "(the run's --threshold)") {
		t.Errorf("no note on the queries with fewer than 4 matches:\n%s", stdout)
	}
	// What they cannot answer.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--what", "sparse", "--threshold", "-0.1"}, "holds only scores >= 0 (its run's --threshold)"},
		{[]string{"--what", "sparse", "--percentage", "2"}, "falls below 0, the lowest score"},
		{[]string{"--what", "scores"}, "has no dense array scores"},
		{[]string{"--n", "3", "--threshold", "1"}, "give one of --n, --threshold and --percentage"},
		{[]string{"--percentage", "-1"}, "want a fraction >= 0"},
		{[]string{"--ids", "42"}, "--ids: 42 is not a query with scores in"},
	} {
		_, _, err := matchesRun(t, append([]string{"--out", part}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	// A top-5 list (threshold -Inf) answers --n 4 (self left out) and
	// --threshold/--percentage cuts above each query's 5th score, and no
	// more.
	top5 := fixture(t, "top5")
	got, _, err = matchesRun(t, "--out", top5, "--n", "4")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "top5 --n 4", got, directMatches(q, tg, vals, "n", 4, false))
	got, _, err = matchesRun(t, "--out", top5, "--percentage", "0.01", "--self")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "top5 --percentage 0.01 --self", got, directMatches(q, tg, vals, "percentage", 0.01, true))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--n", "5"}, "holds only the 5 best targets per query (its run's --topk), too few to answer the 5 best targets for 17 queries"},
		{[]string{"--n", "6", "--self"}, "use --n 5 or less"},
		{[]string{"--threshold", "-1"}, "too few to answer targets scoring >= -1"},
	} {
		_, _, err := matchesRun(t, append([]string{"--out", top5}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("top5 %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	_, _, err = matchesRun(t, "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no NBLAST output found") {
		t.Errorf("empty directory: %v", err)
	}
	_, _, err = matchesRun(t, "--out", dense, "--n", "18")
	if err == nil || !strings.Contains(err.Error(), "has only 17 targets") {
		t.Errorf("--n 18 of 17: %v", err)
	}
}

// An incomplete output is refused (as export does) unless
// --allow_incomplete.
func TestMatchesIncomplete(t *testing.T) {
	out := copyOutput(t, fixture(t, "sparse"))
	if err := os.Remove(filepath.Join(out, sinks.ManifestName)); err != nil {
		t.Fatal(err)
	}
	_, _, err := matchesRun(t, "--out", out, "--what", "sparse")
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("incomplete sparse output: %v", err)
	}
	if _, _, err := matchesRun(t, "--out", out, "--what", "sparse", "--allow_incomplete"); err != nil {
		t.Fatal(err)
	}
}

// --to FILE.parquet holds the same table as --to FILE.csv, typed as the
// output (INT64 ids, FLOAT scores; STRING ids, DOUBLE scores), and stdout
// lists the --ids queries' matches.
func TestMatchesParquet(t *testing.T) {
	for _, name := range []string{"dense", "strings"} {
		out := fixture(t, name)
		csvRows, _, err := matchesRun(t, "--out", out, "--n", "3")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "m.parquet")
		var o, e bytes.Buffer
		if err := runMatches(context.Background(), []string{"--out", out, "--n", "3", "--to", p}, &o, &e); err != nil {
			t.Fatal(err)
		}
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rec := array.NewTableReader(tbl, -1)
		var pqRows []string
		for rec.Next() {
			r := rec.Record()
			for i := 0; i < int(r.NumRows()); i++ {
				var f []string
				for c := 0; c < int(r.NumCols()); c++ {
					f = append(f, r.Column(c).ValueStr(i))
				}
				pqRows = append(pqRows, strings.Join(f, " | "))
			}
		}
		rec.Release()
		tbl.Release()
		rdr.Close()
		sameRows(t, name+" parquet", pqRows, csvRows)
		schema := fr.Manifest.Fields
		if len(schema) != 4 {
			t.Fatalf("%d columns", len(schema))
		}
		if name == "dense" && !strings.Contains(o.String(), "720575940693177896: 3 matches") {
			t.Errorf("stdout does not list the first query:\n%s", o.String())
		}
	}
}

// The built runner has the matches and report commands, in its usage too.
func TestMatchesAndReportCommands(t *testing.T) {
	bin := binary(t, ".")
	if _, out := runCase(t, bin, []string{"--help"}); !strings.Contains(out, "runner matches --out OUT") || !strings.Contains(out, "runner report --out OUT") {
		t.Errorf("usage does not show runner matches and runner report:\n%s", out)
	}
	out := copyOutput(t, fixture(t, "dense"))
	code, text := runCase(t, bin, []string{"matches", "--out", out, "--n", "2", "--ids", "720575940693177896"})
	if code != 0 || !strings.Contains(text, "720575940693177896: 2 matches") {
		t.Errorf("runner matches exits %d:\n%s", code, text)
	}
	if code, text := runCase(t, bin, []string{"report", "--out", out}); code != 0 || !strings.Contains(text, "report.html") {
		t.Errorf("runner report exits %d:\n%s", code, text)
	}
	empty := t.TempDir()
	if code, text := runCase(t, bin, []string{"matches", "--out", empty}); code != 1 || !strings.Contains(text, "runner matches: "+empty+": no NBLAST output found") {
		t.Errorf("runner matches on an empty directory exits %d:\n%s", code, text)
	}
	if code, text := runCase(t, bin, []string{"report", "--out", empty}); code != 1 || !strings.Contains(text, "runner report: "+empty+": no NBLAST output found") {
		t.Errorf("runner report on an empty directory exits %d:\n%s", code, text)
	}
}
