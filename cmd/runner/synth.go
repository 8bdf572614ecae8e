package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
)

// synthMain implements
//
//	runner synth --n N --out FILE.parquet [--seed S] [--types TYPES.csv]
//
// args are the arguments after "synth". It generates a synthetic brain of N
// neurons (internal/synth: branching random walks at ~1 µm spacing in a
// 600 × 300 × 200 µm box, cell types of 5 to 20 similar neurons, dotprops
// with k = 5, int64 ids from 1e16), writes them to FILE in navis' dotprops
// Parquet layout (units µm; a local path or gs://…, written atomically) and
// prints a one-line summary to stderr. The same N and seed give the same
// file contents. --types also writes each neuron's cell type as a CSV
// neuron,group (group "type<k>"), the --matches of runner smat.
func synthMain(args []string) error {
	return runSynth(context.Background(), args, os.Stderr)
}

// maxSynthNeurons is the largest --n: the generator plans every neuron
// before making any (tens of bytes each), and 10M neurons already make a
// file of ~250 GB; --n 1e8 and beyond ran out of memory while planning.
const maxSynthNeurons = 10_000_000

// runSynth is synthMain with its context and summary writer.
func runSynth(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("synth", stderr, "usage: runner synth --n N --out FILE.parquet [--seed S] [--types TYPES.csv]\n\n"+
		"Generate N synthetic neurons (branching random walks at ~1 µm spacing in a\n"+
		"600 × 300 × 200 µm box, cell types of 5 to 20 similar neurons) as k = 5\n"+
		"dotprops and write them in navis' Parquet layout.\n\nFlags:\n")
	n := fs.Int("n", 0, fmt.Sprintf("number of neurons to generate (required, 1 to %d); mean ~485 points each (100,000 make a 2.5 GB file)", maxSynthNeurons))
	out := fs.String("out", "", "output Parquet file (navis dotprops layout, µm), local path or gs://bucket/object (required)")
	seed := fs.Uint64("seed", 1, "random seed: the same --n and --seed give the same neurons")
	types := fs.String("types", "", "also write the neurons' cell types to this CSV (neuron,group), e.g. for runner smat --matches")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *n <= 0 || *n > maxSynthNeurons {
		return fmt.Errorf("--n %d: want a number of neurons from 1 to %d (that many already make a ~%d GB file)", *n, maxSynthNeurons, maxSynthNeurons/40_000)
	}
	if *out == "" {
		return errors.New("--out is required")
	}

	start := time.Now()
	// Stream: neurons go to the Parquet writer as they are made, and its
	// bytes through a 1 MiB buffer to the file, so memory stays at about a
	// row group of encoded pages (~60 MB) whatever --n.
	fw, err := files.Create(ctx, *out)
	if err != nil {
		return err
	}
	defer fw.Abort() // no-op after Commit
	cw := &countingWriter{w: fw}
	bw := bufio.NewWriterSize(cw, 1<<20)
	dw, err := dotprops.NewDotpropsWriter(bw, false, true) // int64 ids; MakeDotprops gives alpha
	if err != nil {
		return fmt.Errorf("synth %s: %w", *out, err)
	}
	var typeRows strings.Builder
	typeRows.WriteString("neuron,group\n")
	sum, err := synth.GenerateEach(synth.DefaultOptions(*n, *seed), func(d *scoring.Dotprops, cellType int) error {
		if *types != "" {
			fmt.Fprintf(&typeRows, "%s,type%d\n", d.ID, cellType)
		}
		return dw.Write(d)
	})
	if err != nil {
		dw.Close()
		return fmt.Errorf("synth %s: %w", *out, err)
	}
	if err := dw.Close(); err != nil {
		return fmt.Errorf("synth %s: %w", *out, err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if *types != "" {
		if err := files.WriteFile(ctx, *types, []byte(typeRows.String())); err != nil {
			return fmt.Errorf("--types: %w", err)
		}
	}
	if err := fw.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "synth: %d neurons, %d points, %d types (seed %d) written to %s (%.1f MB) in %.1f s\n",
		sum.Neurons, sum.Points, sum.Types, *seed, *out, float64(cw.n)/1e6, time.Since(start).Seconds())
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64 // bytes written so far
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
