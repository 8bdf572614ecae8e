package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// inspectID is the golden neuron A_jitter.
const inspectID = "720575940628567741"

func runInspectOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runInspect(context.Background(), args, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("inspect stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

// parsedHit is one line of a printed hit list.
type parsedHit struct{ id, score, name string }

var (
	titleRe = regexp.MustCompile(`^  top \d+ targets of (\S+)(?: \((.*)\))? in (?:the )?(\S+?)(?: output)?(?: \(.*\))?:$`)
	hitRe   = regexp.MustCompile(`^  +\d+  (\S+) +(-?\d+\.\d+)(?:  (.*))?$`)
)

// hitLists parses inspect's hit lists by output ("scores",
// "scores_reverse", "sparse", "top-k"), and the queried neuron's name.
func hitLists(t *testing.T, text string) (lists map[string][]parsedHit, queryName map[string]string) {
	t.Helper()
	lists, queryName = map[string][]parsedHit{}, map[string]string{}
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		if m := titleRe.FindStringSubmatch(l); m != nil {
			cur = m[3]
			lists[cur] = nil
			queryName[cur] = m[2]
			continue
		}
		if m := hitRe.FindStringSubmatch(l); m != nil && cur != "" {
			lists[cur] = append(lists[cur], parsedHit{m[1], m[2], m[3]})
			continue
		}
		cur = ""
	}
	return lists, queryName
}

// denseBest is the row of id in the dense fixture's OUT/scores, sorted
// here (higher score first, equal scores by smaller target id), as
// formatted scores, and its best target.
func denseBest(t *testing.T, id string) (best string, scores []string) {
	t.Helper()
	ctx := context.Background()
	out := fixture(t, "dense")
	z, err := zarr.Open(ctx, out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := results.AttrIDs(z.Attrs["queries"], out, "queries")
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := results.AttrIDs(z.Attrs["targets"], out, "targets")
	row := -1
	for i, q := range qs {
		if q.String() == id {
			row = i
		}
	}
	if row < 0 {
		t.Fatalf("%s is not a query of the dense fixture", id)
	}
	vals, err := z.Read(ctx, row, row+1, 0, z.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	type cell struct {
		target scoring.ID
		v      float64
	}
	cells := make([]cell, len(vals))
	bestAt := 0
	for j, v := range vals {
		cells[j] = cell{ts[j], v}
		if v > vals[bestAt] || v == vals[bestAt] && ts[j].Int < ts[bestAt].Int {
			bestAt = j
		}
	}
	sort.Slice(cells, func(a, b int) bool { return cells[a].v > cells[b].v })
	for _, c := range cells {
		scores = append(scores, fmt.Sprintf("%.6f", c.v))
	}
	return ts[bestAt].String(), scores
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l) {
			t.Errorf("inspect output lacks %q:\n%s", l, text)
		}
	}
}

// checkHits compares a printed hit list with the dense row: the top hit's
// target and score, and the scores in order. Sparse and top-k outputs
// hold only the scores >= their threshold (0 here): k is cut to those.
func checkHits(t *testing.T, kind string, hits []parsedHit, k int) {
	t.Helper()
	best, scores := denseBest(t, inspectID)
	if kind == "sparse" || kind == "top-k" {
		n := 0
		for _, s := range scores {
			if !strings.HasPrefix(s, "-") {
				n++
			}
		}
		k = min(k, n)
	}
	if len(hits) != k || k == 0 {
		t.Fatalf("%s: %d hits printed, want %d", kind, len(hits), k)
	}
	if hits[0].id != best || hits[0].score != scores[0] {
		t.Errorf("%s: top hit %s %s, the dense row's max is %s %s", kind, hits[0].id, hits[0].score, best, scores[0])
	}
	for i, h := range hits {
		if h.score != scores[i] {
			t.Errorf("%s: hit %d scores %s, the dense row's %d-th best is %s", kind, i+1, h.score, i+1, scores[i])
		}
	}
}

func TestInspectDense(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	out := fixture(t, "dense")
	text, err := runInspectOut(t, "--out", out, "--id", inspectID, "--k", "5")
	if err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(text, "\n", 2)[0]; first != out+": dense output (Zarr scores, scores_reverse)" {
		t.Errorf("first line %q", first)
	}
	wantLines(t, text,
		filepath.Join(out, "scores")+": dense scores (query→target), 17 queries × 17 targets, float32",
		filepath.Join(out, "scores_reverse")+": dense scores (target→query)",
		"  chunk shape 5 rows × 5 cols; chunk grid 4 × 4 = 16 chunks, 16 written; complete: true",
		"    normalized: true", "    max_dist: none", "    block_size: 5", "    scores: both")
	lists, _ := hitLists(t, text)
	checkHits(t, "scores", lists["scores"], 5)
	if len(lists["scores_reverse"]) != 5 {
		t.Errorf("scores_reverse: %d hits", len(lists["scores_reverse"]))
	}
}

func TestInspectSparseAndTopK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	ctx := context.Background()
	out := fixture(t, "sparse")
	text, err := runInspectOut(t, "--out", out, "--id", inspectID, "--k", "4")
	if err != nil {
		t.Fatal(err)
	}
	topk := filepath.Join(out, "topk")
	if first := strings.SplitN(text, "\n", 2)[0]; first != fmt.Sprintf("%s: sparse output (Parquet parts) and top-k output (%s)", out, topk) {
		t.Errorf("first line %q", first)
	}
	rows, err := sinks.ReadSparse(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := sinks.ListParts(ctx, out, sinks.SparsePartPattern)
	trows, _ := sinks.ReadTopK(ctx, topk)
	tparts, _ := sinks.ListParts(ctx, topk, sinks.TopKPartPattern)
	wantLines(t, text,
		fmt.Sprintf("%s: sparse output, %d part files, %d rows (from _manifest.json); complete: true", filepath.Join(out, sinks.SparsePartPattern), len(parts), len(rows)),
		fmt.Sprintf("%s: top-k output, %d part files, %d rows (from _manifest.json); complete: true", filepath.Join(topk, sinks.TopKPartPattern), len(tparts), len(trows)),
		"  parameters (from "+filepath.Join(out, sinks.ManifestName)+"):", "    sink: sparse", "    topk: 5")
	lists, _ := hitLists(t, text)
	checkHits(t, "sparse", lists["sparse"], 4)
	checkHits(t, "top-k", lists["top-k"], 4)
	if strings.Contains(text, "dense scores") {
		t.Errorf("a sparse output reported as dense:\n%s", text)
	}
}

func TestInspectTopKOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	ctx := context.Background()
	out := fixture(t, "topk")
	text, err := runInspectOut(t, "--out", out, "--id", inspectID)
	if err != nil {
		t.Fatal(err)
	}
	topk := filepath.Join(out, "topk")
	if first := strings.SplitN(text, "\n", 2)[0]; first != fmt.Sprintf("%s: top-k output (%s)", out, topk) {
		t.Errorf("first line %q", first)
	}
	trows, _ := sinks.ReadTopK(ctx, topk)
	if _, err := os.Stat(filepath.Join(topk, sinks.ManifestName)); err == nil {
		wantLines(t, text, fmt.Sprintf("%d rows (from _manifest.json); complete: true", len(trows)))
	} else {
		wantLines(t, text, fmt.Sprintf("%d rows (sum of the part footers)", len(trows)), "incomplete: no _manifest.json")
	}
	lists, _ := hitLists(t, text)
	checkHits(t, "top-k", lists["top-k"], 3) // --topk 3: k = 10 prints the 3
}

