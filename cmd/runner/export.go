package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
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

// exportWhat are the values of --what.
var exportWhat = []string{"sparse", "topk", "scores", "scores_reverse"}

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
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the result directory (OUT of the scoring run; local or gs://)")
	what := fs.String("what", "", "what to export: sparse (OUT/part-*.parquet), topk (OUT/topk), scores or scores_reverse (the dense Zarr arrays, as long rows); default: sparse if OUT has it, else topk, else scores")
	format := fs.String("format", "", "csv or tsv; default: tsv if --to ends in .tsv or .tab, else csv")
	to := fs.String("to", "-", "the file to write, local or gs:// (atomically: it appears whole when the export is done), or - for stdout")
	allow := fs.Bool("allow_incomplete", false, "export an output whose run did not finish (no manifest, or not marked complete): the rows written so far")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: runner export --out OUT [--what sparse|topk|scores|scores_reverse] [--format csv|tsv] [--to FILE|-] [--allow_incomplete]\n\n"+
			"Write a sparse, top-k or dense output as CSV or TSV with a header\n"+
			"(query,target,score or query,rank,target,score), e.g. for pandas.read_csv.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	if *what != "" && !slices.Contains(exportWhat, *what) {
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

	o, err := detectOutput(ctx, *out)
	if err != nil {
		return err
	}
	src, err := exportSource(o, *what)
	if err != nil {
		return err
	}
	if err := src.check(ctx, *allow); err != nil {
		return err
	}

	dst, err := openDest(ctx, *to, stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(dst.w, 1<<20)
	cw := csv.NewWriter(bw) // writes into bw itself (it is large enough)
	cw.Comma = comma
	rows, err := src.write(ctx, cw)
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
	fmt.Fprintf(stderr, "export: %d rows of %s written to %s (%s)\n", rows, src.name(), dest, *format)
	return nil
}

// source is what runExport writes: a sparse or top-k output, or a dense
// array.
type source struct {
	out   string
	parts *partsOut // sparse or top-k
	dense string    // or a Zarr array name
	z     *sinks.ZarrReader
}

// denseIDs returns the dense array's query and target ids (its
// attributes), checked against its shape. s.z must be open.
func (s *source) denseIDs() (queries, targets []scoring.ID, err error) {
	z := s.z
	path := files.Join(s.out, s.dense)
	if queries, err = attrIDs(z.Attrs["queries"], path, "queries"); err != nil {
		return nil, nil, err
	}
	if targets, err = attrIDs(z.Attrs["targets"], path, "targets"); err != nil {
		return nil, nil, err
	}
	if len(queries) != z.Shape[0] || len(targets) != z.Shape[1] {
		return nil, nil, fmt.Errorf("%s/.zattrs: %d queries and %d targets for shape %v", path, len(queries), len(targets), z.Shape)
	}
	return queries, targets, nil
}

func (s *source) name() string {
	if s.parts != nil {
		return fmt.Sprintf("the %s output %s", s.parts.kind, s.parts.where())
	}
	return fmt.Sprintf("the dense array %s", files.Join(s.out, s.dense))
}

// zarrHint is how to read a dense output in Python (README.md).
func zarrHint(out string) string {
	return fmt.Sprintf("export it with --what scores, or read it with zarr in Python: z = zarr.open_array(%q, mode=\"r\"); z.attrs[\"queries\"], z.attrs[\"targets\"]", files.Join(out, "scores"))
}

// exportSource picks the output to export: what, or by default sparse,
// else top-k, else the dense scores.
func exportSource(o *output, what string) (*source, error) {
	s := &source{out: o.out}
	if what == "" {
		switch {
		case o.sparse != nil:
			what = "sparse"
		case o.topk != nil:
			what = "topk"
		default:
			what = "scores"
		}
	}
	missing := func(kind, lookedFor string) error {
		msg := fmt.Sprintf("%s has no %s output (no %s); it holds: %s", o.out, kind, lookedFor, o.describe())
		if len(o.dense) > 0 {
			msg += "; " + zarrHint(o.out)
		}
		return errors.New(msg)
	}
	switch what {
	case "sparse":
		if o.sparse == nil {
			return nil, missing("sparse", files.Join(o.out, sinks.SparsePartPattern)+" or "+files.Join(o.out, sinks.ManifestName))
		}
		s.parts = o.sparse
	case "topk":
		if o.topk == nil {
			return nil, missing("top-k", files.Join(o.out, "topk", sinks.TopKPartPattern)+" or "+files.Join(o.out, "topk", sinks.ManifestName))
		}
		s.parts = o.topk
	default:
		if !slices.Contains(o.dense, what) {
			return nil, fmt.Errorf("%s has no dense array %s (no %s); it holds: %s", o.out, what, files.Join(o.out, what, ".zarray"), o.describe())
		}
		s.dense = what
	}
	return s, nil
}

// check refuses an incomplete output unless allow.
func (s *source) check(ctx context.Context, allow bool) error {
	if s.parts != nil {
		if s.parts.complete() || allow {
			return nil
		}
		p := s.parts
		why := "no " + sinks.ManifestName
		if p.manifest != nil {
			why = sinks.ManifestName + " says complete: false"
		}
		return fmt.Errorf("%s: the %s output is incomplete (%s in %s): the run did not finish (or is still running); resume it with the same command and --exists resume, or pass --allow_incomplete to export the %d part files written so far",
			s.out, p.kind, why, p.dir, len(p.parts))
	}
	z, err := sinks.OpenZarr(ctx, s.out, s.dense)
	if err != nil {
		return err
	}
	s.z = z
	if z.Complete() || allow {
		return nil
	}
	return fmt.Errorf("%s: the dense array %s is incomplete (its .zattrs says complete: false): the run did not finish (or is still running); resume it with the same command and --exists resume, or pass --allow_incomplete to export the chunks written so far",
		s.out, s.dense)
}

// write writes the header and every row; it returns the rows written.
func (s *source) write(ctx context.Context, cw *csv.Writer) (int64, error) {
	var rows int64
	var err error
	switch {
	case s.parts != nil && s.parts.kind == "sparse":
		rec := make([]string, 3)
		if err := cw.Write([]string{"query", "target", "score"}); err != nil {
			return 0, err
		}
		err = sinks.EachSparseRowBits(ctx, s.parts.dir, func(r sinks.SparseRow, bits int) error {
			rec[0], rec[1], rec[2] = r.Query.String(), r.Target.String(), strconv.FormatFloat(r.Score, 'g', -1, bits)
			rows++
			return cw.Write(rec)
		})
	case s.parts != nil:
		rec := make([]string, 4)
		if err := cw.Write([]string{"query", "rank", "target", "score"}); err != nil {
			return 0, err
		}
		err = sinks.EachTopKRowBits(ctx, s.parts.dir, func(r sinks.TopKRow, bits int) error {
			rec[0], rec[1], rec[2], rec[3] = r.Query.String(), strconv.Itoa(r.Rank), r.Target.String(), strconv.FormatFloat(r.Score, 'g', -1, bits)
			rows++
			return cw.Write(rec)
		})
	default:
		return s.writeDense(ctx, cw)
	}
	if err != nil {
		return rows, err
	}
	// The manifest counts the rows of every part: a difference means
	// parts changed since (or a damaged output).
	if m := s.parts.manifest; m != nil && m.Complete && rows != m.Rows {
		return rows, fmt.Errorf("%s: read %d rows from %d part files, but %s says %d: the output changed after the run finished, or is damaged",
			s.parts.dir, rows, len(s.parts.parts), sinks.ManifestName, m.Rows)
	}
	return rows, nil
}

// writeDense writes a dense array as rows query,target,score, chunk by
// chunk (chunk rows, then chunk columns; row-major inside a chunk), the
// order of a sparse output's parts. Unwritten chunks of an incomplete
// array are skipped.
func (s *source) writeDense(ctx context.Context, cw *csv.Writer) (int64, error) {
	z := s.z
	queries, targets, err := s.denseIDs()
	if err != nil {
		return 0, err
	}
	var written map[[2]int]bool
	if !z.Complete() {
		if written, err = z.WrittenChunks(ctx); err != nil {
			return 0, err
		}
	}
	bits := 32 // float16 values are exact float32s
	if z.DType == "float64" {
		bits = 64
	}
	if err := cw.Write([]string{"query", "target", "score"}); err != nil {
		return 0, err
	}
	rec := make([]string, 3)
	var rows int64
	cr, cc := z.Chunks[0], z.Chunks[1]
	for i := 0; i*cr < z.Shape[0]; i++ {
		for j := 0; j*cc < z.Shape[1]; j++ {
			if written != nil && !written[[2]int{i, j}] {
				continue
			}
			r0, r1, c0, c1 := i*cr, min((i+1)*cr, z.Shape[0]), j*cc, min((j+1)*cc, z.Shape[1])
			vals, err := z.Read(ctx, r0, r1, c0, c1)
			if err != nil {
				return rows, err
			}
			for r := r0; r < r1; r++ {
				rec[0] = queries[r].String()
				for c := c0; c < c1; c++ {
					rec[1], rec[2] = targets[c].String(), strconv.FormatFloat(vals[(r-r0)*(c1-c0)+c-c0], 'g', -1, bits)
					if err := cw.Write(rec); err != nil {
						return rows, err
					}
					rows++
				}
			}
		}
	}
	return rows, nil
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
