package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/zarr"
)

// What names the outputs a command may read: "sparse", "topk", or a dense
// array (sinks.ScoresArray, sinks.ReverseArray).
var What = []string{"sparse", "topk", sinks.ScoresArray, sinks.ReverseArray}

// Source is one output of a result, to be read: sparse or top-k parts, or
// a dense array.
type Source struct {
	Out   string
	Parts *Parts // sparse or top-k
	Array string // or a dense array's name
	// Z is the dense array, once Check has opened it.
	Z *zarr.Reader
	// Written lists the dense array's chunks present (Check; nil for
	// parts).
	Written map[[2]int]bool
}

// Source picks the output to read: what (one of What), or when what is ""
// the first of order that the result holds (or its first dense array).
// The same output is the same Source, so that its Status is taken once
// (a listing, on gs:// a request) however many times it is asked for.
func (o *Output) Source(what string, order ...string) (*Source, error) {
	if what == "" {
		for _, w := range order {
			if o.has(w) {
				what = w
				break
			}
		}
		if what == "" && len(o.Dense) > 0 {
			what = o.Dense[0]
		}
	}
	if s, ok := o.sources[what]; ok {
		return s, nil
	}
	s := &Source{Out: o.Dir}
	missing := func(kind, lookedFor string) error {
		msg := fmt.Sprintf("%s has no %s output (no %s); it holds: %s", o.Dir, kind, lookedFor, o.Describe())
		if len(o.Dense) > 0 {
			msg += "; " + ZarrHint(o.Dir)
		}
		return errors.New(msg)
	}
	switch what {
	case "sparse":
		if o.Sparse == nil {
			return nil, missing("sparse", files.Join(o.Dir, sinks.SparsePartPattern)+" or "+files.Join(o.Dir, sinks.ManifestName))
		}
		s.Parts = o.Sparse
	case "topk":
		if o.TopK == nil {
			return nil, missing("top-k", files.Join(o.Dir, sinks.TopKDir, sinks.TopKPartPattern)+" or "+files.Join(o.Dir, sinks.TopKDir, sinks.ManifestName))
		}
		s.Parts = o.TopK
	default:
		if !slices.Contains(o.Dense, what) {
			return nil, fmt.Errorf("%s has no dense array %s (no %s); it holds: %s", o.Dir, what, files.Join(o.Dir, what, ".zarray"), o.Describe())
		}
		s.Array = what
	}
	if o.sources == nil {
		o.sources = map[string]*Source{}
	}
	o.sources[what] = s
	return s, nil
}

func (o *Output) has(what string) bool {
	switch what {
	case "sparse":
		return o.Sparse != nil
	case "topk":
		return o.TopK != nil
	}
	return slices.Contains(o.Dense, what)
}

// Name names the source for messages.
func (s *Source) Name() string {
	if s.Parts != nil {
		return fmt.Sprintf("the %s output %s", s.Parts.Kind, s.Parts.Where())
	}
	return fmt.Sprintf("the dense array %s", files.Join(s.Out, s.Array))
}

// ZarrHint is how to read a dense output in Python (README.md).
func ZarrHint(out string) string {
	return fmt.Sprintf("export it with --what scores, or read it with zarr in Python: z = zarr.open_array(%q, mode=\"r\"); z.attrs[\"queries\"], z.attrs[\"targets\"]", files.Join(out, sinks.ScoresArray))
}

// Status is an output's verdict.
type Status int

const (
	Complete   Status = iota // its run finished and every part or chunk is there
	Incomplete               // its run did not finish (or is still running)
	Damaged                  // its run finished, but parts or chunks are missing
)

