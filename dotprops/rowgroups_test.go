package dotprops

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/compress"

	"github.com/nblast-go/nblast/internal/parquettest"
	"github.com/nblast-go/nblast/scoring"
)

// rowOrderCols lays out dps in navis' columns with the rows in the given
// order: order lists neuron numbers (into dps), neuron i appearing
// len(dps[i].Points) times; its k-th appearance is its point k. Ids are
// INT64 or STRING as dps' ids; floats DOUBLE, or FLOAT with f32 (the values
// must then be float32 numbers to read back equal). Alpha when dps[0] has it.
func rowOrderCols(dps []*scoring.Dotprops, order []int, f32col bool) []pqCol {
	var vals [7][]float64
	var ints []int64
	var ss []string
	next := make([]int, len(dps))
	for _, i := range order {
		d, j := dps[i], next[i]
		next[i]++
		for k := range 3 {
			vals[k] = append(vals[k], d.Points[j][k])
			vals[3+k] = append(vals[3+k], d.Vectors[j][k])
		}
		if d.HasAlpha() {
			vals[6] = append(vals[6], d.Alpha[j])
		}
		ints, ss = append(ints, d.ID.Int), append(ss, d.ID.Str)
	}
	col := func(v []float64) arrow.Array {
		if !f32col {
			return f64(v...)
		}
		w := make([]float32, len(v))
		for i := range v {
			w[i] = float32(v[i])
		}
		return f32(w...)
	}
	var cols []pqCol
	for k, name := range []string{"x", "y", "z", "vect_x", "vect_y", "vect_z", "alpha"} {
		if k < 6 || dps[0].HasAlpha() {
			cols = append(cols, pqCol{name, col(vals[k])})
		}
	}
	if dps[0].ID.IsStr {
		return append(cols, pqCol{"neuron", strs(ss...)})
	}
	return append(cols, pqCol{"neuron", i64(ints...)})
}

// piecesOf is what ReadDotpropsRowGroups must return for the rows
// [from, to) of the row order order (see rowOrderCols), coordinates times
// scale: per neuron with rows there, in order of first appearance, its
// points there in row order.
func piecesOf(dps []*scoring.Dotprops, order []int, from, to int, scale float64) []*scoring.Dotprops {
	next := make([]int, len(dps))
	for _, i := range order[:from] {
		next[i]++
	}
	piece := map[int]*scoring.Dotprops{}
	var out []*scoring.Dotprops
	for _, i := range order[from:to] {
		d, j := dps[i], next[i]
		next[i]++
		p := piece[i]
		if p == nil {
			p = &scoring.Dotprops{ID: d.ID}
			piece[i] = p
			out = append(out, p)
		}
		pt := d.Points[j]
		p.Points = append(p.Points, [3]float64{pt[0] * scale, pt[1] * scale, pt[2] * scale})
		p.Vectors = append(p.Vectors, d.Vectors[j])
		if d.HasAlpha() {
			p.Alpha = append(p.Alpha, d.Alpha[j])
		}
	}
	return out
}

// float32Dotprops rounds every value of dps to float32 in place, so that a
// FLOAT file reads back equal (the rounded tangents stay unit vectors
// within scoring.UnitTolerance).
func float32Dotprops(dps []*scoring.Dotprops) []*scoring.Dotprops {
	r := func(v float64) float64 { return float64(float32(v)) }
	for _, d := range dps {
		for j := range d.Points {
			for k := range 3 {
				d.Points[j][k], d.Vectors[j][k] = r(d.Points[j][k]), r(d.Vectors[j][k])
			}
		}
		for j := range d.Alpha {
			d.Alpha[j] = r(d.Alpha[j])
		}
	}
	return dps
}

// interleavedOrder is a row order where runs of random length (1 to 12
// rows) of random neurons alternate, so neurons straddle row groups and
// come back after others.
func interleavedOrder(rng *rand.Rand, dps []*scoring.Dotprops) []int {
	left := make([]int, len(dps))
	total := 0
	for i, d := range dps {
		left[i] = d.Len()
		total += d.Len()
	}
	var order []int
	for len(order) < total {
		i := rng.Intn(len(dps))
		for run := 1 + rng.Intn(12); run > 0 && left[i] > 0; run-- {
			order = append(order, i)
			left[i]--
		}
	}
	return order
}

