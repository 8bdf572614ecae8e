package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
)

// Data is what a report shows: the result, the output read, its hit lists
// (all, or a sample of MaxSide queries: Sampled), each query's best
// matches (Matches, with Notes), the clustering if any, and the run's
// parameters.
type Data struct {
	Output   *results.Output
	Source   *results.Source
	Hits     *results.Hits
	Clusters *results.Clusters // nil: not clustered
	Params   map[string]any
	Matches  []results.Match
	Notes    []string
	MaxSide  int
	Sampled  bool
	DenseN   int // a dense array's queries (0 for parts)
}

const reportCSS = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#805000}
#heatmap{image-rendering:pixelated;border:1px solid #999}#filter{font-size:14px;padding:4px;width:320px}
.kv td:first-child{font-weight:600}`

const reportJS = `function filterMatches(){var q=document.getElementById('filter').value.toLowerCase();
var rows=document.querySelectorAll('#matches tbody tr'),shown=0;
for(var i=0;i<rows.length;i++){var ok=rows[i].textContent.toLowerCase().indexOf(q)>=0;rows[i].style.display=ok?'':'none';if(ok)shown++;}
document.getElementById('shown').textContent=shown;}
if(location.hash){document.getElementById('filter').value=decodeURIComponent(location.hash.slice(1));filterMatches();}`

// Write writes the report on d as one self-contained HTML page (no
// network): parameters and timing, the score histogram, the heatmap, the
// dendrogram, cluster sizes and a searchable table of the matches.
func Write(ctx context.Context, w *bytes.Buffer, d Data) {
	esc := html.EscapeString
	t := d.Hits
	nQueries := t.AllQueries
	if d.DenseN > 0 {
		nQueries = d.DenseN
	}
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>NBLAST report: %s</title><style>%s</style></head><body>\n", esc(d.Output.Dir), reportCSS)
	fmt.Fprintf(w, "<h1>NBLAST report: %s</h1>\n", esc(d.Output.Dir))
	fmt.Fprintf(w, "<p>From %s: <span id=\"n-neurons\">%d</span> queries", esc(d.Source.Name()), nQueries)
	if t.Targets > 0 {
		fmt.Fprintf(w, " × <span id=\"n-targets\">%d</span> targets", t.Targets)
	}
	fmt.Fprintf(w, "; %s.</p>\n", esc(d.Output.Describe()))
	if d.Sampled {
		fmt.Fprintf(w, "<p class=\"note\" id=\"sampled\">Sampled: %d queries is more than %d, so the histogram, heatmap and table use %d evenly spaced queries (every %.1fth).</p>\n",
			nQueries, d.MaxSide, len(t.Queries), float64(nQueries)/float64(d.MaxSide))
	}

	// Heatmap.
	writeHeatmap(w, d)

	// Clusters.
	if d.Clusters != nil {
		method := ""
		if m, ok := d.Clusters.Info["method"]; ok {
			method = fmt.Sprint(m)
			if l, ok := d.Clusters.Info["linkage"]; ok {
				method += ", linkage " + fmt.Sprint(l)
			}
		}
		sizes := map[int]int{}
		for _, c := range d.Clusters.Cluster {
			sizes[c]++
		}
		fmt.Fprintf(w, "<h2>Clusters</h2>\n<p>From %s: <span id=\"n-clusters\">%d</span> clusters of %d neurons%s.</p>\n",
			esc(files.Join(d.Output.Dir, sinks.ClustersDir)), len(sizes), len(d.Clusters.Neurons), esc(parenthesise(method)))
		ids := make([]int, 0, len(sizes))
		for c := range sizes {
			ids = append(ids, c)
		}
		sort.Slice(ids, func(a, b int) bool {
			if sizes[ids[a]] != sizes[ids[b]] {
				return sizes[ids[a]] > sizes[ids[b]]
			}
			return ids[a] < ids[b]
		})
		fmt.Fprintf(w, "<h3>Cluster sizes</h3>\n%s\n<table id=\"cluster-sizes\"><thead><tr><th>cluster</th><th>neurons</th></tr></thead><tbody>\n", clusterBarsSVG(ids, sizes))
		for _, c := range ids[:min(len(ids), 200)] {
			fmt.Fprintf(w, "<tr><td>%d</td><td class=\"num\">%d</td></tr>\n", c, sizes[c])
		}
		fmt.Fprintf(w, "</tbody></table>\n")
		if len(ids) > 200 {
			fmt.Fprintf(w, "<p>... and %d smaller clusters.</p>\n", len(ids)-200)
		}
	} else {
		fmt.Fprintf(w, "<h2>Clusters</h2>\n<p>No %s (run <code>runner cluster --out %s</code>): heatmap in the plan's order, no dendrogram.</p>\n",
			esc(files.Join(d.Output.Dir, sinks.ClustersDir, "clusters.csv")), esc(d.Output.Dir))
	}

	// Histogram.
	var all []float64
	for _, q := range t.Queries {
		for _, h := range t.Lists[q] {
			if !math.IsNaN(h.Score) {
				all = append(all, h.Score)
			}
		}
	}
	fmt.Fprintf(w, "<h2>Score distribution</h2>\n<p><span id=\"n-scores\">%d</span> scores", len(all))
	if t.Kind != "dense" {
		fmt.Fprintf(w, " (those the %s output holds: scores ≥ %v", t.Kind, t.Floor)
		if t.Kind == "top-k" {
			fmt.Fprintf(w, ", the %d best per query", t.K)
		}
		fmt.Fprintf(w, ")")
	}
	fmt.Fprintf(w, ", self-hits included.</p>\n%s\n", histogramSVG(all, 40))

	// Matches table.
	const maxRows = 20000
	fmt.Fprintf(w, "<h2>Top matches</h2>\n<p>Each query's best targets (runner matches --n; the query itself left out), <span id=\"shown\">%d</span> rows shown. Filter: <input id=\"filter\" oninput=\"filterMatches()\" placeholder=\"neuron id\"></p>\n", min(len(d.Matches), maxRows))
	for _, n := range d.Notes {
		fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", esc(n))
	}
	fmt.Fprintf(w, "<table id=\"matches\"><thead><tr><th>query</th><th>rank</th><th>target</th><th>score</th></tr></thead><tbody>\n")
	for _, r := range d.Matches[:min(len(d.Matches), maxRows)] {
		fmt.Fprintf(w, "<tr><td>%s</td><td class=\"num\">%d</td><td>%s</td><td class=\"num\">%s</td></tr>\n", esc(r.Query.String()), r.Rank, esc(r.Target.String()), results.FormatScore(r.Score))
	}
	fmt.Fprintf(w, "</tbody></table>\n")
	if len(d.Matches) > maxRows {
		fmt.Fprintf(w, "<p class=\"note\">The table stops at %d of %d rows: runner matches --to FILE writes them all.</p>\n", maxRows, len(d.Matches))
	}
	// Parameters and timing.
	fmt.Fprintf(w, "<h2>Run</h2>\n<table class=\"kv\" id=\"params\">\n")
	keys := make([]string, 0, len(d.Params))
	for k := range d.Params {
		if k != "queries" && k != "targets" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := d.Params[k]
		if v == nil {
			v = "none"
		}
		fmt.Fprintf(w, "<tr><td>%s</td><td>%s</td></tr>\n", esc(k), esc(fmt.Sprint(v)))
	}
	start, end := runTimes(d)
	if !start.IsZero() && !end.IsZero() {
		fmt.Fprintf(w, "<tr><td>started</td><td>%s</td></tr><tr><td>finished</td><td>%s</td></tr><tr><td>wall time</td><td id=\"wall\">%s</td></tr>\n",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), end.Sub(start).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "</table>\n<p>Timing from the files' modification times (the run marker _nblast_run.json, written as the run starts, and the file written last: %s); unknown for gs:// outputs.</p>\n", esc(lastFileName(d.Source)))
	writeInputs(ctx, w, d.Output.Dir)

	fmt.Fprintf(w, "<p>Written by runner report (nblast-go).</p>\n<script>%s</script>\n</body></html>\n", reportJS)
}

func parenthesise(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// writeInputs lists the run marker's inputs (files, neurons, points).
func writeInputs(ctx context.Context, w *bytes.Buffer, out string) {
	b, err := files.ReadFile(ctx, files.Join(out, sinks.RunMarkerName))
	if err != nil {
		return
	}
	var doc struct {
		Inputs map[string]map[string]struct {
			Neurons int `json:"neurons"`
			Points  int `json:"points"`
		} `json:"inputs"`
	}
	if json.Unmarshal(b, &doc) != nil || len(doc.Inputs) == 0 {
		return
	}
	fmt.Fprintf(w, "<table id=\"inputs\"><thead><tr><th>input</th><th>file</th><th>neurons</th><th>points</th></tr></thead><tbody>\n")
	for _, role := range []string{"queries", "targets"} {
		for p, in := range doc.Inputs[role] {
			fmt.Fprintf(w, "<tr><td>%s</td><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td></tr>\n", role, html.EscapeString(p), in.Neurons, in.Points)
		}
	}
	fmt.Fprintf(w, "</tbody></table>\n")
}

// lastFileName is the file a complete output writes last.
func lastFileName(src *results.Source) string {
	if src.Parts != nil {
		return files.Join(src.Parts.Dir, sinks.ManifestName)
	}
	return files.Join(src.Out, src.Array, ".zattrs")
}

// runTimes are the modification times of the run marker and of the file
// written last (local outputs only).
func runTimes(d Data) (start, end time.Time) {
	if files.IsRemote(d.Output.Dir) {
		return
	}
	if fi, err := os.Stat(files.Join(d.Output.Dir, sinks.RunMarkerName)); err == nil {
		start = fi.ModTime()
	}
	if fi, err := os.Stat(lastFileName(d.Source)); err == nil {
		end = fi.ModTime()
	}
	if end.Before(start) {
		return time.Time{}, time.Time{}
	}
	return start, end
}

// colormap is viridis at 5 stops, linearly interpolated; v in [0, 1].
func colormap(v float64) color.RGBA {
	stops := [][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	v = math.Max(0, math.Min(1, v))
	x := v * float64(len(stops)-1)
	i := min(int(x), len(stops)-2)
	f := x - float64(i)
	var c [3]uint8
	for j := range 3 {
		c[j] = uint8(math.Round(stops[i][j]*(1-f) + stops[i+1][j]*f))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// histogramSVG draws the scores' histogram over [min, max] in bins bins.
func histogramSVG(vals []float64, bins int) string {
	if len(vals) == 0 {
		return "<p>No scores.</p>"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		hi = lo + 1
	}
	counts := make([]int, bins)
	for _, v := range vals {
		counts[min(bins-1, int((v-lo)/(hi-lo)*float64(bins)))]++
	}
	most := 0
	for _, c := range counts {
		most = max(most, c)
	}
	const W, H, L, B = 800.0, 260.0, 70.0, 30.0
	var s strings.Builder
	fmt.Fprintf(&s, `<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, W, H+B)
	bw := (W - L - 10) / float64(bins)
	for i, c := range counts {
		h := math.Log1p(float64(c)) / math.Log1p(float64(most)) * (H - 10)
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b528b"><title>%.3f to %.3f: %d</title></rect>`,
			L+float64(i)*bw, H-h, math.Max(bw-1, 0.5), h, lo+float64(i)*(hi-lo)/float64(bins), lo+float64(i+1)*(hi-lo)/float64(bins), c)
	}
	fmt.Fprintf(&s, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#333"/>`, L, H, W-10, H)
	fmt.Fprintf(&s, `<line x1="%g" y1="10" x2="%g" y2="%g" stroke="#333"/>`, L, L, H)
	for i := 0; i <= 4; i++ {
		x := L + float64(i)/4*(W-L-10)
		fmt.Fprintf(&s, `<text x="%.1f" y="%g" text-anchor="middle">%.3g</text>`, x, H+15, lo+float64(i)/4*(hi-lo))
	}
	for _, c := range []int{10, 100, 1000, 10000, 100000, 1000000, 10000000} {
		if 3*c < most {
			y := H - math.Log1p(float64(c))/math.Log1p(float64(most))*(H-10)
			fmt.Fprintf(&s, `<text x="%g" y="%.1f" text-anchor="end">%d</text><line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#333"/>`, L-4, y+4, c, L-3, y, L, y)
		}
	}
	fmt.Fprintf(&s, `<text x="%g" y="%g" text-anchor="end">%d</text><text x="%g" y="%g" text-anchor="end">0</text>`, L-4, 14.0, most, L-4, H)
	fmt.Fprintf(&s, `<text x="12" y="%g" transform="rotate(-90 12 %g)" text-anchor="middle">count (log scale)</text>`, H/2, H/2)
	fmt.Fprintf(&s, `<text x="%g" y="%g" text-anchor="middle">score</text></svg>`, (W+L)/2, H+28)
	return s.String()
}

