package skeleton

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/scoring"
)

// ParseSWC reads one neuron from an SWC file as navis.read_swc does (navis
// 1.12, default precision 32): lines "node_id label x y z radius
// parent_id" separated by spaces or tabs, further columns ignored, "#"
// starting a comment (whole-line comments and trailing ones), blank lines
// skipped. x, y, z are parsed as float64 and rounded to float32, as navis
// stores them, and returned widened to float64 in the file's units (see
// Convert). Label and radius must be present but are not used.
//
// The skeleton passes Check. Errors (one line, naming the line, the node
// and the problem): too few columns, an unparsable number, a NaN or
// infinite coordinate (navis would silently drop such a node, re-rooting
// its children; here it is refused), a duplicate node id, a parent that
// does not exist, a cycle, an empty file. Several roots are allowed.
func ParseSWC(r io.Reader, id scoring.ID) (*Skeleton, error) {
	s := &Skeleton{ID: id, RowKind: "line"}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 7 {
			return nil, fmt.Errorf("line %d: %d columns, an SWC line needs 7 (node_id label x y z radius parent_id): %q", line, len(f), strings.TrimSpace(sc.Text()))
		}
		node, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: node id %q is not an integer", line, f[0])
		}
		parent, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d (node %d): parent id %q is not an integer (-1 for a root)", line, node, f[6])
		}
		var p [3]float64
		for k := range 3 {
			v, err := strconv.ParseFloat(f[2+k], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d (node %d): coordinate %q is not a number", line, node, f[2+k])
			}
			p[k] = float64(float32(v)) // navis' precision=32
			if !finite(p[k]) {
				return nil, fmt.Errorf("line %d (node %d): coordinate %q is not a finite number (navis would drop the node): fix or remove the node", line, node, f[2+k])
			}
		}
		if _, err := strconv.ParseFloat(f[5], 64); err != nil {
			return nil, fmt.Errorf("line %d (node %d): radius %q is not a number", line, node, f[5])
		}
		s.NodeID = append(s.NodeID, node)
		s.Parent = append(s.Parent, parent)
		s.Points = append(s.Points, p)
		s.Rows = append(s.Rows, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("after line %d: %w", line, err)
	}
	if len(s.NodeID) == 0 {
		return nil, fmt.Errorf("no nodes (%d lines, none an SWC node line): not an SWC file, or an empty neuron", line)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}