// TestInspectIncomplete: a sparse output whose manifest is gone is
// reported incomplete, with the rows of the part footers and the run
// marker's parameters; a run that wrote nothing yet is reported too.
func TestInspectIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	ctx := context.Background()
	src := fixture(t, "sparse")
	out := copyOutput(t, src)
	if err := os.Remove(filepath.Join(out, sinks.ManifestName)); err != nil {
		t.Fatal(err)
	}
	rows, _ := sinks.ReadSparse(ctx, out)
	text, err := runInspectOut(t, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, text,
		fmt.Sprintf("%d rows (sum of the part footers)\n  %s: the sparse output is incomplete (no _manifest.json): its run did not finish (or is still running); resume it with the same command and --exists resume", len(rows), out),
		"  parameters (from "+filepath.Join(out, "_nblast_run.json")+"):", "    sink: sparse")

	// Only the run marker: the run stopped before its first part.
	only := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(only, 0o755)
	b, _ := os.ReadFile(filepath.Join(src, "_nblast_run.json"))
	os.WriteFile(filepath.Join(only, "_nblast_run.json"), b, 0o644)
	text, err = runInspectOut(t, "--out", only)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, text, "sparse output, 0 part files, 0 rows (sum of the part footers)", "is incomplete (no _manifest.json)")

	// Nothing: an error saying what was looked for.
	_, err = runInspectOut(t, "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no NBLAST output found: looked for dense Zarr arrays") || !strings.Contains(err.Error(), sinks.SparsePartPattern) {
		t.Errorf("empty OUT: %v", err)
	}
}