// writeHeatmap draws the queries × targets matrix (an all-by-all's
// neurons in cluster order, or the plan order), at most maxSide a side,
// as an inline PNG, one pixel a cell, scaled up.
func writeHeatmap(w *bytes.Buffer, d Data) {
	t := d.Hits
	order := append([]scoring.ID(nil), t.Queries...)
	how := "in the output's query order"
	if d.Clusters != nil {
		pos := map[string]int{}
		for rank, leaf := range d.Clusters.LeafOrder {
			pos[d.Clusters.Neurons[leaf]] = rank
		}
		var in, out []scoring.ID
		for _, q := range order {
			if _, ok := pos[q.String()]; ok {
				in = append(in, q)
			} else {
				out = append(out, q)
			}
		}
		sort.SliceStable(in, func(a, b int) bool { return pos[in[a].String()] < pos[in[b].String()] })
		order = append(in, out...)
		how = "in the clustering's leaf order (" + files.Join(d.Output.Dir, sinks.ClustersDir) + ")"
		if d.Clusters.Linkage == nil {
			how = "by cluster (" + files.Join(d.Output.Dir, sinks.ClustersDir, "clusters.csv") + ")"
		}
	}
	if len(order) > d.MaxSide {
		s := make([]scoring.ID, d.MaxSide)
		for i := range s {
			s[i] = order[i*len(order)/d.MaxSide]
		}
		order = s
		how += fmt.Sprintf(", sampled evenly to %d", d.MaxSide)
	}
	n := len(order)
	fmt.Fprintf(w, "<h2>Heatmap</h2>\n")
	if n == 0 {
		fmt.Fprintf(w, "<p>No queries.</p>\n")
		return
	}
	idx := map[scoring.ID]int{}
	for i, q := range order {
		idx[q] = i
	}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	grey := color.RGBA{220, 220, 220, 255}
	for y := range n {
		for x := range n {
			img.SetRGBA(x, y, grey)
		}
	}
	lo, hi := -1.0, 1.0
	if !toBool(d.Params["normalized"]) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, q := range order {
			for _, h := range t.Lists[q] {
				if _, ok := idx[h.Target]; ok {
					lo, hi = math.Min(lo, h.Score), math.Max(hi, h.Score)
				}
			}
		}
		if !(hi > lo) {
			lo, hi = lo-1, lo+1
		}
	}
	cells := 0
	for y, q := range order {
		for _, h := range t.Lists[q] {
			if x, ok := idx[h.Target]; ok {
				img.SetRGBA(x, y, colormap((h.Score-lo)/(hi-lo)))
				cells++
			}
		}
	}
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, img)
	side := heatmapSide(n)
	fmt.Fprintf(w, "<p>%d × %d neurons (query rows, target columns), %s; %d cells with a score (grey: none in the output).</p>\n", n, n, html.EscapeString(how), cells)
	if !toBool(d.Params["all_by_all"]) {
		fmt.Fprintf(w, "<p class=\"note\">Not an all-by-all run: the columns are the queries too, so only the cells of queries that are also targets have a score.</p>\n")
	}
	if d.Clusters != nil && d.Clusters.Linkage != nil {
		if nl := len(d.Clusters.Neurons); nl <= 5000 {
			aligned := "its leaves above the heatmap's columns"
			if nl != n {
				aligned = fmt.Sprintf("all %d leaves; the heatmap shows %d of them", nl, n)
			}
			fmt.Fprintf(w, "<p>Dendrogram (%s):</p>\n<div>%s</div>\n", aligned, dendrogramSVG(d.Clusters, float64(side)))
		} else {
			fmt.Fprintf(w, "<p class=\"note\">Dendrogram not drawn: %d leaves (at most 5000).</p>\n", nl)
		}
	}
	fmt.Fprintf(w, "<img id=\"heatmap\" alt=\"heatmap\" width=\"%d\" height=\"%d\" src=\"data:image/png;base64,%s\">\n", side, side, base64.StdEncoding.EncodeToString(pngBuf.Bytes()))
	// Colour bar.
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="36" font-size="11">`)
	for i := range 100 {
		fmt.Fprintf(&s, `<rect x="%d" y="0" width="3" height="16" fill="%s"/>`, 10+3*i, hexColor(colormap(float64(i)/99)))
	}
	fmt.Fprintf(&s, `<text x="10" y="30">%.3g</text><text x="310" y="30" text-anchor="end">%.3g</text></svg>`, lo, hi)
	w.WriteString("<div>" + s.String() + "</div>\n")
	fmt.Fprintf(w, "<details><summary>Heatmap order (%d neurons)</summary><ol id=\"heatmap-order\">", n)
	for _, q := range order {
		fmt.Fprintf(w, "<li>%s</li>", html.EscapeString(q.String()))
	}
	fmt.Fprintf(w, "</ol></details>\n")
}

// heatmapSide is the heatmap's width in CSS pixels for n cells a side:
// a whole number of pixels a cell, about 700 in all.
func heatmapSide(n int) int { return max(n, min(700, n*max(1, 700/n))) }

func toBool(v any) bool { return fmt.Sprint(v) == "true" }

// dendrogramSVG draws scipy's Z: leaves left to right in leaf order,
// merge heights by distance.
func dendrogramSVG(c *results.Clusters, W float64) string {
	n := len(c.Neurons)
	const H, top, bottom = 200.0, 6.0, 16.0
	x := make([]float64, 2*n-1)
	y := make([]float64, 2*n-1)
	for rank, leaf := range c.LeafOrder {
		x[leaf] = 1 + (float64(rank)+0.5)*W/float64(n)
		y[leaf] = H - bottom
	}
	dmax := 0.0
	for _, r := range c.Linkage {
		dmax = math.Max(dmax, r[2])
	}
	if dmax <= 0 {
		dmax = 1
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg id="dendrogram" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="10" style="display:block"><g stroke="#333" fill="none" stroke-width="1">`, W+2, H)
	for k, r := range c.Linkage {
		a, b := int(r[0]), int(r[1])
		node := n + k
		y[node] = H - bottom - r[2]/dmax*(H-bottom-top)
		x[node] = (x[a] + x[b]) / 2
		fmt.Fprintf(&s, `<path d="M%.1f %.1fV%.1fH%.1fV%.1f"/>`, x[a], y[a], y[node], x[b], y[b])
	}
	fmt.Fprintf(&s, `</g><text x="2" y="%g">distance: 0 (bottom) to %.3g (top)</text></svg>`, H-3, dmax)
	return s.String()
}

// clusterBarsSVG draws the sizes of the (at most 50) largest clusters.
func clusterBarsSVG(ids []int, sizes map[int]int) string {
	ids = ids[:min(len(ids), 50)]
	if len(ids) == 0 {
		return ""
	}
	most := sizes[ids[0]]
	const W, H = 800.0, 160.0
	bw := math.Min(40, (W-20)/float64(len(ids)))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg id="cluster-bars" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="10">`, W, H+14)
	for i, c := range ids {
		h := float64(sizes[c]) / float64(most) * (H - 10)
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#21918c"><title>cluster %d: %d</title></rect>`, 10+float64(i)*bw, H-h, math.Max(bw-2, 0.5), h, c, sizes[c])
		if len(ids) <= 30 {
			fmt.Fprintf(&s, `<text x="%.1f" y="%g" text-anchor="middle">%d</text>`, 10+(float64(i)+0.5)*bw, H+12, c)
		}
	}
	s.WriteString("</svg>")
	return s.String()
}
