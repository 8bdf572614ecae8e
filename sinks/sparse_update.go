package sinks

// The update of a sparse output (--exists update): a job scores
// only the pairs of new or changed neurons, writing their rows as parts of
// its own under OUT/.update/delta; then, in the job's last step, the rows
// of the earlier output that stay (neither neuron removed nor changed) and
// the new rows are laid out as a fresh run on the new inputs lays them out
// (one part per query block of its plan, rows by query then target in plan
// order), in OUT/.update/parts, and switched into OUT.
//
//	OUT/.update/spec.gob             what the merge needs (UpdateSpec)
//	OUT/.update/delta/part-*.parquet the rows scored by the update's job
//	OUT/.update/parts/part-*.parquet the new output's parts
//	OUT/.update/parts/_manifest.json written after the last new part: the
//	                                 commit point of the update
//
// Until the commit point the earlier output is untouched and complete. From
// it on, the switch (FinishSparseUpdate) removes OUT's manifest (the output
// reads as incomplete), removes the old parts, writes the new run marker,
// copies the new parts in, writes the manifest and removes OUT/.update.
// Every step can be redone, so a switch cut short is finished by the next
// run with --exists update or --exists resume.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x1[context.Context, partCount, func(int), error](&finalizeUpdateFn{})
}

// UpdateDir is the work area of an update under OUT.
const UpdateDir = ".update"

const (
	updateSpecName  = "spec.gob"
	updateDeltaDir  = "delta"
	updatePartsDir  = "parts"
	updatePartGlob  = SparsePartPattern
	updateSpecWhere = "the update's work area"
)

// UpdateSpec is what the merge of an update needs, written by the launcher
// to OUT/.update/spec.gob before the job (the job graph carries only OUT).
type UpdateSpec struct {
	// Queries and Targets are the new inputs' neurons in the order of a
	// fresh run's plan; Targets is nil for an all-by-all (the queries).
	Queries, Targets []scoring.ID
	BlockSize        int
	// DropQueries and DropTargets: rows of the earlier output whose query
	// (target) is among these (removed or changed neurons) are dropped.
	DropQueries, DropTargets []string // ids as text (scoring.ID.String)
	// AffectedQueries and AffectedTargets (new or changed neurons): a row
	// the update's job wrote is kept only if its query or its target is
	// among these (its one mixed work item scores a few other pairs, which
	// the earlier output already holds).
	AffectedQueries, AffectedTargets []scoring.ID
	// Float64: scores are DOUBLE, not FLOAT.
	Float64 bool
	// Manifest is the new manifest's "parameters" (compact JSON).
	Manifest []byte
	// Record is the new run marker (OUT/_nblast_run.json), written as is.
	Record []byte
	// Arrays names the arrays of an update of a dense output.
	Arrays []string
}

func updatePath(out string, elem ...string) string {
	return files.Join(out, append([]string{UpdateDir}, elem...)...)
}

// UpdateDeltaDir is where an update's job writes the rows it scores.
func UpdateDeltaDir(out string) string { return updatePath(out, updateDeltaDir) }

// EncodeUpdateSpec is spec's stored form (deterministic: the same update
// of the same output gives the same bytes).
func EncodeUpdateSpec(spec UpdateSpec) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(spec); err != nil {
		return nil, fmt.Errorf("encode the update's spec: %w", err)
	}
	return buf.Bytes(), nil
}

// DeltaComplete reports whether OUT/.update holds the rows of the update
// whose stored spec is spec, all scored (an update cut short while
// merging): a rerun of it then only merges and switches.
func DeltaComplete(ctx context.Context, out string, spec []byte) bool {
	have, err := files.ReadFile(ctx, updatePath(out, updateSpecName))
	if err != nil || !bytes.Equal(have, spec) {
		return false
	}
	m, err := ReadManifest(ctx, UpdateDeltaDir(out))
	if err != nil || !m.Complete {
		return false
	}
	parts, err := ListParts(ctx, UpdateDeltaDir(out), updatePartGlob)
	return err == nil && len(parts) == m.Parts
}

// StartUpdate clears what an earlier, unfinished update left in OUT/.update
// (one with no commit point: FinishSparseUpdate first) and writes spec.
func StartUpdate(ctx context.Context, out string, spec UpdateSpec) error {
	b, err := EncodeUpdateSpec(spec)
	if err != nil {
		return err
	}
	return StartUpdateEncoded(ctx, out, b)
}