func TestInspectNames(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	meta := "../../testdata/golden_synthetic.meta.csv"
	names, err := results.ReadNames(context.Background(), meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 17 || names["720575940693177896"] != "A" {
		t.Fatalf("readNames: %d names, A = %q", len(names), names["720575940693177896"])
	}
	for _, fx := range []string{"dense", "sparse"} {
		text, err := runInspectOut(t, "--out", fixture(t, fx), "--id", inspectID, "--names", meta)
		if err != nil {
			t.Fatal(err)
		}
		lists, qname := hitLists(t, text)
		if len(lists) < 2 {
			t.Fatalf("%s: hit lists %v in:\n%s", fx, lists, text)
		}
		for kind, hits := range lists {
			if qname[kind] != "A_jitter" {
				t.Errorf("%s %s: queried neuron named %q, want A_jitter", fx, kind, qname[kind])
			}
			for _, h := range hits {
				if h.name == "" || h.name != names[h.id] {
					t.Errorf("%s %s: hit %s named %q, want %q", fx, kind, h.id, h.name, names[h.id])
				}
			}
		}
	}
	// Bad tables name the file and the missing column.
	dir := t.TempDir()
	for content, says := range map[string]string{
		"neuron_id,label\n1,x\n": "no name column",
		"skid,name\n1,x\n":       "no id column (neuron_id, id or neuron)",
		"":                       "no CSV header",
	} {
		p := filepath.Join(dir, "meta.csv")
		os.WriteFile(p, []byte(content), 0o644)
		_, err := runInspectOut(t, "--out", fixture(t, "sparse"), "--names", p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), says) {
			t.Errorf("names %q: err %v, want it to name %s and say %q", content, err, p, says)
		}
	}
	// "id" and "neuron" columns, a BOM, an unknown id ("?").
	p := filepath.Join(dir, "ids.csv")
	os.WriteFile(p, []byte("\ufeffname,neuron\nA_jitter,"+inspectID+"\n"), 0o644)
	text, err := runInspectOut(t, "--out", fixture(t, "sparse"), "--id", inspectID, "--names", p)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, text, "of "+inspectID+" (A_jitter) in the sparse output", "  A_jitter\n", "  ?\n")
}

func TestInspectUnknownID(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs scoring jobs")
	}
	for fx, says := range map[string]string{
		"dense":  "neuron 42 is not among the 17 queries of " + filepath.Join(fixture(t, "dense"), "scores"),
		"sparse": "neuron 42 is not among the 17 queries with rows in " + filepath.Join(fixture(t, "sparse"), sinks.SparsePartPattern),
		"topk":   "neuron 42 is not among the 17 queries with rows in " + filepath.Join(fixture(t, "topk"), "topk", sinks.TopKPartPattern),
	} {
		text, err := runInspectOut(t, "--out", fixture(t, fx), "--id", "42")
		if err == nil || !strings.Contains(err.Error(), "neuron 42") {
			t.Errorf("%s: err %v", fx, err)
		}
		wantLines(t, text, says)
	}
	if _, err := runInspectOut(t); err == nil || !strings.Contains(err.Error(), "--out is required") {
		t.Errorf("no --out: %v", err)
	}
}
