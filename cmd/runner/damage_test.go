package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/sinks"
)

// damageKinds are the ways an output is left unfinished or damaged, each
// applied to a copy of a real output: which fixture, which output of it
// (--what), what to do to the copy, and the verdict every reader must give
// (a phrase of its first line).
var damageKinds = []struct {
	name, fixture, what string
	damage              func(t *testing.T, out string)
	verdict             string
}{
	{"killed in staging (the run marker, no output)", "sparse", "sparse", keepOnly(sinks.RunMarkerName), "is incomplete"},
	{"sparse: killed mid-scoring (some parts, no manifest)", "sparse", "sparse", all(removeFile(sinks.ManifestName), removePart("", sinks.SparsePartPattern, 1)), "is incomplete"},
	{"sparse: killed after the last part (no manifest)", "sparse", "sparse", removeFile(sinks.ManifestName), "is incomplete"},
	{"sparse: lost part", "sparse", "sparse", removePart("", sinks.SparsePartPattern, 1), "is damaged"},
	{"sparse: corrupted part", "sparse", "sparse", corruptPart("", sinks.SparsePartPattern), "damaged after it was written"},
	{"top-k: lost part", "topk", "topk", removePart(sinks.TopKDir, sinks.TopKPartPattern, 0), "is damaged"},
	{"top-k: corrupted part", "topk", "topk", corruptPart(sinks.TopKDir, sinks.TopKPartPattern), "damaged after it was written"},
	{"dense: killed mid-scoring (some chunks, not marked complete)", "dense", sinks.ScoresArray, all(markIncomplete, removeChunk("1.2")), "is incomplete"},
	{"dense: killed after the last chunk (not marked complete)", "dense", sinks.ScoresArray, markIncomplete, "is incomplete"},
	{"dense: lost chunk", "dense", sinks.ScoresArray, removeChunk("1.2"), "is damaged"},
	{"dense: corrupted chunk", "dense", sinks.ScoresArray, corruptChunk("1.2"), "damaged after it was written"},
	// A run killed after its output was complete leaves its owner lock:
	// the output is complete, every reader reads it ("" verdict).
	{"stale marker (a killed run's owner lock on a complete output)", "sparse", "sparse", staleOwner, ""},
}

// damageReaders are the commands that read an output, each returning the
// first line it prints about it: the error's, or (inspect) its verdict.
var damageReaders = []struct {
	name string
	read func(t *testing.T, out, what string) string
}{
	{"inspect --verify", func(t *testing.T, out, what string) string {
		var stdout, stderr bytes.Buffer
		err := runInspect(context.Background(), []string{"--out", out, "--verify"}, &stdout, &stderr)
		if err != nil {
			return firstLine(err.Error())
		}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(l, "incomplete") || strings.Contains(l, "damaged") {
				return strings.TrimSpace(l)
			}
		}
		return "(no verdict) " + firstLine(stdout.String())
	}},
	{"export", func(t *testing.T, out, what string) string {
		_, _, err := export(t, "--out", out, "--what", what, "--to", filepath.Join(t.TempDir(), "x.csv"))
		return errLine(err)
	}},
	{"matches", func(t *testing.T, out, what string) string {
		var o, e bytes.Buffer
		return errLine(runMatches(context.Background(), []string{"--out", out, "--what", what}, &o, &e))
	}},
	{"report", func(t *testing.T, out, what string) string {
		var o, e bytes.Buffer
		return errLine(runReport(context.Background(), []string{"--out", out, "--what", what, "--to", filepath.Join(t.TempDir(), "r.html")}, &o, &e))
	}},
	{"cluster", func(t *testing.T, out, what string) string {
		source := what
		if what == sinks.ScoresArray {
			source = "dense"
		}
		var e bytes.Buffer
		return errLine(runCluster(context.Background(), []string{"--out", out, "--source", source, "--method", "graph"}, &e))
	}},
}

