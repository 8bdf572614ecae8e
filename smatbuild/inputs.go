package smatbuild

// The inputs of runner smat that say which neurons match: --matches
// (groups of neurons of one type) and --pairs (pairs, each matching or
// not), and --write_pairs, the pairs used in the layout of --pairs.

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// Groups are the groups of --matches: members lists each group's
// neurons (indices into --in, in file order of the group's rows), of gives
// each neuron of --in its group (neurons in no group get a group of their
// own, so that they pair with every other neuron in the non-matching draw).
type Groups struct {
	Members          [][]int32
	Of               []int32
	Multi, Ungrouped int // groups of >= 2 neurons; neurons of --in in no group
}

// ReadMatches reads --matches (see its flag text). Each neuron may be in
// one group only; ids must be neurons of --in.
func ReadMatches(ctx context.Context, path string, index map[string]int32) (*Groups, error) {
	rows, lines, err := readCSVRows(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("--matches: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("--matches %s: the file is empty: want a header neuron,group and one row per neuron, or one group per line", path)
	}
	g := &Groups{Of: make([]int32, len(index))}
	for i := range g.Of {
		g.Of[i] = -1
	}
	lineOf := map[int32]int{}
	add := func(line int, label string, group int32, id string) error {
		id = strings.TrimSpace(id)
		i, ok := index[id]
		if !ok {
			return fmt.Errorf("--matches %s line %d: neuron %q is not in --in (%d neurons)", path, line, id, len(index))
		}
		if g.Of[i] >= 0 {
			return fmt.Errorf("--matches %s line %d: neuron %s is already in a group (line %d): a neuron belongs to one group", path, line, id, lineOf[i])
		}
		g.Of[i], lineOf[i] = group, line
		g.Members[group] = append(g.Members[group], i)
		return nil
	}
	h := rows[0]
	long := len(h) == 2 && oneOf(h[0], "neuron", "neuron_id", "id") && oneOf(h[1], "group", "type")
	if long {
		byLabel := map[string]int32{}
		for k, r := range rows[1:] {
			line := lines[k+1]
			if len(r) != 2 {
				return nil, fmt.Errorf("--matches %s line %d: %d fields, want 2 (neuron,group)", path, line, len(r))
			}
			label := strings.TrimSpace(r[1])
			if label == "" {
				return nil, fmt.Errorf("--matches %s line %d: neuron %s has an empty group", path, line, strings.TrimSpace(r[0]))
			}
			gi, ok := byLabel[label]
			if !ok {
				gi = int32(len(g.Members))
				byLabel[label] = gi
				g.Members = append(g.Members, nil)
			}
			if err := add(line, label, gi, r[0]); err != nil {
				return nil, err
			}
		}
	} else {
		for k, r := range rows {
			gi := int32(len(g.Members))
			g.Members = append(g.Members, nil)
			for _, id := range r {
				if strings.TrimSpace(id) == "" {
					continue
				}
				if err := add(lines[k], "", gi, id); err != nil {
					if k == 0 {
						err = fmt.Errorf("%w (a file with one row per neuron needs the header neuron,group)", err)
					}
					return nil, err
				}
			}
		}
	}
	next := int32(len(g.Members))
	for i := range g.Of {
		if g.Of[i] < 0 {
			g.Of[i] = next
			next++
			g.Ungrouped++
		}
	}
	for _, m := range g.Members {
		if len(m) >= 2 {
			g.Multi++
		}
	}
	return g, nil
}

func oneOf(s string, names ...string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}

// Pairs are the rows of --pairs.
type Pairs struct{ Match, NonMatch []Pair }

// ReadPairs reads --pairs: a header kind,query,target (or query,target,
// all nonmatch), kind match or nonmatch, neurons of --in, query ≠ target,
// no pair twice in one kind.
func ReadPairs(ctx context.Context, path string, index map[string]int32) (*Pairs, error) {
	rows, lines, err := readCSVRows(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("--pairs: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("--pairs %s: the file is empty: want the header kind,query,target and one row per pair", path)
	}
	var withKind bool
	switch h := rows[0]; {
	case len(h) == 3 && oneOf(h[0], "kind") && oneOf(h[1], "query") && oneOf(h[2], "target"):
		withKind = true
	case len(h) == 2 && oneOf(h[0], "query") && oneOf(h[1], "target"):
	default:
		return nil, fmt.Errorf("--pairs %s line %d: header %q: want kind,query,target (kind match or nonmatch) or query,target (all nonmatch)", path, lines[0], strings.Join(h, ","))
	}
	out := &Pairs{}
	seen := map[[3]int32]int{}
	for k, r := range rows[1:] {
		line := lines[k+1]
		want := 2
		if withKind {
			want = 3
		}
		if len(r) != want {
			return nil, fmt.Errorf("--pairs %s line %d: %d fields, want %d", path, line, len(r), want)
		}
		kind := "nonmatch"
		if withKind {
			kind, r = strings.ToLower(strings.TrimSpace(r[0])), r[1:]
		}
		var p Pair
		for c, id := range r {
			id = strings.TrimSpace(id)
			i, ok := index[id]
			if !ok {
				return nil, fmt.Errorf("--pairs %s line %d: neuron %q is not in --in (%d neurons)", path, line, id, len(index))
			}
			if c == 0 {
				p.Q = i
			} else {
				p.T = i
			}
		}
		if p.Q == p.T {
			return nil, fmt.Errorf("--pairs %s line %d: query and target are both %s: a neuron is not paired with itself", path, line, strings.TrimSpace(r[0]))
		}
		var non int32
		switch kind {
		case "match":
		case "nonmatch":
			non = 1
		default:
			return nil, fmt.Errorf("--pairs %s line %d: kind %q: want match or nonmatch", path, line, kind)
		}
		key := [3]int32{non, p.Q, p.T}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("--pairs %s line %d: the %s pair %s, %s is already on line %d: give each pair once", path, line, kind, strings.TrimSpace(r[0]), strings.TrimSpace(r[1]), prev)
		}
		seen[key] = line
		if non == 1 {
			out.NonMatch = append(out.NonMatch, p)
		} else {
			out.Match = append(out.Match, p)
		}
	}
	if len(out.Match)+len(out.NonMatch) == 0 {
		return nil, fmt.Errorf("--pairs %s: no pairs after the header", path)
	}
	return out, nil
}

// readCSVRows reads a small CSV (local or gs://) whole: its non-empty
// records and each one's line number. Lines starting with # are comments.
func readCSVRows(ctx context.Context, path string) (rows [][]string, lines []int, err error) {
	b, err := files.ReadFile(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, lines, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		rows, lines = append(rows, rec), append(lines, line)
	}
}

// WritePairs writes the pairs used (kind,query,target, ids as in --in)
// atomically to path.
func WritePairs(ctx context.Context, path string, ids []scoring.ID, match, nonmatch []Pair) error {
	w, err := files.Create(ctx, path)
	if err != nil {
		return fmt.Errorf("--write_pairs: %w", err)
	}
	defer w.Abort()
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Write([]string{"kind", "query", "target"})
	for _, set := range []struct {
		kind  string
		pairs []Pair
	}{{"match", match}, {"nonmatch", nonmatch}} {
		for _, p := range set.pairs {
			cw.Write([]string{set.kind, ids[p.Q].String(), ids[p.T].String()})
		}
	}
	cw.Flush()
	if err := errors.Join(cw.Error(), bw.Flush()); err != nil {
		return fmt.Errorf("--write_pairs %s: %w", path, err)
	}
	return w.Commit()
}

// Neurons are the neurons of a build: ids and point counts in input order
// (files in order, neurons in file order), the prepared neurons when read
// in full, and each id's index.
type Neurons struct {
	IDs     []scoring.ID
	Points  []int
	Neurons []*scoring.Neuron // nil unless read in full
	Index   map[string]int32  // ID.String() → position
}

// ReadNeurons reads the neurons of files: in full (full, for local
// counting: validated and prepared), or only their ids and point counts
// (a Beam build's workers read the rest). Every id must be unique; with
// opt.IgnoreAlpha false (use_alpha) every neuron needs alpha values.
func ReadNeurons(ctx context.Context, files []string, opt dotprops.ReadOptions, full bool) (*Neurons, error) {
	ns := &Neurons{}
	for _, f := range files {
		if !full {
			info, err := dotprops.ReadNeuronIndex(ctx, f, opt)
			if err != nil {
				return nil, err
			}
			for _, n := range info {
				ns.IDs, ns.Points = append(ns.IDs, n.ID), append(ns.Points, n.Points)
			}
			continue
		}
		dps, err := dotprops.ReadDotpropsFile(ctx, f, opt)
		if err != nil {
			return nil, err
		}
		for _, d := range dps {
			if !opt.IgnoreAlpha && !d.HasAlpha() {
				return nil, fmt.Errorf("%s: neuron %s has no alpha values, which --use_alpha needs: run without --use_alpha, or recompute the dotprops with navis.make_dotprops", f, d.ID)
			}
			n, err := scoring.NewNeuron(d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			ns.Neurons = append(ns.Neurons, n)
			ns.IDs, ns.Points = append(ns.IDs, d.ID), append(ns.Points, d.Len())
		}
	}
	ns.Index = make(map[string]int32, len(ns.IDs))
	for i, id := range ns.IDs {
		if _, dup := ns.Index[id.String()]; dup {
			return nil, fmt.Errorf("neuron %s occurs twice (in one file or in two): every neuron id must be unique", id)
		}
		ns.Index[id.String()] = int32(i)
	}
	return ns, nil
}

// Chosen are the pairs a build counts, and where each set came from (for
// the summary).
type Chosen struct {
	Match, NonMatch         []Pair
	MatchFrom, NonMatchFrom string
}

// ChoosePairs picks the pairs to count: the match rows of --pairs, else
// every pair inside a group of --matches (matches names that file, for
// messages); the nonmatch rows of --pairs, else pairs across groups drawn
// at random (seed) until they hold as many query points as the matching
// pairs. warn receives what the summary should mention.
func ChoosePairs(groups *Groups, given *Pairs, points []int, seed uint64, matches string, warn func(string)) (*Chosen, error) {
	ch := &Chosen{MatchFrom: "--matches", NonMatchFrom: "drawn at random, seed " + strconv.FormatUint(seed, 10)}
	if given != nil && len(given.Match) > 0 {
		ch.Match, ch.MatchFrom = given.Match, "--pairs"
	} else {
		ch.Match = MatchingPairs(groups.Members)
		if len(ch.Match) == 0 {
			return nil, fmt.Errorf("--matches %s: no group has two or more neurons of --in (%d groups, all of one neuron), so there are no matching pairs: a group lists the neurons of one type", matches, len(groups.Members))
		}
	}
	need := QueryPoints(ch.Match, points)
	if given != nil && len(given.NonMatch) > 0 {
		ch.NonMatch, ch.NonMatchFrom = given.NonMatch, "--pairs"
		if groups != nil {
			same := 0
			for _, p := range ch.NonMatch {
				if groups.Of[p.Q] == groups.Of[p.T] {
					same++
				}
			}
			if same > 0 {
				warn(fmt.Sprintf("%d of the %d nonmatch pairs of --pairs are inside one group of --matches; they are counted as non-matching, as given", same, len(ch.NonMatch)))
			}
		}
		return ch, nil
	}
	nonmatch, exhausted, err := DrawNonMatching(groups.Of, points, need, seed)
	if err != nil {
		return nil, err
	}
	if len(nonmatch) == 0 {
		return nil, fmt.Errorf("--matches %s: every neuron of --in is in one group, so there are no non-matching pairs: add neurons of other types", matches)
	}
	if exhausted {
		warn(fmt.Sprintf("all %d pairs across groups hold %d query points, fewer than the %d of the matching pairs: all are used", len(nonmatch), QueryPoints(nonmatch, points), need))
	}
	ch.NonMatch = nonmatch
	return ch, nil
}
