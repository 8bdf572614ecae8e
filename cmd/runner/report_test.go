package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nblast-go/nblast/results"
)

// requireChromium returns Debian's chromium, skipping the test without
// it unless NBLAST_REQUIRE_CHROMIUM=1.
func requireChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("NBLAST_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("NBLAST_REQUIRE_CHROMIUM=1 but there is no chromium: %v", err)
		}
		t.Skipf("no chromium (%v): skipping the browser check (apt-get install chromium, or set NBLAST_REQUIRE_CHROMIUM=1 to make this a failure)", err)
	}
	return p
}

// chromium runs headless chromium on page with extra (--dump-dom or
// --screenshot=...) and returns its stdout.
func chromium(t *testing.T, bin, page string, extra ...string) string {
	t.Helper()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1200,1600"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, tail(stderr.Bytes(), 2000))
	}
	return stdout.String()
}

// writeTestClusters writes OUT/clusters as runner cluster does (the
// contract in README): the neurons (leaf i = row i) in the output's query
// order, a chain linkage merging them in the order perm, and three
// clusters along perm of sizes 6, 6 and the rest.
func writeTestClusters(t *testing.T, out string, ids []string, perm []int) (clusterOf []int) {
	t.Helper()
	dir := filepath.Join(out, "clusters")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	clusterOf = make([]int, n)
	for rank, leaf := range perm {
		clusterOf[leaf] = min(rank/6+1, 3)
	}
	var c, l strings.Builder
	c.WriteString("neuron,cluster\n")
	for i, id := range ids {
		fmt.Fprintf(&c, "%s,%d\n", id, clusterOf[i])
	}
	l.WriteString("a,b,distance,size\n")
	fmt.Fprintf(&l, "%d.0,%d.0,0.1,2.0\n", perm[0], perm[1])
	for k := 1; k < n-1; k++ {
		fmt.Fprintf(&l, "%d.0,%d.0,%g,%d.0\n", n+k-1, perm[k+1], 0.1*float64(k+1), k+2)
	}
	for name, body := range map[string]string{
		"clusters.csv": c.String(), "linkage.csv": l.String(),
		"clusters.json": `{"method": "hierarchical", "linkage": "average", "n_clusters": 3}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return clusterOf
}

func runReportT(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var o, e bytes.Buffer
	err := runReport(context.Background(), args, &o, &e)
	return o.String() + e.String(), err
}

var (
	heatmapItem = regexp.MustCompile(`<li>([^<]*)</li>`)
	spanValue   = func(id string) *regexp.Regexp {
		return regexp.MustCompile(`<span id="` + id + `">([^<]*)</span>`)
	}
)

func spanText(t *testing.T, dom, id string) string {
	t.Helper()
	m := spanValue(id).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no <span id=%q> in the page", id)
	}
	return m[1]
}

// The report of a real dense output with clusters, opened in headless
// chromium: the numbers it shows are the output's (neurons, scores,
// clusters, a top match), the heatmap follows the dendrogram's leaves,
// the filter works, nothing is loaded from the network, and the
// screenshot is not blank.
func TestReportInChromium(t *testing.T) {
	bin := requireChromium(t)
	out := copyOutput(t, fixture(t, "dense"))
	q, _, vals := denseMatrix(t, out)
	ids := make([]string, len(q))
	for i, id := range q {
		ids[i] = id.String()
	}
	perm := make([]int, len(ids))
	for i := range perm {
		perm[i] = i * 7 % len(ids)
	}
	writeTestClusters(t, out, ids, perm)
	if msg, err := runReportT(t, "--out", out); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(msg, "report.html") {
		t.Errorf("stdout %q", msg)
	}
	page := filepath.Join(out, "report.html")
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//)`).Find(raw); m != nil {
		t.Errorf("the page loads %s from the network", m)
	}

	dom := chromium(t, bin, "file://"+page, "--dump-dom")
	if got := spanText(t, dom, "n-neurons"); got != "17" {
		t.Errorf("neurons shown: %s, want 17", got)
	}
	if got := spanText(t, dom, "n-scores"); got != strconv.Itoa(len(vals)) {
		t.Errorf("scores shown: %s, want %d", got, len(vals))
	}
	if got := spanText(t, dom, "n-clusters"); got != "3" {
		t.Errorf("clusters shown: %s, want 3", got)
	}
	var order []string
	for _, m := range heatmapItem.FindAllStringSubmatch(dom, -1) {
		order = append(order, m[1])
	}
	for i, leaf := range perm {
		if i >= len(order) || order[i] != ids[leaf] {
			t.Fatalf("heatmap order %v, want the leaves %v (ids %v)", order, perm, ids)
		}
	}
	// The first query's best match, as runner matches gives it.
	rows, _, err := matchesRun(t, "--out", out, "--n", "1", "--ids", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(rows[0], " | ")
	score, _ := strconv.ParseFloat(f[3], 64)
	want := fmt.Sprintf("<tr><td>%s</td><td class=\"num\">1</td><td>%s</td><td class=\"num\">%s</td></tr>", f[0], f[2], results.FormatScore(score))
	if !strings.Contains(dom, want) {
		t.Errorf("the page has no row %s", want)
	}
	if !strings.Contains(dom, `<svg id="dendrogram"`) || !strings.Contains(dom, `<svg id="histogram"`) {
		t.Error("no dendrogram or histogram")
	}
	// The filter (the page applies #text as the filter on load).
	dom = chromium(t, bin, "file://"+page+"#"+ids[3], "--dump-dom")
	all, _, err := matchesRun(t, "--out", out, "--n", "5")
	if err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, r := range all {
		if f := strings.Split(r, " | "); f[0] == ids[3] || f[2] == ids[3] {
			with++
		}
	}
	if got := spanText(t, dom, "shown"); got != strconv.Itoa(with) {
		t.Errorf("filter %s: %s rows shown, want the %d with it", ids[3], got, with)
	}
	if hidden := strings.Count(dom, `style="display: none;"`); hidden != len(all)-with {
		t.Errorf("filter %s: %d rows hidden, want %d", ids[3], hidden, len(all)-with)
	}

	screenshot(t, bin, page)
}

// screenshot takes chromium's screenshot of page, checks that it is not
// blank and returns the PNG.
func screenshot(t *testing.T, bin, page string) []byte {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, bin, "file://"+page, "--screenshot="+shot)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if v := pixelVariance(img); v < 100 {
		t.Errorf("screenshot %dx%d looks blank: pixel variance %.1f", img.Bounds().Dx(), img.Bounds().Dy(), v)
	}
	return b
}

