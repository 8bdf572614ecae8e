package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/sinks"
)

// Output is what Open found at a result directory.
type Output struct {
	Dir    string
	Dense  []string // the Zarr arrays present (sinks.DenseArrays)
	Sparse *Parts   // sparse parts at Dir, or nil
	TopK   *Parts   // top-k parts at Dir/topk, or nil
	// Marker is the run marker's parameters (nil without one).
	Marker map[string]any

	sources map[string]*Source // Source's, by what
}

// Parts is a sparse or top-k output: a directory of Parquet parts and a
// manifest written after the last of them.
type Parts struct {
	Kind     string // "sparse" or "top-k"
	Dir      string // OUT or OUT/topk
	Pattern  string // sinks.SparsePartPattern or sinks.TopKPartPattern
	Files    []string
	Manifest *sinks.Manifest // nil: no manifest
}

// What is the output's name among What: "sparse" or "topk".
func (p *Parts) What() string {
	if p.Kind == "top-k" {
		return "topk"
	}
	return p.Kind
}

// Where names the output's files for messages.
func (p *Parts) Where() string { return files.Join(p.Dir, p.Pattern) }

// unfinished says why the run did not finish the output ("" if it did).
func (p *Parts) unfinished() string {
	switch {
	case p.Manifest == nil:
		return "no " + sinks.ManifestName
	case !p.Manifest.Complete:
		return sinks.ManifestName + " says complete: false"
	}
	return ""
}

// damage says how a finished output differs from its manifest ("" if it
// does not).
func (p *Parts) damage() string {
	if p.Manifest == nil || len(p.Files) == p.Manifest.Parts {
		return ""
	}
	return fmt.Sprintf("%s counts %d part files, %d are there", sinks.ManifestName, p.Manifest.Parts, len(p.Files))
}

// Describe is a one-line summary: every kind of output found.
func (o *Output) Describe() string {
	var kinds []string
	if len(o.Dense) > 0 {
		kinds = append(kinds, fmt.Sprintf("dense output (Zarr %s)", strings.Join(o.Dense, ", ")))
	}
	if o.Sparse != nil {
		kinds = append(kinds, "sparse output (Parquet parts)")
	}
	if o.TopK != nil {
		kinds = append(kinds, fmt.Sprintf("top-k output (%s)", o.TopK.Dir))
	}
	switch len(kinds) {
	case 1:
		return kinds[0]
	case 2:
		return kinds[0] + " and " + kinds[1]
	}
	return strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}

// Open finds the outputs at out. A sparse or top-k output counts as
// present when its manifest or a part exists, or when the run marker says
// the run writes it (a run stopped before its first part). It fails when
// nothing recognisable is there, saying what it looked for.
func Open(ctx context.Context, out string) (*Output, error) {
	o := &Output{Dir: out}
	marker := files.Join(out, sinks.RunMarkerName)
	if ok, err := files.Exists(ctx, marker); err != nil {
		return nil, err
	} else if ok {
		b, err := files.ReadFile(ctx, marker)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Parameters map[string]any `json:"parameters"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: invalid run marker: %w", marker, err)
		}
		o.Marker = doc.Parameters
		if o.Marker == nil {
			o.Marker = map[string]any{}
		}
	}
	for _, name := range sinks.DenseArrays {
		ok, err := files.Exists(ctx, files.Join(out, name, ".zarray"))
		if err != nil {
			return nil, err
		}
		if ok {
			o.Dense = append(o.Dense, name)
		}
	}
	sink, _ := o.Marker["sink"].(string)
	topk := o.Marker["topk"] != nil && fmt.Sprint(o.Marker["topk"]) != "0"
	var err error
	if o.Sparse, err = openParts(ctx, "sparse", out, sinks.SparsePartPattern, sink == "sparse"); err != nil {
		return nil, err
	}
	if o.TopK, err = openParts(ctx, "top-k", files.Join(out, sinks.TopKDir), sinks.TopKPartPattern, sink == "topk" || topk); err != nil {
		return nil, err
	}
	if len(o.Dense) == 0 && o.Sparse == nil && o.TopK == nil {
		msg := fmt.Sprintf("%s: no NBLAST output found: looked for dense Zarr arrays (%s, %s), sparse Parquet parts (%s or %s) and a top-k output (%s or %s)",
			out, files.Join(out, sinks.ScoresArray, ".zarray"), files.Join(out, sinks.ReverseArray, ".zarray"),
			files.Join(out, sinks.SparsePartPattern), files.Join(out, sinks.ManifestName),
			files.Join(out, sinks.TopKDir, sinks.TopKPartPattern), files.Join(out, sinks.TopKDir, sinks.ManifestName))
		if o.Marker != nil {
			msg += fmt.Sprintf("; %s is there, so a run started here but wrote no output yet: rerun it with --exists resume", marker)
		}
		return nil, errors.New(msg)
	}
	return o, nil
}

func openParts(ctx context.Context, kind, dir, pattern string, expected bool) (*Parts, error) {
	parts, err := sinks.ListParts(ctx, dir, pattern)
	if err != nil {
		return nil, err
	}
	p := &Parts{Kind: kind, Dir: dir, Pattern: pattern, Files: parts}
	ok, err := files.Exists(ctx, files.Join(dir, sinks.ManifestName))
	if err != nil {
		return nil, err
	}
	if ok {
		m, err := sinks.ReadManifest(ctx, dir)
		if err != nil {
			return nil, err
		}
		p.Manifest = &m
	}
	if !ok && len(parts) == 0 && !expected {
		return nil, nil
	}
	return p, nil
}

// CheckDest refuses flag's destination path p (a file a command writes)
// when it lies inside the result directory out, whose files it could
// overwrite while reading them.
func CheckDest(flag, p, out string) error {
	if p == "" || p == "-" || !inside(out, p) {
		return nil
	}
	return fmt.Errorf("%s %s is inside the result %s that it reads: write it elsewhere (e.g. beside %s)", flag, p, out, out)
}

// inside reports whether p lies in directory dir (local paths compared
// absolute and cleaned; object store paths as prefixes).
func inside(dir, p string) bool {
	if files.IsRemote(dir) || files.IsRemote(p) {
		d := strings.TrimSuffix(dir, "/") + "/"
		return strings.HasPrefix(p, d)
	}
	ad, err1 := filepath.Abs(dir)
	ap, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