// Status opens a dense source's array (s.Z, s.Written) and returns the
// output's verdict and, unless Complete, why (for a message).
func (s *Source) Status(ctx context.Context) (Status, string, error) {
	if s.Parts != nil {
		if w := s.Parts.unfinished(); w != "" {
			return Incomplete, w, nil
		}
		if d := s.Parts.damage(); d != "" {
			return Damaged, d, nil
		}
		return Complete, "", nil
	}
	if s.Z == nil {
		z, err := zarr.Open(ctx, s.Out, s.Array)
		if err != nil {
			return 0, "", err
		}
		w, err := z.WrittenChunks(ctx)
		if err != nil {
			return 0, "", err
		}
		s.Z, s.Written = z, w
	}
	if !s.Z.Complete() {
		return Incomplete, "its .zattrs says complete: false", nil
	}
	if missing := s.missingChunks(); len(missing) > 0 {
		shown := missing[:min(len(missing), 5)]
		more := ""
		if len(missing) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(missing)-len(shown))
		}
		return Damaged, fmt.Sprintf("%d of its %d chunks are missing: %s%s", len(missing), s.chunks(), strings.Join(shown, ", "), more), nil
	}
	return Complete, "", nil
}

// chunks is the dense array's number of chunks.
func (s *Source) chunks() int {
	g := s.Z.Grid()
	return g[0] * g[1]
}

// missingChunks names the dense array's chunks that are not there.
func (s *Source) missingChunks() []string {
	var out []string
	g := s.Z.Grid()
	for i := range g[0] {
		for j := range g[1] {
			if !s.Written[[2]int{i, j}] {
				out = append(out, fmt.Sprintf("%d.%d", i, j))
			}
		}
	}
	return out
}

// Check is the verdict every reader gives: nil for a complete output, or
// an error that says what is wrong and what to do. allow
// (--allow_incomplete) accepts an incomplete or damaged output: its
// readers then read what is there.
func (s *Source) Check(ctx context.Context, allow bool) error {
	st, why, err := s.Status(ctx)
	if err != nil || st == Complete || allow {
		return err
	}
	return s.verdict(st, why)
}

// verdict is the message of a status other than Complete.
func (s *Source) verdict(st Status, why string) error {
	where, what := s.where()
	if st == Incomplete {
		return fmt.Errorf("%s: %s is incomplete (%s): its run did not finish (or is still running); resume it with the same command and --exists resume, or pass --allow_incomplete to read what is written so far", where, what, why)
	}
	return fmt.Errorf("%s: %s is damaged (%s): it changed after its run finished; rerun the same command with --exists resume, which scores again what is missing, or pass --allow_incomplete to read what is there", where, what, why)
}

// where is the output's directory and what it is, for messages.
func (s *Source) where() (dir, what string) {
	if s.Parts != nil {
		return s.Parts.Dir, "the " + s.Parts.Kind + " output"
	}
	return s.Out, "the dense array " + s.Array
}

// DenseIDs returns the dense array's query and target ids (its
// attributes), checked against its shape. Status must have opened it.
func (s *Source) DenseIDs() (queries, targets []scoring.ID, err error) {
	z := s.Z
	path := files.Join(s.Out, s.Array)
	if queries, err = AttrIDs(z.Attrs["queries"], path, "queries"); err != nil {
		return nil, nil, err
	}
	if targets, err = AttrIDs(z.Attrs["targets"], path, "targets"); err != nil {
		return nil, nil, err
	}
	if len(queries) != z.Shape[0] || len(targets) != z.Shape[1] {
		return nil, nil, fmt.Errorf("%s/.zattrs: %d queries and %d targets for shape %v", path, len(queries), len(targets), z.Shape)
	}
	return queries, targets, nil
}

// AttrIDs converts the ids of a Zarr array's attrs (json.Number or
// string) to ids.
func AttrIDs(v any, path, key string) ([]scoring.ID, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s/.zattrs: no %q id list", path, key)
	}
	ids := make([]scoring.ID, len(list))
	for i, x := range list {
		switch x := x.(type) {
		case string:
			ids[i] = scoring.StrID(x)
		case json.Number:
			n, err := strconv.ParseInt(x.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s/.zattrs: %s[%d] = %s is not an int64 id", path, key, i, x)
			}
			ids[i] = scoring.IntID(n)
		default:
			return nil, fmt.Errorf("%s/.zattrs: %s[%d] = %v is neither an integer nor a string", path, key, i, x)
		}
	}
	return ids, nil
}
