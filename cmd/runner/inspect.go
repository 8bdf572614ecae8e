package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/nblast-go/nblast/sinks"
)

// inspect summarises a result and lists the top hits of one neuron, read
// back from the Zarr array.
func inspect(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	out := fs.String("out", "", "the result directory (OUT of the scoring run)")
	id := fs.String("id", "", "a query neuron id: print its top hits")
	k := fs.Int("k", 10, "how many top hits to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	for _, name := range []string{"scores", "scores_reverse"} {
		if name != "scores" {
			if _, err := sinks.OpenZarr(ctx, *out, name); err != nil {
				continue
			}
		}
		if err := inspectArray(ctx, *out, name, *id, *k); err != nil {
			return err
		}
	}
	return nil
}

func inspectArray(ctx context.Context, out, name, id string, k int) error {
	z, err := sinks.OpenZarr(ctx, out, name)
	if err != nil {
		return err
	}
	queries, _ := z.Attrs["queries"].([]any)
	targets, _ := z.Attrs["targets"].([]any)
	rb, cb := (z.Shape[0]+z.Chunks[0]-1)/z.Chunks[0], (z.Shape[1]+z.Chunks[1]-1)/z.Chunks[1]
	chunks, err := z.WrittenChunks(ctx)
	if err != nil {
		return err
	}
	written := len(chunks)
	w := os.Stdout
	fmt.Fprintf(w, "%s/%s: %d queries × %d targets, %s, chunks %d×%d (%d of %d written), complete: %v\n",
		out, name, z.Shape[0], z.Shape[1], z.DType, z.Chunks[0], z.Chunks[1], written, rb*cb, z.Complete())
	for _, key := range []string{"scores", "normalized", "use_alpha", "smat", "max_dist", "all_by_all", "version"} {
		v := z.Attrs[key]
		if v == nil {
			v = "none"
		}
		fmt.Fprintf(w, "  %s: %v\n", key, v)
	}
	if id == "" {
		return nil
	}
	row := -1
	for i, q := range queries {
		if fmt.Sprint(q) == id {
			row = i
		}
	}
	if row < 0 {
		return fmt.Errorf("neuron %s is not among the %d queries of %s", id, len(queries), out)
	}
	vals, err := z.Read(ctx, row, row+1, 0, z.Shape[1])
	if err != nil {
		return err
	}
	order := make([]int, len(vals))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return greater(vals[order[a]], vals[order[b]]) })
	fmt.Fprintf(w, "  top %d targets of %s (%s):\n", min(k, len(order)), id, name)
	for r, c := range order[:min(k, len(order))] {
		fmt.Fprintf(w, "  %3d  %-24v %.6f\n", r+1, targets[c], vals[c])
	}
	return nil
}

// greater orders scores high to low, NaN (not yet written) last.
func greater(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	return a > b
}
