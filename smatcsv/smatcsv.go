package smatcsv

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// Load reads the scoring matrix CSV at path (local or gs://; see Read).
func Load(ctx context.Context, path string) (*scoring.Matrix, error) {
	b, err := files.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("scoring matrix: %w", err)
	}
	return Read(bytes.NewReader(b), path)
}

// Read reads a scoring matrix in navis' CSV layout: a header row
// whose first cell is empty and whose other cells are |dot| bins, then one row
// per distance bin, its first cell the bin and the rest the scores. Bins are
// written as intervals "(lo,hi]"; consecutive bins must share an edge.
func Read(r io.Reader, name string) (*scoring.Matrix, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("scoring matrix %s: %w", name, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("scoring matrix %s: need a header row and at least one distance row", name)
	}
	header := rows[0]
	if len(header) < 2 {
		return nil, fmt.Errorf("scoring matrix %s: header has no |dot| bins", name)
	}
	dotEdges, err := edgesFromLabels(header[1:])
	if err != nil {
		return nil, fmt.Errorf("scoring matrix %s: header: %w", name, err)
	}
	var distLabels []string
	cells := make([]float64, 0, (len(rows)-1)*(len(header)-1))
	for i, row := range rows[1:] {
		if len(row) != len(header) {
			return nil, fmt.Errorf("scoring matrix %s: row %d has %d cells, header has %d", name, i+2, len(row), len(header))
		}
		distLabels = append(distLabels, row[0])
		for j, cell := range row[1:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			if err != nil {
				return nil, fmt.Errorf("scoring matrix %s: row %d column %d: %w", name, i+2, j+2, err)
			}
			cells = append(cells, v)
		}
	}
	distEdges, err := edgesFromLabels(distLabels)
	if err != nil {
		return nil, fmt.Errorf("scoring matrix %s: distance bins: %w", name, err)
	}
	return scoring.NewMatrix(name, distEdges, dotEdges, cells)
}

// edgesFromLabels turns consecutive interval labels "(a,b]" into edges.
func edgesFromLabels(labels []string) ([]float64, error) {
	edges := make([]float64, 0, len(labels)+1)
	for i, l := range labels {
		lo, hi, err := parseInterval(l)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			edges = append(edges, lo)
		} else if lo != edges[len(edges)-1] {
			return nil, fmt.Errorf("bin %q does not start where the previous one ends (%v)", l, edges[len(edges)-1])
		}
		edges = append(edges, hi)
	}
	return edges, nil
}

func parseInterval(label string) (lo, hi float64, err error) {
	s := strings.TrimSpace(label)
	if len(s) < 5 || (s[0] != '(' && s[0] != '[') || (s[len(s)-1] != ']' && s[len(s)-1] != ')') {
		return 0, 0, fmt.Errorf("bin label %q is not an interval like (0,0.75]", label)
	}
	parts := strings.Split(s[1:len(s)-1], ",")
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("bin label %q is not an interval like (0,0.75]", label)
	}
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("bin label %q: %w", label, err)
	}
	return lo, hi, nil
}

// Save writes m to path (local or gs://) in navis' CSV layout (Write),
// atomically: path holds the whole matrix or is left as it was.
func Save(ctx context.Context, path string, m *scoring.Matrix) error {
	w, err := files.Create(ctx, path)
	if err != nil {
		return err
	}
	defer w.Abort() // no-op after Commit
	if err := Write(w, m); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return w.Commit()
}

// Write writes m in navis' CSV layout, the one Read
// reads (and navis' Lookup2d.from_dataframe / pandas.read_csv(index_col=0)):
// a header row whose first cell is "" and whose other cells are the |dot|
// bins, then one row per distance bin, its label and the cells. Labels are
// double-quoted right-closed intervals "(lo,hi]" with the edges in the
// shortest form that reads back exactly (e.g. "(0,0.75]"), values likewise
// (shortest round-trip float64, so reading the file gives these bits).
// Lines end in LF. Writing a matrix read from navis' smat_fcwb.csv gives
// that file byte for byte.
func Write(w io.Writer, m *scoring.Matrix) error {
	var b strings.Builder
	label := func(lo, hi float64) {
		b.WriteString(`"(`)
		b.WriteString(strconv.FormatFloat(lo, 'g', -1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(hi, 'g', -1, 64))
		b.WriteString(`]"`)
	}
	b.WriteString(`""`)
	for j := 0; j+1 < len(m.DotEdges); j++ {
		b.WriteByte(',')
		label(m.DotEdges[j], m.DotEdges[j+1])
	}
	b.WriteByte('\n')
	nt := len(m.DotEdges) - 1
	for i := 0; i+1 < len(m.DistEdges); i++ {
		label(m.DistEdges[i], m.DistEdges[i+1])
		for _, v := range m.Cells[i*nt : (i+1)*nt] {
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