// TestReadDotpropsRowGroups reads files with small row groups whose neurons'
// rows straddle row-group boundaries and interleave: each split's pieces
// are the neurons' rows there, in order of first appearance; the pieces
// concatenated in row-group order are ReadDotpropsFile's neurons; and the
// index is the same whatever the number of decoders.
func TestReadDotpropsRowGroups(t *testing.T) {
	ctx := context.Background()
	contiguous := func(dps []*scoring.Dotprops) []int {
		var order []int
		for i, d := range dps {
			for range d.Len() {
				order = append(order, i)
			}
		}
		return order
	}
	cases := []struct {
		name     string
		strIDs   bool
		alpha    bool
		float32  bool
		rowGroup int
		scale    float64
		order    func(rng *rand.Rand, dps []*scoring.Dotprops) []int
	}{
		{name: "int ids contiguous, row groups of 50", rowGroup: 50, alpha: true, order: func(_ *rand.Rand, d []*scoring.Dotprops) []int { return contiguous(d) }},
		{name: "int ids interleaved, row groups of 37", rowGroup: 37, alpha: true, order: interleavedOrder},
		{name: "int ids interleaved, row groups of 1", rowGroup: 1, order: interleavedOrder},
		{name: "string ids interleaved, row groups of 64", strIDs: true, rowGroup: 64, alpha: true, order: interleavedOrder},
		{name: "float32 interleaved, row groups of 29", float32: true, rowGroup: 29, alpha: true, order: interleavedOrder},
		{name: "scale 0.008, row groups of 40", rowGroup: 40, scale: 0.008, order: interleavedOrder},
		{name: "one row group", rowGroup: 0, alpha: true, order: interleavedOrder},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(10 + ci)))
			dps := randomDotprops(rng, 5, tc.strIDs, tc.alpha)
			if tc.rowGroup == 1 {
				for _, d := range dps { // keep 1-row row groups few
					d.Points, d.Vectors = d.Points[:min(d.Len(), 15)], d.Vectors[:min(d.Len(), 15)]
				}
			}
			if tc.float32 {
				dps = float32Dotprops(dps)
			}
			order := tc.order(rng, dps)
			p := filepath.Join(t.TempDir(), "split.parquet")
			writePQ(t, p, rowOrderCols(dps, order, tc.float32), nil, tc.rowGroup, false)
			opt := ReadOptions{Scale: tc.scale}
			scale := opt.Factor()

			nrg, err := FileRowGroups(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			wantRG := 1
			if tc.rowGroup > 0 {
				wantRG = (len(order) + tc.rowGroup - 1) / tc.rowGroup
			}
			if nrg != wantRG {
				t.Fatalf("FileRowGroups = %d, want %d (%d rows in row groups of %d)", nrg, wantRG, len(order), tc.rowGroup)
			}
			rgRows := len(order)
			if tc.rowGroup > 0 {
				rgRows = tc.rowGroup
			}

			whole, err := ReadDotpropsFile(ctx, p, opt)
			if err != nil {
				t.Fatal(err)
			}
			// Splits: single row groups, then pairs, then all at once.
			for _, size := range []int{1, 2, nrg} {
				joined := map[scoring.ID]*scoring.Dotprops{}
				var ids []scoring.ID
				for first := 0; first < nrg; first += size {
					n := min(size, nrg-first)
					got, err := ReadDotpropsRowGroups(ctx, p, first, n, opt)
					if err != nil {
						t.Fatalf("row groups %d+%d: %v", first, n, err)
					}
					want := piecesOf(dps, order, first*rgRows, min((first+n)*rgRows, len(order)), scale)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("row groups %d+%d: got %v\nwant %v", first, n, dpsString(got), dpsString(want))
					}
					for _, d := range got {
						j := joined[d.ID]
						if j == nil {
							j = &scoring.Dotprops{ID: d.ID}
							joined[d.ID] = j
							ids = append(ids, d.ID)
						}
						j.Points = append(j.Points, d.Points...)
						j.Vectors = append(j.Vectors, d.Vectors...)
						j.Alpha = append(j.Alpha, d.Alpha...)
					}
				}
				if len(ids) != len(whole) {
					t.Fatalf("splits of %d: %d neurons, ReadDotpropsFile %d", size, len(ids), len(whole))
				}
				for i, id := range ids {
					j := joined[id]
					if err := j.Validate(); err != nil {
						t.Errorf("splits of %d: joined neuron %s: %v", size, id, err)
					}
					if whole[i].ID != id {
						t.Fatalf("splits of %d: neuron %d is %s, ReadDotpropsFile's %s", size, i, id, whole[i].ID)
					}
					if diff := Diff(j, whole[i]); diff != "" {
						t.Errorf("splits of %d: neuron %s: joined pieces and ReadDotpropsFile differ: %s", size, id, diff)
					}
				}
			}

			// The index, from ReadDotpropsFile's points summed in order, and
			// the same with one decoder and with many.
			want := make([]NeuronInfo, len(whole))
			for i, d := range whole {
				want[i] = NeuronInfo{ID: d.ID, Points: d.Len(), File: p, Min: d.Points[0], Max: d.Points[0]}
				for _, pt := range d.Points {
					for k := range 3 {
						want[i].Centroid[k] += pt[k]
						want[i].Min[k] = min(want[i].Min[k], pt[k])
						want[i].Max[k] = max(want[i].Max[k], pt[k])
					}
				}
				for k := range 3 {
					want[i].Centroid[k] /= float64(d.Len())
				}
			}
			for _, procs := range []int{1, 2, 7} {
				prev := runtime.GOMAXPROCS(procs)
				got, err := ReadNeuronIndex(ctx, p, opt)
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("GOMAXPROCS %d: index %+v\nwant %+v", procs, got, want)
				}
			}
		})
	}
}

