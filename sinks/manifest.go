package sinks

// The manifest-last contract of the Parquet outputs (sparse parts and
// top-k files): every file is written whole and atomically, and
// DIR/_manifest.json, written after the last of them, records that the
// output is complete, with its row and file counts and the run's
// parameters. An output without a manifest is incomplete (its run failed
// or is still going).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/nblast-go/nblast/internal/files"
)

func init() {
	register.Function2x1[string, int64, partCount](countPart)
	register.Combiner1[partCount](&sumPartCountsFn{})
	register.DoFn2x1[context.Context, partCount, error](&finalizeManifestFn{})
	register.Function2x0[[]byte, func(partCount)](noParts)
	register.Emitter1[partCount]()
	beam.RegisterType(reflect.TypeOf((*partCount)(nil)).Elem())
}

// ManifestName is the manifest file of a sparse output (under OUT) and of
// a top-k output (under OUT/topk), written last.
const ManifestName = "_manifest.json"

// Manifest is DIR/_manifest.json. ReadManifest returns Parameters
// compacted (the file is indented).
type Manifest struct {
	Complete   bool            `json:"complete"`
	Rows       int64           `json:"rows"`  // rows in all files
	Parts      int             `json:"parts"` // files written
	Parameters json.RawMessage `json:"parameters"`
}

// manifestConfig says what writeManifest records.
type manifestConfig struct {
	Dir        string // where the files and the manifest are
	What       string // "sparse parts", "top-k files": for messages
	Expected   int    // distinct files this run writes
	PriorParts int    // files (and their rows) found written by a resumed run
	PriorRows  int64
	Parameters string // compact JSON
	Owner      RunOwner
}

// writeManifest writes cfg.Dir/_manifest.json once every file reported in
// written (KV<file name, rows>) is written: only if the number of distinct
// names equals cfg.Expected and cfg.Owner still owns the output, else the
// pipeline fails without a manifest. A file reported twice (a retried or
// duplicated element rewrote the same bytes) counts once.
func writeManifest(s beam.Scope, written beam.PCollection, cfg manifestConfig) {
	distinct := stats.MaxPerKey(s, written)
	// One zero count joins the files' so that the total exists when there
	// are none. The finaliser runs once, on the total, after the last file.
	// The total is its main input, not a side input: prism's scheduler
	// polled a stage waiting on a side input without pause (seen on
	// transforms.WorkItems, then fed the same way: a core's worth of CPU).
	counts := beam.Flatten(s, beam.ParDo(s, countPart, distinct), beam.ParDo(s, noParts, beam.Impulse(s)))
	beam.ParDo0(s, &finalizeManifestFn{Config: cfg}, beam.Combine(s, &sumPartCountsFn{}, counts))
}

// noParts is the zero count writeManifest adds to the files' counts.
func noParts(_ []byte, emit func(partCount)) { emit(partCount{}) }

// manifestParameters validates and compacts the caller's JSON ("" → {}).
func manifestParameters(doc string) (json.RawMessage, error) {
	if strings.TrimSpace(doc) == "" {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(doc)); err != nil {
		return nil, fmt.Errorf("manifest parameters are not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// partCount counts written files and their rows.
type partCount struct {
	Parts, Rows int64
}

func countPart(_ string, rows int64) partCount { return partCount{Parts: 1, Rows: rows} }

type sumPartCountsFn struct{}

func (sumPartCountsFn) MergeAccumulators(a, b partCount) partCount {
	return partCount{Parts: a.Parts + b.Parts, Rows: a.Rows + b.Rows}
}

type finalizeManifestFn struct {
	Config manifestConfig
}

func (f *finalizeManifestFn) ProcessElement(ctx context.Context, sum partCount) error {
	cfg := f.Config
	if sum.Parts != int64(cfg.Expected) {
		return fmt.Errorf("%s: %d of %d %s written; %s not written, so the output is not marked complete", cfg.Dir, sum.Parts, cfg.Expected, cfg.What, ManifestName)
	}
	if err := cfg.Owner.Check(ctx); err != nil {
		return err
	}
	m := Manifest{Complete: true, Rows: cfg.PriorRows + sum.Rows, Parts: cfg.PriorParts + int(sum.Parts), Parameters: json.RawMessage(cfg.Parameters)}
	return files.WriteJSON(ctx, files.Join(cfg.Dir, ManifestName), m)
}

// ReadManifest reads DIR/_manifest.json of a sparse (DIR = OUT) or top-k
// (DIR = OUT/topk) output. The error says so when the file is missing:
// the run has not finished (or failed).
func ReadManifest(ctx context.Context, dir string) (Manifest, error) {
	p := files.Join(dir, ManifestName)
	var m Manifest
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return m, fmt.Errorf("%s: no readable manifest, so the output is incomplete or absent: %w", dir, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: invalid manifest: %w", p, err)
	}
	if len(m.Parameters) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.Parameters); err != nil {
			return m, fmt.Errorf("%s: invalid parameters: %w", p, err)
		}
		m.Parameters = buf.Bytes()
	}
	return m, nil
}
