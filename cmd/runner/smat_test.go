package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatcsv"
	"github.com/nblast-go/nblast/zarr"
)

// goldenGroupsCSV writes the golden set's types (the name in
// testdata/golden_synthetic.meta.csv up to the first '_', as the reference
// README defines them) as a --matches file: long form (neuron,group) or
// one group per line. It returns the path and the types of >= 2 neurons'
// first members plus every singleton: the first neuron of every type.
func goldenGroupsCSV(t *testing.T, dir string, long bool) (path string, firsts []string) {
	t.Helper()
	rows := reference.ReadCSV(t, "../../testdata/golden_synthetic.meta.csv")
	var order []string
	members := map[string][]string{}
	for _, r := range rows[1:] {
		ty, _, _ := strings.Cut(r[1], "_")
		if members[ty] == nil {
			order = append(order, ty)
			firsts = append(firsts, r[0])
		}
		members[ty] = append(members[ty], r[0])
	}
	var b strings.Builder
	if long {
		b.WriteString("neuron,group\n")
		for _, r := range rows[1:] {
			ty, _, _ := strings.Cut(r[1], "_")
			fmt.Fprintf(&b, "%s,%s\n", r[0], ty)
		}
	} else {
		b.WriteString("# one type per line\n")
		for _, ty := range order {
			b.WriteString(strings.Join(members[ty], ", ") + "\n")
		}
	}
	path = filepath.Join(dir, fmt.Sprintf("groups_long_%v.csv", long))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, firsts
}

// runSmatBin runs the runner binary's smat command; it fails the test on
// a non-zero exit and returns the output.
func runSmatBin(t *testing.T, args ...string) string {
	t.Helper()
	code, out := runCase(t, binary(t, "."), append([]string{"smat"}, args...))
	if code != 0 {
		t.Fatalf("runner smat %s: exit %d\n%s", strings.Join(args, " "), code, tail([]byte(out), 3000))
	}
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSmatCommandGolden runs `runner smat` on the golden set with the
// README's pairs (matches from the types, non-matches all ordered pairs of
// the first neuron of every type, given by --pairs): the README's totals;
// navis' matrices (smat_build/, when present) to 1e-12 with and without
// alpha; the same file from --beam; then a scoring run with --smat on it
// gives the scores of the kernel with that matrix.
func TestSmatCommandGolden(t *testing.T) {
	dir := t.TempDir()
	in := goldenInput(t)
	groups, firsts := goldenGroupsCSV(t, dir, true)
	// The non-matching pairs of the README as a --pairs file (query,target).
	var pb strings.Builder
	pb.WriteString("query,target\n")
	for _, q := range firsts {
		for _, tg := range firsts {
			if q != tg {
				fmt.Fprintf(&pb, "%s,%s\n", q, tg)
			}
		}
	}
	pairs := filepath.Join(dir, "nonmatch.csv")
	os.WriteFile(pairs, []byte(pb.String()), 0o644)

	for _, tc := range []struct {
		name  string
		alpha bool
		navis string
	}{
		{"plain", false, "smat_build/golden.smat.csv"},
		{"alpha", true, "smat_build/golden.smat_alpha.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".csv")
			base := []string{"--in", in, "--matches", groups, "--pairs", pairs, fmt.Sprintf("--use_alpha=%v", tc.alpha)}
			msg := runSmatBin(t, append(slices.Clone(base), "--out", out)...)
			if !strings.Contains(msg, "20 matching pairs (--matches, 25120 points), 90 non-matching pairs (--pairs, 70182 points)") {
				t.Errorf("summary does not give the README's pairs and totals (ΣM = 25,120, ΣN = 70,182):\n%s", msg)
			}
			got, err := smatcsv.Load(context.Background(), out)
			if err != nil {
				t.Fatalf("the written matrix does not read back: %v", err)
			}
			beamOut := filepath.Join(dir, tc.name+"_beam.csv")
			runSmatBin(t, append(slices.Clone(base), "--out", beamOut, "--beam")...)
			if !bytes.Equal(readFile(t, out), readFile(t, beamOut)) {
				t.Errorf("--beam wrote another matrix than the local build")
			}
			checkScoresWith(t, in, out, got)

			t.Run("navis", func(t *testing.T) {
				want, err := smatcsv.Load(context.Background(), reference.File(t, tc.navis))
				if err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i, c := range got.Cells {
					rel := math.Abs(c-want.Cells[i]) / math.Abs(want.Cells[i])
					worst = max(worst, rel)
					if !(rel <= 1e-12) {
						t.Errorf("cell %d: %v, navis %v", i, c, want.Cells[i])
					}
				}
				t.Logf("largest relative difference from navis' %s: %.3g", tc.navis, worst)
			})
		})
	}
}

