package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/transforms"
)

func TestSynthWritesParquet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "neurons.parquet")
	if err := synthMain([]string{"--n", "40", "--out", out, "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := transforms.ReadDotpropsFile(context.Background(), out, transforms.ReadOptions{})
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
	got, err := transforms.ReadDotpropsFile(context.Background(), out, transforms.ReadOptions{})
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
