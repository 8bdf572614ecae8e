package results

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/sinks"
)

// Clusters is OUT/clusters (written by runner cluster): clusters.csv
// (neuron,cluster; row i = leaf i), linkage.csv (scipy's Z: a,b,distance,
// size) and clusters.json.
type Clusters struct {
	Neurons []string
	Cluster []int
	Linkage [][4]float64 // nil without linkage.csv
	Info    map[string]any
	// LeafOrder is the leaves in display order: the dendrogram's left
	// to right (scipy's leaves_list), or by cluster then leaf.
	LeafOrder []int
}

// ReadClusters reads OUT/clusters, or returns nil if there is no
// clusters.csv.
func ReadClusters(ctx context.Context, out string) (*Clusters, error) {
	dir := files.Join(out, sinks.ClustersDir)
	p := files.Join(dir, "clusters.csv")
	if ok, err := files.Exists(ctx, p); err != nil || !ok {
		return nil, err
	}
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(recs) == 0 || len(recs[0]) < 2 || recs[0][0] != "neuron" || recs[0][1] != "cluster" {
		return nil, fmt.Errorf("%s: want the header neuron,cluster", p)
	}
	c := &Clusters{}
	for i, r := range recs[1:] {
		k, err := strconv.Atoi(strings.TrimSpace(r[1]))
		if err != nil {
			return nil, fmt.Errorf("%s line %d: cluster %q is not an integer", p, i+2, r[1])
		}
		c.Neurons, c.Cluster = append(c.Neurons, r[0]), append(c.Cluster, k)
	}
	n := len(c.Neurons)
	lp := files.Join(dir, "linkage.csv")
	if ok, err := files.Exists(ctx, lp); err != nil {
		return nil, err
	} else if ok {
		b, err := files.ReadFile(ctx, lp)
		if err != nil {
			return nil, err
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lp, err)
		}
		if len(recs) == 0 || strings.Join(recs[0], ",") != "a,b,distance,size" {
			return nil, fmt.Errorf("%s: want the header a,b,distance,size", lp)
		}
		if len(recs)-1 != n-1 {
			return nil, fmt.Errorf("%s: %d rows for the %d neurons of %s (want n-1 = %d)", lp, len(recs)-1, n, p, n-1)
		}
		for i, r := range recs[1:] {
			var row [4]float64
			for j := range 4 {
				if row[j], err = strconv.ParseFloat(strings.TrimSpace(r[j]), 64); err != nil {
					return nil, fmt.Errorf("%s line %d: %q is not a number", lp, i+2, r[j])
				}
			}
			for _, x := range row[:2] {
				if x < 0 || int(x) >= n+i || x != math.Trunc(x) {
					return nil, fmt.Errorf("%s line %d: %v is not a leaf (< %d) or an earlier cluster (< %d)", lp, i+2, x, n, n+i)
				}
			}
			c.Linkage = append(c.Linkage, row)
		}
	}
	if b, err := files.ReadFile(ctx, files.Join(dir, "clusters.json")); err == nil {
		_ = json.Unmarshal(b, &c.Info)
	}
	// Display order: the dendrogram's leaves left to right (scipy's
	// leaves_list), or by cluster then leaf.
	if c.Linkage != nil && n > 1 {
		var walk func(node int)
		walk = func(node int) {
			if node < n {
				c.LeafOrder = append(c.LeafOrder, node)
				return
			}
			row := c.Linkage[node-n]
			walk(int(row[0]))
			walk(int(row[1]))
		}
		walk(2*n - 2)
	} else {
		for i := range n {
			c.LeafOrder = append(c.LeafOrder, i)
		}
		sort.SliceStable(c.LeafOrder, func(a, b int) bool { return c.Cluster[c.LeafOrder[a]] < c.Cluster[c.LeafOrder[b]] })
	}
	return c, nil
}
