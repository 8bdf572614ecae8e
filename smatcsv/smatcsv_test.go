package smatcsv_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatcsv"
)

func TestBuiltinMatricesMatchNavisFiles(t *testing.T) {
	dir := reference.Dir(t)
	for _, tc := range []struct {
		file string
		m    *scoring.Matrix
	}{
		{"smat/smat_fcwb.csv", scoring.FCWB()},
		{"smat/smat_alpha_fcwb.csv", scoring.AlphaFCWB()},
	} {
		got, err := smatcsv.Load(context.Background(), filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.DistEdges, tc.m.DistEdges) || !slices.Equal(got.DotEdges, tc.m.DotEdges) || !slices.Equal(got.Cells, tc.m.Cells) {
			t.Errorf("%s: built-in table %s differs from the CSV", tc.file, tc.m.Name)
		}
	}
	if got := scoring.FCWB().Score(0, 1); got != 11.3892297520051 {
		t.Errorf("smat(0,1) = %v, want 11.3892297520051", got)
	}
	if got := scoring.FCWB().AutoMaxDist(); got != 42 {
		t.Errorf("FCWB auto max_dist = %v, want 42", got)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ name, csv, want string }{
		{"empty", "", "need a header row"},
		{"bad label", "\"\",\"(0,1]\"\n\"0-1\",3\n", "not an interval"},
		{"gap", "\"\",\"(0,0.5]\",\"(0.5,1]\"\n\"(0,1]\",1,2\n\"(2,3]\",1,2\n", "does not start where"},
		{"short row", "\"\",\"(0,0.5]\",\"(0.5,1]\"\n\"(0,1]\",1\n", "wrong number of fields"},
		{"nan", "\"\",\"(0,1]\"\n\"(0,1]\",NaN\n", "is NaN"},
		{"text", "\"\",\"(0,1]\"\n\"(0,1]\",abc\n", "invalid syntax"},
	} {
		_, err := smatcsv.Read(strings.NewReader(tc.csv), "x.csv")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.csv") {
			t.Errorf("%s: err = %v, want it to name x.csv and contain %q", tc.name, err, tc.want)
		}
	}
}

func TestReadCustom(t *testing.T) {
	m, err := smatcsv.Read(strings.NewReader("\"\",\"(0,0.5]\",\"(0.5,1]\"\n\"(0,2]\",4,5\n\"(2,10]\",-1,-2\n"), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ d, dot, want float64 }{{0, 0, 4}, {2, 0.5, 4}, {2, 0.51, 5}, {2.1, 1, -2}, {100, 0.2, -1}} {
		if got := m.Score(tc.d, tc.dot); got != tc.want {
			t.Errorf("Score(%v, %v) = %v, want %v", tc.d, tc.dot, got, tc.want)
		}
	}
	if got := m.AutoMaxDist(); got != 2.1 {
		t.Errorf("AutoMaxDist = %v, want 2.1", got)
	}
}

// TestWriteReadRoundTrip: the written CSV reads back to the same bits, and
// navis' own files come back byte for byte.
func TestWriteReadRoundTrip(t *testing.T) {
	dist := []float64{0, 0.75, 1e-7 + 1, 500}
	dot := []float64{-0.5, 0.1, 1}
	cells := []float64{1.0 / 3, -0.0, 66.009252802492966, math.Nextafter(2, 3), -1e-300, 5}
	m, err := scoring.NewMatrix("t", dist, dot, cells)
	if err != nil {
		t.Fatal(err)
	}
	for _, mat := range []*scoring.Matrix{m, scoring.FCWB(), scoring.AlphaFCWB()} {
		var buf bytes.Buffer
		if err := smatcsv.Write(&buf, mat); err != nil {
			t.Fatal(err)
		}
		back, err := smatcsv.Read(bytes.NewReader(buf.Bytes()), "back")
		if err != nil {
			t.Fatalf("%s: %v\n%s", mat.Name, err, buf.String())
		}
		for i := range mat.Cells {
			if math.Float64bits(back.Cells[i]) != math.Float64bits(mat.Cells[i]) {
				t.Errorf("%s cell %d: %v read back as %v", mat.Name, i, mat.Cells[i], back.Cells[i])
			}
		}
		if !slices.Equal(back.DistEdges, mat.DistEdges) || !slices.Equal(back.DotEdges, mat.DotEdges) {
			t.Errorf("%s: edges %v %v read back as %v %v", mat.Name, mat.DistEdges, mat.DotEdges, back.DistEdges, back.DotEdges)
		}
	}
	var buf bytes.Buffer
	smatcsv.Write(&buf, m)
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != `"","(-0.5,0.1]","(0.1,1]"` {
		t.Errorf("header %s", first)
	}
	for _, name := range []string{"smat/smat_fcwb.csv", "smat/smat_alpha_fcwb.csv"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			raw, err := os.ReadFile(reference.File(t, name))
			if err != nil {
				t.Fatal(err)
			}
			mat, err := smatcsv.Read(bytes.NewReader(raw), name)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			smatcsv.Write(&out, mat)
			if !bytes.Equal(out.Bytes(), raw) {
				t.Errorf("%s written back differs from navis' file:\n%s", name, out.String())
			}
		})
	}
}
