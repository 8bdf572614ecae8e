// Package report renders a result as one self-contained HTML page (no
// network): the run's parameters and timing, the score histogram, the
// heatmap (in the clustering's leaf order when there is one), the
// dendrogram, cluster sizes and a searchable table of each query's best
// matches. runner report gathers the Data (package results) and writes
// the page.
package report