// pixelVariance is the variance of the pixels' grey levels (0-255).
func pixelVariance(img image.Image) float64 {
	var sum, sum2, n float64
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			g := float64(cr+cg+cb) / 3 / 257
			sum, sum2, n = sum+g, sum2+g*g, n+1
		}
	}
	m := sum / n
	return sum2/n - m*m
}

// Reports of sparse and top-k outputs (no clusters), a sampled one, and
// the errors.
func TestReportOutputsAndErrors(t *testing.T) {
	for _, name := range []string{"sparse", "topk"} {
		out := copyOutput(t, fixture(t, name))
		if _, err := runReportT(t, "--out", out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := os.ReadFile(filepath.Join(out, "report.html"))
		for _, want := range []string{`<span id="n-neurons">17</span>`, "heatmap in the plan's order, no dendrogram", "scores ≥ 0"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s: the page has no %q", name, want)
			}
		}
	}
	out := copyOutput(t, fixture(t, "dense"))
	to := filepath.Join(t.TempDir(), "r.html")
	if _, err := runReportT(t, "--out", out, "--max_side", "5", "--to", to); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(to)
	for _, want := range []string{`id="sampled"`, "5 × 5 neurons", `<span id="n-neurons">17</span>`, `<span id="n-scores">85</span>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("sampled: the page has no %q", want)
		}
	}
	if _, err := runReportT(t, "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no NBLAST output found") {
		t.Errorf("no output: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(out, "clusters"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "clusters", "clusters.csv"), []byte("neuron,cluster\n1,1\n2,1\n"), 0o644)
	os.WriteFile(filepath.Join(out, "clusters", "linkage.csv"), []byte("a,b,distance,size\n0,5,1,2\n"), 0o644)
	if _, err := runReportT(t, "--out", out); err == nil || !strings.Contains(err.Error(), "is not a leaf (< 2) or an earlier cluster") {
		t.Errorf("bad linkage: %v", err)
	}
}

// The report of a real runner cluster output (hierarchical, average, 3
// clusters) of a real dense output, in headless chromium: it shows the
// clusters runner cluster found, and its heatmap follows the dendrogram
// of linkage.csv (scipy's leaf order: a merge's first child, then its
// second). NBLAST_WRITE_DOCS=1 saves its screenshot as docs/report.png.
func TestReportOfRunnerCluster(t *testing.T) {
	bin := requireChromium(t)
	out := copyOutput(t, fixture(t, "dense"))
	var stderr bytes.Buffer
	if err := runCluster(context.Background(), []string{"--out", out, "--linkage", "average", "--n_clusters", "3"}, &stderr); err != nil {
		t.Fatalf("runner cluster: %v\n%s", err, stderr.String())
	}
	if _, err := runReportT(t, "--out", out); err != nil {
		t.Fatal(err)
	}
	recs := func(name string) [][]string {
		b, err := os.ReadFile(filepath.Join(out, "clusters", name))
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			rows = append(rows, strings.Split(line, ","))
		}
		return rows
	}
	leaves := recs("clusters.csv")
	z := recs("linkage.csv")
	n := len(leaves)
	var walk func(node int) []string
	walk = func(node int) []string {
		if node < n {
			return []string{leaves[node][0]}
		}
		row := z[node-n]
		a, _ := strconv.ParseFloat(row[0], 64)
		b, _ := strconv.ParseFloat(row[1], 64)
		return append(walk(int(a)), walk(int(b))...)
	}
	want := walk(2*n - 2)
	distinct := map[string]bool{}
	for _, r := range leaves {
		distinct[r[1]] = true
	}

	page := filepath.Join(out, "report.html")
	dom := chromium(t, bin, "file://"+page, "--dump-dom")
	if got := spanText(t, dom, "n-clusters"); got != strconv.Itoa(len(distinct)) || len(distinct) != 3 {
		t.Errorf("clusters shown: %s; clusters.csv has %d, asked for 3", got, len(distinct))
	}
	var order []string
	for _, m := range heatmapItem.FindAllStringSubmatch(dom, -1) {
		order = append(order, m[1])
	}
	if !slices.Equal(order, want) {
		t.Errorf("heatmap order %v, want the dendrogram's leaves %v", order, want)
	}
	b := screenshot(t, bin, page)
	if os.Getenv("NBLAST_WRITE_DOCS") == "1" {
		if err := os.WriteFile("../../docs/report.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