// StartUpdateEncoded is StartUpdate of an encoded spec (EncodeUpdateSpec).
func StartUpdateEncoded(ctx context.Context, out string, spec []byte) error {
	if err := files.RemoveAll(ctx, updatePath(out)); err != nil {
		return fmt.Errorf("clear %s: %w", updatePath(out), err)
	}
	return files.WriteFile(ctx, updatePath(out, updateSpecName), spec)
}

func readUpdateSpec(ctx context.Context, out string) (UpdateSpec, error) {
	var spec UpdateSpec
	p := updatePath(out, updateSpecName)
	b, err := files.ReadFile(ctx, p)
	if err != nil {
		return spec, fmt.Errorf("%s: %w", updateSpecWhere, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&spec); err != nil {
		return spec, fmt.Errorf("%s: %s: %w", updateSpecWhere, p, err)
	}
	return spec, nil
}

// SparseUpdateConfig says how WriteSparseUpdate writes.
type SparseUpdateConfig struct {
	Threshold float64 // as SparseConfig
	Float64   bool
	Owner     RunOwner // checked before the merge and the switch
}

// WriteSparseUpdate writes each chunk (the rows an update scored, one
// query block of its own plan each) as a part under UpdateDeltaDir(out),
// as WriteSparse does; once all expected parts are written, merges them
// with the earlier output's rows into the new output and switches it into
// OUT (MergeSparseUpdate, then FinishSparseUpdate), from the spec
// StartUpdate wrote.
func WriteSparseUpdate(s beam.Scope, chunks beam.PCollection, out string, cfg SparseUpdateConfig, expected int) {
	s = s.Scope("WriteSparseUpdate")
	written := beam.ParDo(s, &writeSparsePartFn{Out: UpdateDeltaDir(out), Threshold: scores.Threshold(cfg.Threshold), Float64: cfg.Float64}, chunks)
	distinct := stats.MaxPerKey(s, written)
	counts := beam.Flatten(s, beam.ParDo(s, countPart, distinct), beam.ParDo(s, noParts, beam.Impulse(s)))
	lastStep(s, &finalizeUpdateFn{Out: out, Expected: expected, Owner: cfg.Owner}, beam.Combine(s, &sumPartCountsFn{}, counts))
}

type finalizeUpdateFn struct {
	Out      string
	Expected int
	Owner    RunOwner
}

func (f *finalizeUpdateFn) ProcessElement(ctx context.Context, sum partCount, done func(int)) error {
	defer done(0) // lastStep
	if sum.Parts != int64(f.Expected) {
		return fmt.Errorf("%s: %d of %d parts of the update written; the earlier output is kept as it was", UpdateDeltaDir(f.Out), sum.Parts, f.Expected)
	}
	if err := f.Owner.Check(ctx); err != nil {
		return err
	}
	// The rows scored are all there: a later update with the same spec
	// reuses them if the merge is cut short (DeltaComplete).
	if f.Expected > 0 {
		if err := files.WriteJSON(ctx, files.Join(UpdateDeltaDir(f.Out), ManifestName), Manifest{Complete: true, Parts: f.Expected, Parameters: []byte("{}")}); err != nil {
			return err
		}
	}
	if err := MergeSparseUpdate(ctx, f.Out); err != nil {
		return err
	}
	_, err := FinishSparseUpdate(ctx, f.Out, f.Owner)
	return err
}

// updateRow is a row of the merged output: positions in the new plan.
type updateRow struct {
	q, t  int32
	score float64
}

// MergeSparseUpdate lays out the new output in OUT/.update/parts: the rows
// of OUT's parts whose neurons are neither removed nor changed, and the
// rows under UpdateDeltaDir whose query or target is new or changed, one
// part per query block of the new plan (as a fresh run writes them), then
// the manifest (the commit point). OUT itself is not touched.
//
// The new blocks are written in order, each from the parts (earlier and
// new) holding rows of its queries: a first pass lists each part's
// queries, the second reads a part when the first block that needs it is
// written and drops it after the last, so memory holds the parts whose
// queries span the blocks being written (a few, as a plan's blocks are
// spatially compact), not the whole output.
func MergeSparseUpdate(ctx context.Context, out string) error {
	spec, err := readUpdateSpec(ctx, out)
	if err != nil {
		return err
	}
	m := newMerge(spec)
	old, err := ListParts(ctx, out, updatePartGlob)
	if err != nil {
		return err
	}
	delta, err := ListParts(ctx, UpdateDeltaDir(out), updatePartGlob)
	if err != nil {
		return err
	}
	var sources []*mergeSource
	for _, p := range old {
		sources = append(sources, &mergeSource{path: p, where: "the earlier output", keep: m.keepOld})
	}
	for _, p := range delta {
		sources = append(sources, &mergeSource{path: p, where: updateSpecWhere, keep: m.keepNew})
	}
	// First pass: the new blocks each part holds rows for.
	need := make([][]*mergeSource, m.blocks)
	for _, src := range sources {
		blocks := map[int]bool{}
		var bad error
		err := readPart(ctx, src.path, false, func(c outputColumns, i int) {
			if q, t := c.query(i), c.target(i); src.keep(q, t) {
				if b, err := m.block(src, q, t); err != nil {
					bad = cmp.Or(bad, err)
				} else {
					blocks[b] = true
				}
			}
		})
		if err != nil {
			return fmt.Errorf("%s: %w", src.where, err)
		} else if bad != nil {
			return bad
		}
		src.uses = len(blocks)
		for b := range blocks {
			need[b] = append(need[b], src)
		}
	}
	var total int64
	for qb := range m.blocks {
		var rows []updateRow
		for _, src := range need[qb] {
			if src.rows == nil {
				if err := m.load(ctx, src); err != nil {
					return err
				}
			}
			rows = append(rows, src.rows[qb]...)
			delete(src.rows, qb)
			if src.uses--; src.uses == 0 {
				src.rows = nil
			}
		}
		c, err := mergedChunk(qb, m.bs, spec.Queries, m.targets, rows)
		if err != nil {
			return err
		}
		// The rows kept their scores as stored: no threshold again (a
		// FLOAT score may round below it), NaN never occurs.
		data, n, err := EncodeSparsePart(c, math.Inf(-1), spec.Float64)
		if err != nil {
			return err
		}
		if err := files.WriteFile(ctx, updatePath(out, updatePartsDir, PartName(qb)), data); err != nil {
			return err
		}
		total += n
	}
	man := Manifest{Complete: true, Rows: total, Parts: m.blocks, Parameters: spec.Manifest}
	return files.WriteJSON(ctx, updatePath(out, updatePartsDir, ManifestName), man)
}

// merge is what MergeSparseUpdate knows of the new plan and the rows to
// keep.
type merge struct {
	targets      []scoring.ID
	qpos, tpos   map[scoring.ID]int
	dropQ, dropT map[string]bool
	affQ, affT   map[scoring.ID]bool
	bs, blocks   int
}

func newMerge(spec UpdateSpec) *merge {
	m := &merge{targets: spec.Targets, bs: spec.BlockSize}
	if m.targets == nil {
		m.targets = spec.Queries
	}
	m.qpos, m.tpos = idPositions(spec.Queries), idPositions(m.targets)
	m.dropQ, m.dropT = textSet(spec.DropQueries), textSet(spec.DropTargets)
	m.affQ, m.affT = idSet(spec.AffectedQueries), idSet(spec.AffectedTargets)
	m.blocks = (len(spec.Queries) + m.bs - 1) / m.bs
	return m
}

// keepOld: a row of the earlier output stays unless a neuron of it was
// removed or changed.
func (m *merge) keepOld(q, t scoring.ID) bool { return !m.dropQ[q.String()] && !m.dropT[t.String()] }

// keepNew: a row the update scored is taken if a neuron of it is new or
// changed (the others are the earlier output's).
func (m *merge) keepNew(q, t scoring.ID) bool { return m.affQ[q] || m.affT[t] }

// mergeSource is a part the merge reads: its kept rows by new block, read
// when first needed (rows) and dropped after the last block (uses) that
// needs them.
type mergeSource struct {
	path, where string
	keep        func(q, t scoring.ID) bool
	uses        int
	rows        map[int][]updateRow
}

// block is the new block of a kept row of src, or an error if the row
// names a neuron the new plan does not hold.
func (m *merge) block(src *mergeSource, q, t scoring.ID) (int, error) {
	a, ok := m.qpos[q]
	_, ok2 := m.tpos[t]
	if !ok || !ok2 {
		return 0, fmt.Errorf("%s: %s: row (%s, %s) names a neuron that is neither in the new inputs nor dropped: the update's work area is not this update's (rerun with --exists update)", src.where, src.path, q, t)
	}
	return a / m.bs, nil
}

func (m *merge) load(ctx context.Context, src *mergeSource) error {
	src.rows = map[int][]updateRow{}
	var bad error
	err := readPart(ctx, src.path, false, func(c outputColumns, i int) {
		q, t := c.query(i), c.target(i)
		if !src.keep(q, t) {
			return
		}
		if _, err := m.block(src, q, t); err != nil {
			bad = cmp.Or(bad, err)
			return
		}
		a, b := m.qpos[q], m.tpos[t]
		src.rows[a/m.bs] = append(src.rows[a/m.bs], updateRow{int32(a), int32(b), c.score(i)})
	})
	if err != nil {
		return fmt.Errorf("%s: %w", src.where, err)
	}
	return bad
}

// mergedChunk is the row Chunk of new query block qb holding rows
// (positions in the plan's queries and targets), NaN elsewhere.
func mergedChunk(qb, bs int, queries, targets []scoring.ID, rows []updateRow) (scores.Chunk, error) {
	slices.SortFunc(rows, func(a, b updateRow) int {
		return cmp.Or(cmp.Compare(a.q, b.q), cmp.Compare(a.t, b.t))
	})
	q0 := qb * bs
	qs := queries[q0:min(len(queries), q0+bs)]
	var cols []int32
	for k, r := range rows {
		if k > 0 && rows[k-1].q == r.q && rows[k-1].t == r.t {
			return scores.Chunk{}, fmt.Errorf("the update holds the row (%s, %s) twice (the earlier output's and a new one): not switching it in", queries[r.q], targets[r.t])
		}
		cols = append(cols, r.t)
	}
	slices.Sort(cols)
	cols = slices.Compact(cols)
	at := make(map[int32]int, len(cols))
	c := scores.Chunk{QB: qb, TB: -1, Rows: len(qs), Cols: len(cols), Queries: slices.Clone(qs), Targets: make([]scoring.ID, len(cols))}
	for j, t := range cols {
		at[t] = j
		c.Targets[j] = targets[t]
	}
	c.Values = make([]float64, c.Rows*c.Cols)
	for i := range c.Values {
		c.Values[i] = math.NaN()
	}
	for _, r := range rows {
		c.Values[(int(r.q)-q0)*c.Cols+at[r.t]] = r.score
	}
	return c, nil
}

func textSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func idSet(ids []scoring.ID) map[scoring.ID]bool {
	m := make(map[scoring.ID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func idPositions(ids []scoring.ID) map[scoring.ID]int {
	m := make(map[scoring.ID]int, len(ids))
	for i, id := range ids {
		m[id] = i
	}
	return m
}

// UpdateStarted reports whether OUT holds an update's work area (an update
// started, perhaps cut short before its commit point).
func UpdateStarted(ctx context.Context, out string) (bool, error) {
	return files.Exists(ctx, updatePath(out, updateSpecName))
}

// UpdatePending reports whether OUT holds a committed update not yet
// switched in (FinishSparseUpdate finishes it).
func UpdatePending(ctx context.Context, out string) (bool, error) {
	return files.Exists(ctx, updatePath(out, updatePartsDir, ManifestName))
}

// FinishSparseUpdate switches a committed update (MergeSparseUpdate's
// parts and manifest in OUT/.update/parts) into OUT and reports whether
// there was one (switchIn).
func FinishSparseUpdate(ctx context.Context, out string, owner RunOwner) (bool, error) {
	return switchIn(ctx, out, updatePath(out, updatePartsDir), out, updatePartGlob, owner)
}

// switchIn moves a committed update into place and reports whether there
// was one: staged (in OUT/.update) holds the new files matching pattern
// and, written last, their manifest, the update's commit point. dest's
// manifest is removed first (the output reads as incomplete), then its
// files matching pattern; the new run marker is written, the new files
// copied in, then the manifest (the same bytes); OUT/.update is removed
// last. Cut short at any step, it is done again from the start (OUT/.update
// stays whole until the new manifest is in dest).
func switchIn(ctx context.Context, out, staged, dest, pattern string, owner RunOwner) (bool, error) {
	spec, ok, err := committedUpdate(ctx, out, staged, owner)
	if err != nil || !ok {
		return false, err
	}
	commit := files.Join(staged, ManifestName)
	m, err := ReadManifest(ctx, staged)
	if err != nil {
		return false, err
	}
	parts, err := ListParts(ctx, staged, pattern)
	if err != nil {
		return false, err
	}
	if len(parts) != m.Parts {
		return false, fmt.Errorf("%s counts %d part files, %d are there: the update's work area is damaged; rerun with --exists overwrite", commit, m.Parts, len(parts))
	}
	if err := removeFile(ctx, files.Join(dest, ManifestName)); err != nil {
		return false, err
	}
	old, err := ListParts(ctx, dest, pattern)
	if err != nil {
		return false, err
	}
	rm, done, err := remover(ctx, dest)
	if err != nil {
		return false, err
	}
	defer done()
	for _, p := range old {
		if err := rm(p); err != nil {
			return false, err
		}
	}
	if err := files.WriteFile(ctx, files.Join(out, RunMarkerName), spec.Record); err != nil {
		return false, err
	}
	cp, cpDone, err := copier(ctx, dest)
	if err != nil {
		return false, err
	}
	defer cpDone()
	for _, p := range parts {
		if err := cp(p, files.Join(dest, baseName(p))); err != nil {
			return false, err
		}
	}
	if err := copyFile(ctx, commit, files.Join(dest, ManifestName)); err != nil {
		return false, err
	}
	if err := removeFile(ctx, commit); err != nil {
		return true, err
	}
	return true, files.RemoveAll(ctx, updatePath(out))
}

// committedUpdate reports whether the update's work area staged (under
// OUT/.update) holds its commit point (staged's manifest) and, if so,
// checks that owner still owns OUT and returns the update's spec.
func committedUpdate(ctx context.Context, out, staged string, owner RunOwner) (UpdateSpec, bool, error) {
	if ok, err := files.Exists(ctx, files.Join(staged, ManifestName)); err != nil || !ok {
		return UpdateSpec{}, false, err
	}
	if err := owner.Check(ctx); err != nil {
		return UpdateSpec{}, false, err
	}
	spec, err := readUpdateSpec(ctx, out)
	return spec, err == nil, err
}

func baseName(p string) string { return path.Base(strings.ReplaceAll(p, "\\", "/")) }

// removeFile deletes the file p (local or on an object store); a missing
// file is not an error.
func removeFile(ctx context.Context, p string) error {
	rm, done, err := remover(ctx, p)
	if err != nil {
		return err
	}
	defer done()
	return rm(p)
}

// remover returns a function that deletes files like p (local or on p's
// object store, through one client), and done, which closes it.
func remover(ctx context.Context, p string) (rm func(string) error, done func(), err error) {
	if !files.IsRemote(p) {
		return func(p string) error {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}, func() {}, nil
	}
	fsys, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	r, ok := fsys.(filesystem.Remover)
	if !ok {
		fsys.Close()
		return nil, nil, fmt.Errorf("cannot delete %s: the filesystem has no remove", p)
	}
	return func(p string) error {
		if ok, err := files.Exists(ctx, p); err != nil || !ok {
			return err
		}
		return r.Remove(ctx, p)
	}, func() { fsys.Close() }, nil
}

// copier returns a function that copies files like p (local or on p's
// object store, through one client), and done, which closes it: locally a
// hard link in place of the destination (the source is kept, so a switch
// cut short can copy again), on an object store the store's own copy
// (server-side on GCS: Beam's filesystem.Copy), which writes the object
// whole or not at all.
func copier(ctx context.Context, p string) (cp func(src, dst string) error, done func(), err error) {
	if !files.IsRemote(p) {
		return func(src, dst string) error {
			if err := removeFile(ctx, dst); err != nil {
				return err
			}
			if err := os.Link(src, dst); err == nil {
				return nil
			}
			b, err := files.ReadFile(ctx, src)
			if err != nil {
				return err
			}
			return files.WriteFile(ctx, dst, b)
		}, func() {}, nil
	}
	fsys, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	return func(src, dst string) error { return filesystem.Copy(ctx, fsys, src, dst) }, func() { fsys.Close() }, nil
}

// copyFile copies src to dst (copier), both on one filesystem.
func copyFile(ctx context.Context, src, dst string) error {
	cp, done, err := copier(ctx, src)
	if err != nil {
		return err
	}
	defer done()
	return cp(src, dst)
}