func errLine(err error) string {
	if err == nil {
		return "(no error)"
	}
	return firstLine(err.Error())
}

// TestDamagedOutputsOneVerdict: for every kind of unfinished or damaged
// output, every reader gives the same verdict in its first line, naming
// the output, and the run's own command with --exists resume repairs it
// (the export then equals the undamaged run's); run with -v for the table
// of first lines.
func TestDamagedOutputsOneVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	var table strings.Builder
	for _, k := range damageKinds {
		src := fixture(t, k.fixture)
		out := copyOutput(t, src)
		k.damage(t, out)
		fmt.Fprintf(&table, "\n%s:\n", k.name)
		for _, r := range damageReaders {
			line := r.read(t, out, k.what)
			fmt.Fprintf(&table, "  %-16s %s\n", r.name, strings.ReplaceAll(line, out, "OUT"))
			switch {
			case k.verdict == "" && !strings.HasPrefix(line, "(no "):
				t.Errorf("%s, %s: first line %q, want no error and no verdict but complete", k.name, r.name, line)
			case k.verdict != "" && (!strings.Contains(line, k.verdict) || !strings.Contains(line, out)):
				t.Errorf("%s, %s: first line %q does not say %q about %s", k.name, r.name, line, k.verdict, out)
			}
		}
		// The same command with --exists resume repairs it: the output
		// is then the run's, every reader content.
		o := fixtureOptions(t, k.fixture, out)
		o.Exists = "resume"
		runQuiet(t, o)
		want, _, err := export(t, "--out", src, "--what", k.what)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := export(t, "--out", out, "--what", k.what)
		line := "(no error); the export equals the run's"
		if err != nil {
			line = firstLine(err.Error())
			t.Errorf("%s, after --exists resume: %s", k.name, line)
		} else if got != want {
			line = "(no error); the export differs from the run's"
			t.Errorf("%s, after --exists resume: the export differs from the run's", k.name)
		}
		fmt.Fprintf(&table, "  %-16s %s\n", "resume, export", line)
	}
	t.Log(table.String())
}

// The damages.

func all(fs ...func(*testing.T, string)) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		for _, f := range fs {
			f(t, out)
		}
	}
}

func keepOnly(name string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		ents, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() != name {
				if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func removeFile(rel string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		if err := os.Remove(filepath.Join(out, rel)); err != nil {
			t.Fatal(err)
		}
	}
}

// parts lists the parts of pattern under out/dir.
func parts(t *testing.T, out, dir, pattern string) []string {
	ps, err := filepath.Glob(filepath.Join(out, dir, pattern))
	if err != nil || len(ps) < 2 {
		t.Fatalf("%s: %d parts (%v)", filepath.Join(out, dir, pattern), len(ps), err)
	}
	return ps
}

func removePart(dir, pattern string, i int) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		if err := os.Remove(parts(t, out, dir, pattern)[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func corruptPart(dir, pattern string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		p := parts(t, out, dir, pattern)[0]
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil { // truncated
			t.Fatal(err)
		}
	}
}

func removeChunk(key string) func(*testing.T, string) {
	return removeFile(filepath.Join(sinks.ScoresArray, key))
}

func corruptChunk(key string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		p := filepath.Join(out, sinks.ScoresArray, key)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b[len(b)/2:] {
			b[len(b)/2+i] ^= 0x5a
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// staleOwner leaves the owner lock of a run that no longer runs (a dead
// process on this host).
func staleOwner(t *testing.T, out string) {
	o := sinks.NewOwner()
	o.Run, o.PID = "killed", 1<<30 // no such process
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, sinks.OwnerName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// markIncomplete sets the scores array's "complete" attribute to false,
// as the run does before its last step.
func markIncomplete(t *testing.T, out string) {
	p := filepath.Join(out, sinks.ScoresArray, ".zattrs")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"complete": true`, `"complete": false`, 1)
	if s == string(b) {
		t.Fatalf("%s: no \"complete\": true", p)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
