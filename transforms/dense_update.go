package transforms

// The update of a dense output (--exists update with --sink zarr): the
// update's plan keeps the earlier output's order of the neurons still
// there (removed ones dropped) and appends the new ones (MakeUpdatePlan),
// and every chunk of it is written again: a pair of two neurons that are
// both unchanged is read from the earlier arrays, every other pair is
// scored.

import (
	"context"
	"fmt"
	"sync"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/zarr"
)

// DenseDelta is the update of a dense output (see DeltaMask.Dense).
type DenseDelta struct {
	// Earlier is the Zarr group (OUT) holding the earlier arrays; Arrays
	// names them in the order of scores.Chunk's Values and Reverse.
	Earlier string
	Arrays  []string
	// Rows[q] is the earlier row of the query at plan position q, or -1
	// when the query is new or changed (its pairs are scored); Cols[t]
	// the earlier column of the target at plan position t, or -1.
	Rows, Cols []int32
}

// dense is d's DenseDelta (nil without).
func (d *DeltaMask) dense() *DenseDelta {
	if d == nil {
		return nil
	}
	return d.Dense
}

// MakeUpdatePlan is the plan of an update of a dense output: each side's
// kept neurons in the order given (the earlier output's), then its new
// ones ordered as MakePlan orders a side (without spatial order: dense
// runs do not prune). With allByAll the targets are the queries.
func MakeUpdatePlan(qkept, qnew, tkept, tnew []dotprops.NeuronInfo, blockSize int, allByAll bool) (Plan, error) {
	if blockSize < 1 {
		return Plan{}, fmt.Errorf("block size must be at least 1, got %d", blockSize)
	}
	side := func(kept, added []dotprops.NeuronInfo) []dotprops.NeuronInfo {
		out := append([]dotprops.NeuronInfo(nil), kept...)
		if len(added) > 0 {
			out = append(out, balance(added, blockSize)...)
		}
		return out
	}
	p := Plan{Queries: side(qkept, qnew), BlockSize: blockSize, AllByAll: allByAll}
	if len(p.Queries) == 0 {
		return Plan{}, fmt.Errorf("no query neurons")
	}
	if allByAll {
		p.Targets = p.Queries
	} else if p.Targets = side(tkept, tnew); len(p.Targets) == 0 {
		return Plan{}, fmt.Errorf("no target neurons")
	}
	return p, nil
}

// earlierArrays opens the earlier arrays of an update once per DoFn
// instance (a process may run several jobs, and an array changes shape
// from one update to the next).
type earlierArrays struct {
	mu   sync.Mutex
	open map[string]*zarr.Reader
}

func (e *earlierArrays) get(ctx context.Context, out, name string) (*zarr.Reader, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := out + "\x00" + name
	if z, ok := e.open[key]; ok {
		return z, nil
	}
	z, err := zarr.Open(ctx, out, name)
	if err != nil {
		return nil, fmt.Errorf("the earlier output: %w", err)
	}
	if e.open == nil {
		e.open = map[string]*zarr.Reader{}
	}
	e.open[key] = z
	return z, nil
}

// updateChunk makes work item w's chunk in the update of a dense output:
// the pairs of unchanged neurons from the earlier arrays, the others
// scored (the item's blocks loaded by load, only when it has such a
// pair). It returns the chunk and the number of pairs scored.
func (f *scoreFn) updateChunk(ctx context.Context, d *DenseDelta, w WorkItem, bs int, qinfo, tinfo []dotprops.NeuronInfo,
	load func() (*preparedBlock, *preparedBlock, error)) (scores.Chunk, int, error) {
	nq, nt := len(qinfo), len(tinfo)
	rows, cols := d.Rows[w.QB*bs:w.QB*bs+nq], d.Cols[w.TB*bs:w.TB*bs+nt]
	c := scores.Chunk{QB: w.QB, TB: w.TB, Rows: nq, Cols: nt, Queries: infoIDs(qinfo), Targets: infoIDs(tinfo),
		Values: nanSlice(nq * nt)}
	if len(d.Arrays) > 1 {
		c.Reverse = nanSlice(nq * nt)
	}
	split := func(at []int32) (kept, scored []int) {
		for i, r := range at {
			if r < 0 {
				scored = append(scored, i)
			} else {
				kept = append(kept, i)
			}
		}
		return kept, scored
	}
	qk, qs := split(rows)
	tk, ts := split(cols)
	if len(qk) > 0 && len(tk) > 0 {
		r0, r1 := span(rows, qk)
		c0, c1 := span(cols, tk)
		for k, name := range d.Arrays {
			z, err := f.earlier.get(ctx, d.Earlier, name)
			if err != nil {
				return c, 0, err
			}
			old, err := z.Read(ctx, r0, r1, c0, c1)
			if err != nil {
				return c, 0, fmt.Errorf("the earlier output: %w", err)
			}
			dst := c.Values
			if k > 0 {
				dst = c.Reverse
			}
			width := c1 - c0
			for _, i := range qk {
				at := (int(rows[i]) - r0) * width
				for _, j := range tk {
					dst[i*nt+j] = old[at+int(cols[j])-c0]
				}
			}
		}
	}
	if len(qs) == 0 && len(ts) == 0 {
		return c, 0, nil
	}
	qb, tb, err := load()
	if err != nil {
		return c, 0, err
	}
	scored := 0
	// The new or changed queries against every target, then the other
	// queries against the new or changed targets.
	for _, part := range [][2][]int{{qs, seq(nt)}, {qk, ts}} {
		qi, ti := part[0], part[1]
		if len(qi) == 0 || len(ti) == 0 {
			continue
		}
		var s scores.Chunk
		s.Rows, s.Cols = nq, nt
		if _, err := f.scoreItem(qb, tb, qinfo, tinfo, qi, ti, &s); err != nil {
			return c, 0, err
		}
		for _, i := range qi {
			for _, j := range ti {
				c.Values[i*nt+j] = s.Values[i*nt+j]
				if c.Reverse != nil {
					c.Reverse[i*nt+j] = s.Reverse[i*nt+j]
				}
			}
		}
		scored += len(qi) * len(ti)
	}
	return c, scored, nil
}

// span is the smallest range [lo, hi) holding at[i] for every i of idx.
func span(at []int32, idx []int) (lo, hi int) {
	lo, hi = int(at[idx[0]]), int(at[idx[0]])+1
	for _, i := range idx[1:] {
		lo, hi = min(lo, int(at[i])), max(hi, int(at[i])+1)
	}
	return lo, hi
}
