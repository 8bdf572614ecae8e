package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/synth"
)

func TestSynthWritesParquet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "neurons.parquet")
	if err := synthMain([]string{"--n", "40", "--out", out, "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := dotprops.ReadDotpropsFile(context.Background(), out, dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := synth.Generate(40, 3)
	if len(got) != len(want) {
		t.Fatalf("read %d neurons, want 40", len(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !slices.Equal(g.Points, w.Points) || !slices.Equal(g.Vectors, w.Vectors) || !slices.Equal(g.Alpha, w.Alpha) {
			t.Fatalf("neuron %d (%s) differs from synth.Generate(40, 3) after the round trip", i, w.ID)
		}
	}
	matches, _ := filepath.Glob(out + "*")
	if len(matches) != 1 {
		t.Errorf("files left beside the output: %v", matches)
	}
}

func TestSynthSummaryAndDefaultSeed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "n.parquet")
	var stderr bytes.Buffer
	if err := runSynth(context.Background(), []string{"--n=12", "--out=" + out}, &stderr); err != nil {
		t.Fatal(err)
	}
	line := stderr.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "12 neurons") || !strings.Contains(line, "types") || !strings.Contains(line, "(seed 1)") {
		t.Errorf("summary %q", line)
	}
	got, err := dotprops.ReadDotpropsFile(context.Background(), out, dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := synth.Generate(12, 1); len(got) != 12 || !slices.Equal(got[5].Points, want[5].Points) {
		t.Errorf("default seed is not 1")
	}
}

func TestSynthFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--out", filepath.Join(dir, "a.parquet")},              // --n missing
		{"--n", "0", "--out", filepath.Join(dir, "b.parquet")},  // --n not > 0
		{"--n", "-3", "--out", filepath.Join(dir, "c.parquet")}, // negative
		{"--n", "5"}, // --out missing
		{"--n", "5", "--out", filepath.Join(dir, "d.parquet"), "x"}, // stray argument
		{"--n", "5", "--out", filepath.Join(dir, "e"), "--bogus"},   // unknown flag
	} {
		var stderr bytes.Buffer
		if err := runSynth(context.Background(), args, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left files: %v", entries)
	}
	var stderr bytes.Buffer
	if err := runSynth(context.Background(), []string{"-h"}, &stderr); err != nil || !strings.Contains(stderr.String(), "--n N") {
		t.Errorf("-h: err %v, usage %q", err, stderr.String())
	}
}

// TestSynthStreamsSameBytes: the streamed file is what WriteDotpropsParquet
// writes for the collected brain, and the summary gives its size.
func TestSynthStreamsSameBytes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.parquet")
	var stderr bytes.Buffer
	if err := runSynth(context.Background(), []string{"--n", "60", "--seed", "4", "--out", out}, &stderr); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := dotprops.WriteDotpropsParquet(&want, synth.Generate(60, 4)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("streamed file (%d bytes) differs from WriteDotpropsParquet's (%d bytes)", len(got), want.Len())
	}
	if mb := fmt.Sprintf("(%.1f MB)", float64(len(got))/1e6); !strings.Contains(stderr.String(), mb) {
		t.Errorf("summary %q does not give the size %s", stderr.String(), mb)
	}
}

// TestSynthUnwritableLeavesNothing: an output that cannot be created (its
// "directory" is a file) is one error naming it, and nothing is left.
func TestSynthUnwritableLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(blocker, "s.parquet")
	err := runSynth(context.Background(), []string{"--n", "3", "--out", out}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Fatalf("error %v, want one naming %s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed run left files: %v", entries)
	}
}
