package results

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
)

// Names maps neuron ids (as printed) to names; nil prints none.
type Names map[string]string

// Paren is " (name)" for a known id, else "".
func (n Names) Paren(id string) string {
	if name, ok := n[id]; ok {
		return " (" + name + ")"
	}
	return ""
}

// Column is "  name" for a known id, "  ?" for an unknown one with a
// table, else "".
func (n Names) Column(id string) string {
	if n == nil {
		return ""
	}
	if name, ok := n[id]; ok {
		return "  " + name
	}
	return "  ?"
}

// idColumns are the id columns readNames accepts, in order of preference.
var idColumns = []string{"neuron_id", "id", "neuron"}

// ReadNames reads a CSV with a header holding an id column (neuron_id, id
// or neuron) and a name column, as navis meta tables have.
func ReadNames(ctx context.Context, p string) (Names, error) {
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("--names: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("--names %s: no CSV header: %w", p, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	col := func(name string) int {
		return slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == name })
	}
	idc := -1
	for _, c := range idColumns {
		if idc = col(c); idc >= 0 {
			break
		}
	}
	namec := col("name")
	switch {
	case idc < 0:
		return nil, fmt.Errorf("--names %s: no id column (neuron_id, id or neuron) in the header %q", p, header)
	case namec < 0:
		return nil, fmt.Errorf("--names %s: no name column in the header %q", p, header)
	}
	names := Names{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--names %s: %w", p, err)
		}
		if idc >= len(rec) || namec >= len(rec) {
			return nil, fmt.Errorf("--names %s: line %d has %d fields, too few for columns %s and name", p, line, len(rec), header[idc])
		}
		id := strings.TrimSpace(rec[idc])
		if _, dup := names[id]; !dup && id != "" {
			names[id] = rec[namec]
		}
	}
	return names, nil
}