// checkScoresWith runs a scoring run (raw forward scores, float64) on in
// with --smat smat and compares every score with the kernel's under m;
// the matrix must change the scores (it differs from FCWB).
func checkScoresWith(t *testing.T, in, smat string, m *scoring.Matrix) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "scores")
	code, msg := runCase(t, binary(t, "."), []string{"--queries", in, "--out", out, "--smat", smat, "--normalized=false", "--dtype", "float64"})
	if code != 0 {
		t.Fatalf("scoring run with --smat %s: exit %d\n%s", smat, code, tail([]byte(msg), 3000))
	}
	ctx := context.Background()
	z, err := zarr.Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := z.Read(ctx, 0, z.Shape[0], 0, z.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	dps, err := dotprops.ReadDotpropsFile(ctx, in, dotprops.ReadOptions{IgnoreAlpha: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		ns[i], _ = scoring.NewNeuron(d)
	}
	mine, _ := scoring.NewScorer(scoring.Options{Matrix: m})
	fcwb, _ := scoring.NewScorer(scoring.Options{})
	n := len(ns)
	if z.Shape != [2]int{n, n} {
		t.Fatalf("scores shape %v, want %d × %d", z.Shape, n, n)
	}
	// Rows and columns in the output's id order.
	qs, err := results.AttrIDs(z.Attrs["queries"], out, "queries")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[scoring.ID]*scoring.Neuron{}
	for _, nr := range ns {
		byID[nr.ID] = nr
	}
	for i, id := range qs {
		if ns[i] = byID[id]; ns[i] == nil {
			t.Fatalf("output row %d is neuron %s, not in %s", i, id, in)
		}
	}
	if ts, _ := results.AttrIDs(z.Attrs["targets"], out, "targets"); !slices.Equal(ts, qs) {
		t.Fatalf("targets %v differ from queries %v", ts, qs)
	}
	differ := 0
	for i := range n {
		for j := range n {
			if i == j {
				continue // all-by-all: the diagonal is the self-hit
			}
			w, _ := mine.Pair(ns[i], ns[j])
			if g := vals[i*n+j]; math.Abs(g-w) > 1e-9*math.Abs(w) {
				t.Fatalf("score (%d,%d) with --smat %s = %v, kernel with the built matrix %v", i, j, smat, g, w)
			}
			if f, _ := fcwb.Pair(ns[i], ns[j]); f != w {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Errorf("no score differs from FCWB's: was --smat used?")
	}
}

// synthGroups writes a synthetic brain of n neurons as Parquet and its
// cell types as a --matches file (long form), returning both paths.
func synthGroups(t *testing.T, dir string, n int) (in, groups string) {
	t.Helper()
	brain, err := synth.GenerateOptions(synth.DefaultOptions(n, 4))
	if err != nil {
		t.Fatal(err)
	}
	in = filepath.Join(dir, "brain.parquet")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := dotprops.WriteDotpropsParquet(f, brain.Neurons); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var b strings.Builder
	b.WriteString("neuron_id,type\n")
	for i, d := range brain.Neurons {
		fmt.Fprintf(&b, "%s,type%d\n", d.ID, brain.Type[i])
	}
	groups = filepath.Join(dir, "types.csv")
	os.WriteFile(groups, []byte(b.String()), 0o644)
	return in, groups
}

// TestSmatCommandRandomDraw: with the random draw, the matrix depends on
// the seed only; the one-group-per-line form of --matches gives the same
// file as neuron,group; --write_pairs written back through --pairs gives
// the same file; --beam the same file; the non-matching pairs drawn hold
// at least the matching pairs' query points and are across types.
func TestSmatCommandRandomDraw(t *testing.T) {
	dir := t.TempDir()
	in, groups := synthGroups(t, dir, 40)
	ctx := context.Background()
	run := func(name string, args ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, name+".csv")
		var stderr bytes.Buffer
		if err := runSmat(ctx, append([]string{"--in", in, "--out", out}, args...), &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		return readFile(t, out)
	}
	used := filepath.Join(dir, "used.csv")
	a := run("a", "--matches", groups, "--write_pairs", used)
	if b := run("b", "--matches", groups, "--workers", "1"); !bytes.Equal(a, b) {
		t.Errorf("another run (1 worker) with the same seed wrote another matrix")
	}
	if c := run("c", "--matches", groups, "--seed", "5"); bytes.Equal(a, c) {
		t.Errorf("seeds 1991 and 5 wrote the same matrix")
	}
	if d := run("d", "--pairs", used); !bytes.Equal(a, d) {
		t.Errorf("--pairs of --write_pairs' file wrote another matrix")
	}
	// One group per line, from the long form.
	rows := strings.Split(strings.TrimSpace(string(readFile(t, groups))), "\n")[1:]
	byType := map[string][]string{}
	var order []string
	for _, r := range rows {
		id, ty, _ := strings.Cut(r, ",")
		if byType[ty] == nil {
			order = append(order, ty)
		}
		byType[ty] = append(byType[ty], id)
	}
	var lines []string
	for _, ty := range order {
		lines = append(lines, strings.Join(byType[ty], ","))
	}
	listForm := filepath.Join(dir, "list.csv")
	os.WriteFile(listForm, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	if e := run("e", "--matches", listForm); !bytes.Equal(a, e) {
		t.Errorf("--matches with one group per line wrote another matrix than neuron,type")
	}
	if !testing.Short() {
		if f := run("f", "--matches", groups, "--beam"); !bytes.Equal(a, f) {
			t.Errorf("--beam wrote another matrix than the local build")
		}
	}
	// The pairs used.
	typeOf := map[string]string{}
	for _, r := range rows {
		id, ty, _ := strings.Cut(r, ",")
		typeOf[id] = ty
	}
	dps, _ := dotprops.ReadDotpropsFile(ctx, in, dotprops.ReadOptions{IgnoreAlpha: true})
	pts := map[string]int{}
	for _, d := range dps {
		pts[d.ID.String()] = d.Len()
	}
	var mPts, nPts int
	seen := map[string]bool{}
	for _, r := range strings.Split(strings.TrimSpace(string(readFile(t, used))), "\n")[1:] {
		f := strings.Split(r, ",")
		if seen[r] || f[1] == f[2] {
			t.Fatalf("pair %s repeated or a self pair", r)
		}
		seen[r] = true
		same := typeOf[f[1]] == typeOf[f[2]]
		if (f[0] == "match") != same {
			t.Fatalf("pair %s: kind does not agree with the types (%s, %s)", r, typeOf[f[1]], typeOf[f[2]])
		}
		if f[0] == "match" {
			mPts += pts[f[1]]
		} else {
			nPts += pts[f[1]]
		}
	}
	if nPts < mPts {
		t.Errorf("non-matching pairs hold %d query points, fewer than the matching pairs' %d", nPts, mPts)
	}
	m, err := smatcsv.Read(bytes.NewReader(a), "a")
	if err != nil {
		t.Fatal(err)
	}
	checkScoresWith(t, in, filepath.Join(dir, "a.csv"), m)
}

// TestSmatCommandErrors: what a user gets wrong is refused with a first
// line naming the flag, the file, the line and the problem, and nothing
// is written.
func TestSmatCommandErrors(t *testing.T) {
	dir := t.TempDir()
	in, groups := synthGroups(t, dir, 12)
	dps, _ := dotprops.ReadDotpropsFile(context.Background(), in, dotprops.ReadOptions{})
	id := func(i int) string { return dps[i].ID.String() }
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	noAlpha := filepath.Join(dir, "noalpha.parquet")
	{
		plain := make([]*scoring.Dotprops, len(dps))
		for i, d := range dps {
			c := *d
			c.Alpha = nil
			plain[i] = &c
		}
		f, _ := os.Create(noAlpha)
		dotprops.WriteDotpropsParquet(f, plain)
		f.Close()
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the first line
	}{
		{"no --in", []string{"--matches", groups}, []string{"--in is required"}},
		{"no --matches", []string{"--in", in}, []string{"--matches is required"}},
		{"missing input", []string{"--in", filepath.Join(dir, "nope.parquet"), "--matches", groups}, []string{"--in", "no such file"}},
		{"missing matches", []string{"--in", in, "--matches", filepath.Join(dir, "nope.csv")}, []string{"--matches", "nope.csv"}},
		{"unknown neuron", []string{"--in", in, "--matches", file("u.csv", "neuron,group\n"+id(0)+",a\n"+id(1)+",a\n42,b\n")},
			[]string{"u.csv line 4", `neuron "42" is not in --in (12 neurons)`}},
		{"unknown neuron, list form", []string{"--in", in, "--matches", file("ul.csv", id(0)+","+id(1)+"\n"+id(2)+",x7\n")},
			[]string{"ul.csv line 2", `neuron "x7" is not in --in`}},
		{"header not understood", []string{"--in", in, "--matches", file("h.csv", "body,cell_type\n"+id(0)+",a\n")},
			[]string{"h.csv line 1", `neuron "body" is not in --in`, "needs the header neuron,group"}},
		{"neuron twice", []string{"--in", in, "--matches", file("d.csv", id(0)+","+id(1)+"\n"+id(2)+","+id(0)+"\n")},
			[]string{"d.csv line 2", "neuron " + id(0) + " is already in a group (line 1)"}},
		{"only singletons", []string{"--in", in, "--matches", file("s.csv", "neuron,group\n"+id(0)+",a\n"+id(1)+",b\n")},
			[]string{"s.csv", "no group has two or more neurons", "2 groups, all of one neuron"}},
		{"one group of all", []string{"--in", in, "--matches", file("all.csv", strings.Join(idsOf(dps), ",")+"\n")},
			[]string{"all.csv", "every neuron of --in is in one group"}},
		{"empty group label", []string{"--in", in, "--matches", file("e.csv", "neuron,group\n"+id(0)+",\n")}, []string{"e.csv line 2", "empty group"}},
		{"bad pairs header", []string{"--in", in, "--pairs", file("p1.csv", "a,b,c\n")}, []string{"p1.csv line 1", "want kind,query,target"}},
		{"bad kind", []string{"--in", in, "--pairs", file("p2.csv", "kind,query,target\nmatch,"+id(0)+","+id(1)+"\nsame,"+id(1)+","+id(0)+"\n")},
			[]string{"p2.csv line 3", `kind "same"`}},
		{"self pair", []string{"--in", in, "--pairs", file("p3.csv", "kind,query,target\nmatch,"+id(0)+","+id(0)+"\n")}, []string{"p3.csv line 2", "not paired with itself"}},
		{"pair twice", []string{"--in", in, "--pairs", file("p4.csv", "kind,query,target\nnonmatch,"+id(0)+","+id(1)+"\nnonmatch,"+id(0)+","+id(1)+"\n")},
			[]string{"p4.csv line 3", "already on line 2"}},
		{"pairs unknown neuron", []string{"--in", in, "--pairs", file("p5.csv", "query,target\n"+id(0)+",99\n")}, []string{"p5.csv line 2", `neuron "99" is not in --in`}},
		{"match rows and --matches", []string{"--in", in, "--matches", groups, "--pairs", file("p6.csv", "kind,query,target\nmatch,"+id(0)+","+id(1)+"\n")},
			[]string{"p6.csv has match rows and --matches was given"}},
		{"match rows only", []string{"--in", in, "--pairs", file("p7.csv", "kind,query,target\nmatch,"+id(0)+","+id(1)+"\n")}, []string{"p7.csv has no nonmatch rows"}},
		{"bad edges", []string{"--in", in, "--matches", groups, "--dist_edges", "0,2,1"}, []string{"--dist_edges", "edge 3 (1) is not above edge 2 (2)"}},
		{"edge not a number", []string{"--in", in, "--matches", groups, "--dot_edges", "0,a,1"}, []string{"--dot_edges", `edge 2 "a" is not a number`}},
		{"one edge", []string{"--in", in, "--matches", groups, "--dot_edges", "0"}, []string{"--dot_edges", "at least 2 edges"}},
		{"units and scale", []string{"--in", in, "--matches", groups, "--units", "nm", "--scale", "0.001"}, []string{"--units", "--scale", "give one"}},
		{"alpha missing", []string{"--in", noAlpha, "--matches", groups, "--use_alpha"}, []string{"noalpha.parquet", "has no alpha values", "--use_alpha"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "_")+".csv")
			var stderr bytes.Buffer
			err := runSmat(context.Background(), append(tc.args, "--out", out), &stderr)
			if err == nil {
				t.Fatalf("no error; stderr:\n%s", stderr.String())
			}
			first, _, _ := strings.Cut(err.Error(), "\n")
			for _, w := range tc.want {
				if !strings.Contains(first, w) {
					t.Errorf("first line %q does not say %q", first, w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
	// A remote runner needs gs:// paths (checked before anything runs).
	t.Run("remote runner, local paths", func(t *testing.T) {
		defer flag.Set("runner", flag.Lookup("runner").Value.String())
		var stderr bytes.Buffer
		err := runSmat(context.Background(), []string{"--in", in, "--matches", groups, "--out", filepath.Join(dir, "r.csv"), "--beam", "--runner", "dataflow"}, &stderr)
		if err == nil || !strings.Contains(err.Error(), "is a local path, which its workers cannot reach") {
			t.Errorf("error %v", err)
		}
	})
	// Through the binary: exit 1 and the message on stderr.
	if !testing.Short() {
		code, msg := runCase(t, binary(t, "."), []string{"smat", "--in", in, "--out", filepath.Join(dir, "x.csv")})
		if code != 1 || !strings.Contains(msg, "runner smat: --matches is required") {
			t.Errorf("exit %d, stderr %q", code, msg)
		}
	}
}

func idsOf(dps []*scoring.Dotprops) []string {
	var out []string
	for _, d := range dps {
		out = append(out, d.ID.String())
	}
	return out
}

// TestSmatHelp: --help lists the command line and its own flags.
func TestSmatHelp(t *testing.T) {
	var stderr bytes.Buffer
	if err := runSmat(context.Background(), []string{"--help"}, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"usage: runner smat --in", "-matches", "-pairs", "-dist_edges", "-seed", "-beam", "(default 1991)"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("help does not mention %q", w)
		}
	}
	if slices.Contains(strings.Fields(stderr.String()), "-job_name") {
		t.Errorf("help lists Beam's flags")
	}
}

// TestSynthTypesThenSmat: `runner synth --types` writes the cell types as
// a --matches file that `runner smat` takes; the matching pairs are those
// of synth's types.
func TestSynthTypesThenSmat(t *testing.T) {
	dir := t.TempDir()
	in, types, out := filepath.Join(dir, "n.parquet"), filepath.Join(dir, "types.csv"), filepath.Join(dir, "smat.csv")
	ctx := context.Background()
	var stderr bytes.Buffer
	if err := runSynth(ctx, []string{"--n", "30", "--seed", "2", "--out", in, "--types", types}, &stderr); err != nil {
		t.Fatal(err)
	}
	brain, _ := synth.GenerateOptions(synth.DefaultOptions(30, 2))
	var b strings.Builder
	b.WriteString("neuron,group\n")
	size := map[int]int{}
	for i, d := range brain.Neurons {
		fmt.Fprintf(&b, "%s,type%d\n", d.ID, brain.Type[i])
		size[brain.Type[i]]++
	}
	if got := string(readFile(t, types)); got != b.String() {
		t.Fatalf("--types wrote\n%s\nwant\n%s", got, b.String())
	}
	pairs := 0
	for _, s := range size {
		pairs += s * (s - 1)
	}
	stderr.Reset()
	if err := runSmat(ctx, []string{"--in", in, "--matches", types, "--out", out}, &stderr); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("; %d matching pairs (--matches,", pairs); !strings.Contains(stderr.String(), want) {
		t.Errorf("summary %q does not say %q", stderr.String(), want)
	}
}
