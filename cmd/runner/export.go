package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/sinks"
)

// exportMain implements
//
//	runner export --out OUT [--what sparse|topk|scores|scores_reverse] [--format csv|tsv] [--to FILE|-] [--allow_incomplete]
//
// args are the arguments after "export".
func exportMain(args []string) error {
	return runExport(context.Background(), args, os.Stdout, os.Stderr)
}

// runExport is exportMain with its context and writers: the table goes to
// stdout (or --to FILE), the summary line, usage and flag errors to
// stderr.
//
// It streams a sparse output (rows query,target,score), a top-k output
// (query,rank,target,score) or a dense Zarr array (query,target,score, in
// chunk order) as CSV or TSV with a header, one part or chunk in memory at
// a time. Ids are printed exactly (int64 as integers, strings quoted as
// RFC 4180 says when they need it), scores in the shortest form that reads
// back as the stored value (FLOAT / float32 and float16 arrays: the
// shortest float32; DOUBLE / float64: the shortest float64). --to FILE is
// written through a temporary file in the same directory renamed into
// place at the end, so FILE is either the whole table or absent (or its
// previous version). An output not marked complete is refused unless
// --allow_incomplete.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr, "usage: runner export --out OUT [--what sparse|topk|scores|scores_reverse] [--format csv|tsv] [--to FILE|-] [--allow_incomplete]\n\n"+
		"Write a sparse, top-k or dense output as CSV or TSV with a header\n"+
		"(query,target,score or query,rank,target,score), e.g. for pandas.read_csv.\n\nFlags:\n")
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	what := fs.String("what", "", "what to export: sparse (OUT/part-*.parquet), topk (OUT/topk), scores or scores_reverse (the dense Zarr arrays, as long rows); default: sparse if OUT has it, else topk, else scores")
	format := fs.String("format", "", "csv or tsv; default: tsv if --to ends in .tsv or .tab, else csv")
	to := fs.String("to", "-", "the file to write, local or gs:// (atomically: it appears whole when the export is done), or - for stdout")
	allow := fs.Bool("allow_incomplete", false, "export an output whose run did not finish (no manifest, or not marked complete): the rows written so far")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	if *what != "" && !slices.Contains(results.What, *what) {
		return fmt.Errorf("--what %q: want sparse, topk, scores or scores_reverse", *what)
	}
	comma := ','
	switch f := strings.ToLower(*format); {
	case f == "csv":
	case f == "tsv":
		comma = '\t'
	case f == "":
		if ext := strings.ToLower(filepath.Ext(*to)); ext == ".tsv" || ext == ".tab" {
			comma, *format = '\t', "tsv"
		} else {
			*format = "csv"
		}
	default:
		return fmt.Errorf("--format %q: want csv or tsv", *format)
	}
	if *to == "" {
		return errors.New("--to is empty: give a file, or - for stdout")
	}
	if err := results.CheckDest("--to", *to, *out); err != nil {
		return err
	}

	o, err := results.Open(ctx, *out)
	if err != nil {
		return err
	}
	src, err := o.Source(*what, exportOrder...)
	if err != nil {
		return err
	}
	if err := src.Check(ctx, *allow); err != nil {
		return err
	}

	dst, err := openDest(ctx, *to, stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(dst.w, 1<<20)
	cw := csv.NewWriter(bw) // writes into bw itself (it is large enough)
	cw.Comma = comma
	rows, err := src.WriteCSV(ctx, cw)
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = dst.commit()
	}
	if err != nil {
		dst.abort()
		if *to != "-" {
			return fmt.Errorf("%w (nothing written to %s)", err, *to)
		}
		return err
	}
	dest := *to
	if dest == "-" {
		dest = "stdout"
	}
	fmt.Fprintf(stderr, "export: %d rows of %s written to %s (%s)\n", rows, src.Name(), dest, *format)
	return nil
}

// dest is where the table goes: stdout, or a file that appears whole on
// commit (files.Create).
type dest struct {
	w    io.Writer
	file *files.Writer
}

func openDest(ctx context.Context, to string, stdout io.Writer) (*dest, error) {
	if to == "-" {
		return &dest{w: stdout}, nil
	}
	if files.IsDir(to) {
		return nil, fmt.Errorf("--to %s is a directory: give a file name", to)
	}
	f, err := files.Create(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("--to %s: %w", to, err)
	}
	return &dest{w: f, file: f}, nil
}

func (d *dest) commit() error {
	if d.file == nil {
		return nil
	}
	return d.file.Commit()
}

// abort discards the file (after a failure).
func (d *dest) abort() {
	if d.file != nil {
		d.file.Abort()
	}
}

// exportOrder is export's default output: sparse, else top-k, else the
// dense scores.
var exportOrder = []string{"sparse", "topk", sinks.ScoresArray}

// matchesOrder is the default output of matches and report: the dense
// scores (every pair), else sparse, else top-k.
var matchesOrder = []string{sinks.ScoresArray, "sparse", "topk"}