// TestReadDotpropsRowGroupsErrors: splits out of range, a damaged page in
// one row group (named, and only splits that hold it fail), nulls naming
// their row group, and FileRowGroups of files that are not Parquet.
func TestReadDotpropsRowGroupsErrors(t *testing.T) {
	ctx := context.Background()
	dps := randomDotprops(rand.New(rand.NewSource(5)), 6, false, true)
	cols := dotpropsCols(dps)
	rows := cols[0].arr.Len()
	rgRows := (rows + 3) / 4 // 4 row groups

	t.Run("out of range", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "four.parquet")
		writeCodecPQ(t, p, cols, compress.Codecs.Zstd, rgRows)
		if n, err := FileRowGroups(ctx, p); err != nil || n != 4 {
			t.Fatalf("FileRowGroups = %d, %v; want 4", n, err)
		}
		for _, r := range [][2]int{{-1, 1}, {0, 0}, {0, -2}, {4, 1}, {3, 2}, {0, 5}, {5, 0}} {
			got, err := ReadDotpropsRowGroups(ctx, p, r[0], r[1], ReadOptions{})
			if err == nil {
				t.Errorf("first %d, n %d: no error (%d neurons)", r[0], r[1], len(got))
				continue
			}
			msg := err.Error()
			for _, w := range []string{p + ": ", fmt.Sprintf("first %d, n %d", r[0], r[1]), "out of range", "has 4 row groups", "FileRowGroups"} {
				if !strings.Contains(msg, w) {
					t.Errorf("first %d, n %d: error %q does not say %q", r[0], r[1], msg, w)
				}
			}
		}
		if _, err := ReadDotpropsRowGroups(ctx, p, 3, 1, ReadOptions{}); err != nil {
			t.Errorf("last row group: %v", err)
		}
	})

	for _, tc := range []struct {
		col  string
		dict bool
	}{{"x", false}, {"vect_y", false}, {"neuron", true}} {
		t.Run("damaged "+tc.col+" in row group 2", func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "damaged.parquet")
			writeCodecPQ(t, p, cols, compress.Codecs.Zstd, rgRows)
			parquettest.DamagePage(t, p, 2, tc.col, tc.dict, 0.5, 8, 0xff)
			for _, r := range [][2]int{{0, 2}, {3, 1}} {
				if _, err := ReadDotpropsRowGroups(ctx, p, r[0], r[1], ReadOptions{}); err != nil {
					t.Errorf("row groups %d+%d do not hold the damage, but: %v", r[0], r[1], err)
				}
			}
			for _, r := range [][2]int{{2, 1}, {1, 3}, {0, 4}} {
				_, err := ReadDotpropsRowGroups(ctx, p, r[0], r[1], ReadOptions{})
				if err == nil {
					t.Fatalf("row groups %d+%d: no error for a damaged page", r[0], r[1])
				}
				msg := err.Error()
				if !strings.Contains(msg, p+": row group 2, column "+tc.col+": corrupt") || strings.Contains(msg, "\n") {
					t.Errorf("row groups %d+%d: error %q, want one line naming %s, row group 2 and column %s", r[0], r[1], msg, p, tc.col)
				}
			}
		})
	}

	t.Run("null in row group 1", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "null.parquet")
		b := goodCols()
		writePQ(t, p, withCol(b, "y", nullFloats([]float64{0, 0, 0, 0, 0}, 3)), nil, 2, false)
		for what, read := range map[string]func() error{
			"ReadDotpropsRowGroups": func() error { _, err := ReadDotpropsRowGroups(ctx, p, 1, 2, ReadOptions{}); return err },
			"ReadDotpropsFile":      func() error { _, err := ReadDotpropsFile(ctx, p, ReadOptions{}); return err },
			"ReadNeuronIndex":       func() error { _, err := ReadNeuronIndex(ctx, p, ReadOptions{}); return err },
		} {
			err := read()
			if err == nil || !strings.Contains(err.Error(), p+": column y is null at row 3 (row group 1)") {
				t.Errorf("%s: error %v, want it to name %s, column y, row 3 and row group 1", what, err, p)
			}
		}
		if _, err := ReadDotpropsRowGroups(ctx, p, 0, 1, ReadOptions{}); err != nil {
			t.Errorf("row group 0 has no null, but: %v", err)
		}
	})

	t.Run("FileRowGroups of bad files", func(t *testing.T) {
		dir := t.TempDir()
		csv := filepath.Join(dir, "table.parquet")
		if err := os.WriteFile(csv, []byte("neuron,x\n1,2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := FileRowGroups(ctx, csv); err == nil || !strings.Contains(err.Error(), csv+": not a Parquet file") {
			t.Errorf("CSV: error %v", err)
		}
		absent := filepath.Join(dir, "absent.parquet")
		if _, err := FileRowGroups(ctx, absent); err == nil || !strings.Contains(err.Error(), absent) {
			t.Errorf("absent file: error %v", err)
		}
	})
}

// nullFloats is vals with a null at position null.
func nullFloats(vals []float64, null int) arrow.Array {
	valid := make([]bool, len(vals))
	for i := range valid {
		valid[i] = i != null
	}
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}
