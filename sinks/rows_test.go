package sinks

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// writeSparseParts writes the parts of the row chunks (one per query
// block) under dir, as the sparse sink does, and returns the rows expected
// back in name order.
func writeSparseParts(t *testing.T, dir string, str, float64Score bool, threshold float64) []SparseRow {
	t.Helper()
	ctx := context.Background()
	for _, c := range testRowChunks(str) {
		data, _, err := EncodeSparsePart(c, threshold, float64Score)
		if err != nil {
			t.Fatal(err)
		}
		if err := files.WriteFile(ctx, files.Join(dir, PartName(c.QB)), data); err != nil {
			t.Fatal(err)
		}
	}
	// Name order is query block order; a part is row-major.
	return bruteSparse(str, threshold, float64Score)
}

func TestRowsSparseStreamsEveryPart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		str, float64 bool
		bits         int
	}{{"int64/float32", false, false, 32}, {"string/float64", true, true, 64}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := writeSparseParts(t, dir, tc.str, tc.float64, testThreshold)
			// Files the readers must skip: the manifest, a temporary.
			if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(`{"complete":true}`), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []SparseRow
			if err := EachSparseRowBits(ctx, dir, func(r SparseRow, bits int) error {
				if bits != tc.bits {
					t.Fatalf("score bits %d, want %d", bits, tc.bits)
				}
				got = append(got, r)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("EachSparseRowBits: %d rows, want %d\n got %v\nwant %v", len(got), len(want), got, want)
			}
			all, err := ReadSparse(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			var plain []SparseRow
			if err := EachSparseRow(ctx, dir, func(r SparseRow) error { plain = append(plain, r); return nil }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain, all) {
				t.Errorf("EachSparseRow differs from ReadSparse")
			}
			parts, err := ListParts(ctx, dir, SparsePartPattern)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != len(queryBlocks) || filepath.Base(parts[0]) != PartName(0) || filepath.Base(parts[1]) != PartName(1) {
				t.Errorf("ListParts: %v", parts)
			}
		})
	}
}

func TestRowsSparseStopsAtFirstError(t *testing.T) {
	dir := t.TempDir()
	want := writeSparseParts(t, dir, false, false, math.Inf(-1))
	stop := errors.New("stop")
	calls := 0
	err := EachSparseRow(context.Background(), dir, func(SparseRow) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("err %v after %d calls (of %d rows), want the callback's error after 2", err, calls, len(want))
	}
	// A corrupt part is an error naming it.
	bad := filepath.Join(dir, PartName(9))
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = EachSparseRow(context.Background(), dir, func(SparseRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), PartName(9)) {
		t.Fatalf("corrupt part: err %v", err)
	}
	// No parts: no rows, no error.
	if err := EachSparseRow(context.Background(), t.TempDir(), func(SparseRow) error { t.Fatal("row"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestRowsTopKStreamsEveryPart(t *testing.T) {
	ctx := context.Background()
	for _, str := range []bool{false, true} {
		dir := t.TempDir()
		chunks := testChunks(str)
		const k = 3
		want := bruteTopK(chunks, k, testThreshold)
		// One file per query block, from per-query accumulators.
		blockOf := map[scoring.ID]int{}
		for _, c := range chunks {
			for _, id := range c.Queries {
				blockOf[id] = c.QB
			}
		}
		byBlock := map[int][]topkAcc{}
		for _, r := range want {
			qb := blockOf[r.Query]
			accs := byBlock[qb]
			if len(accs) == 0 || accs[len(accs)-1].Query != r.Query {
				accs = append(accs, topkAcc{QB: qb, Query: r.Query, TargetStr: str})
			}
			accs[len(accs)-1].Items = append(accs[len(accs)-1].Items, topkEntry{Target: r.Target, Score: r.Score})
			byBlock[qb] = accs
		}
		for qb, accs := range byBlock {
			data, _, err := encodeTopKPart(qb, k, accs)
			if err != nil {
				t.Fatal(err)
			}
			if err := files.WriteFile(ctx, files.Join(dir, TopKPartName(qb)), data); err != nil {
				t.Fatal(err)
			}
		}
		var got []TopKRow
		if err := EachTopKRowBits(ctx, dir, func(r TopKRow, bits int) error {
			if bits != 32 {
				t.Fatalf("top-k score bits %d, want 32", bits)
			}
			got = append(got, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		all, err := ReadTopK(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("str=%v: EachTopKRowBits gave %d rows, want %d:\n got %v\nwant %v", str, len(got), len(want), got, want)
		}
		if len(got) == 0 || !reflect.DeepEqual(got, all) {
			t.Fatalf("str=%v: EachTopKRowBits gave %d rows, ReadTopK %d", str, len(got), len(all))
		}
		var plain []TopKRow
		if err := EachTopKRow(ctx, dir, func(r TopKRow) error { plain = append(plain, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(plain, all) {
			t.Errorf("EachTopKRow differs from ReadTopK")
		}
	}
}
