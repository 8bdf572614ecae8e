package pipeline

// --exists update: given OUT from an earlier run and new inputs,
// score only the pairs that involve a new or changed neuron.
//
// Every run but --smart records, in its run marker, a digest of each
// neuron as the scores see it (id, points in µm, tangent vectors, and
// alpha with --use_alpha): an update compares the new inputs' digests with
// these to find the neurons that are new, changed (same id, other data) or
// removed. Then, by output:
//   - sparse: the plan lists the new and changed neurons first on each
//     side, a transforms.DeltaMask limits scoring to the pairs with such a
//     query or target, and the merge lays the output out as a fresh run
//     does (sinks/sparse_update.go); every mode scores both directions of
//     a pair it scores, so mean, min and max need nothing more;
//   - top-k: the fresh plan, most queries searched only against their
//     earlier top k and the new or changed targets (transforms.KNNDelta,
//     sinks/topk_update.go);
//   - dense: the earlier order, new neurons appended, unchanged pairs
//     copied from the earlier arrays (transforms.DenseDelta,
//     sinks/zarr_update.go).

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/results"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/transforms"
	"github.com/nblast-go/nblast/zarr"
)

// runRecord is the run marker with what an update needs: the digest of
// every neuron, per side, and the last update's summary.
type runRecord struct {
	marker
	// Neurons maps a side ("queries", "targets" unless all-by-all) to
	// each neuron's id (as text) and digest (neuronDigests).
	Neurons map[string]map[string]string `json:"neurons,omitempty"`
	// Update summarises the update that made the output, if one did.
	Update *updateSummary `json:"update,omitempty"`
}

// updateSummary is what an update found and scored.
type updateSummary struct {
	Queries sideChanges  `json:"queries"`
	Targets *sideChanges `json:"targets,omitempty"` // nil for an all-by-all
	// PairsScored are the pairs with a new or changed neuron (each
	// scored in every direction the mode needs); PairsInItems the pairs
	// of the work items holding them (before pruning); PairsFull the
	// pairs a fresh run scores.
	PairsScored  int64 `json:"pairs_scored"`
	PairsInItems int64 `json:"pairs_in_work_items"`
	PairsFull    int64 `json:"pairs_full_run"`
}

// sideChanges counts one side's neurons by what became of them.
type sideChanges struct {
	New       int `json:"new"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
}

func (c sideChanges) String() string {
	return fmt.Sprintf("%d new, %d changed, %d removed (%d unchanged)", c.New, c.Changed, c.Removed, c.Unchanged)
}

// updateState is a prepared update.
type updateState struct {
	noop bool // nothing changed: the job does nothing
	mask transforms.DeltaMask
	// topk: an update of a top-k output (--sink topk): the fresh plan,
	// every query searched (mask.KNN), written by sinks.WriteTopKUpdate.
	topk bool
	// dense: an update of a dense output (--sink zarr): the update's own
	// plan (mask.Dense), every chunk written by sinks.WriteZarrUpdate.
	dense bool
}

// validateUpdate checks the options --exists update supports.
func (o Options) validateUpdate() error {
	if o.Exists != "update" {
		return nil
	}
	switch {
	case o.Smart:
		return fmt.Errorf("--exists update: --smart cannot be updated (a query's selection depends on its whole row of pre-scores): use --exists overwrite")
	case o.Sink == "topk" && !o.Pruning():
		return fmt.Errorf("--exists update: --sink topk is updated by the exact k-NN search, which needs --prune: drop --prune=false, or use --exists overwrite")
	case o.Sink == "topk", o.Sink == "zarr", o.Sink == "sparse" && o.TopK == 0:
		return nil
	}
	return fmt.Errorf("--exists update: only --sink sparse (without --topk), --sink topk and --sink zarr can be updated so far: use --exists overwrite")
}

// sidesOf names the plan's sides and their neurons.
func (j *Job) sidesOf(p transforms.Plan) map[string][]dotprops.NeuronInfo {
	s := map[string][]dotprops.NeuronInfo{"queries": p.Queries}
	if !j.Options.AllByAll() {
		s["targets"] = p.Targets
	}
	return s
}

// record is the run marker a run writes first: the run record with each
// neuron's digest (read from the whole input, so that a later --exists
// update can tell the changed neurons); without for --smart, which cannot
// be updated.
func (j *Job) record(ctx context.Context) (any, error) {
	if j.Options.Smart {
		return j.marker(), nil
	}
	d, err := j.neuronDigests(ctx)
	if err != nil {
		return nil, err
	}
	return runRecord{marker: j.marker(), Neurons: d}, nil
}

// neuronDigests reads every input file in full (files in parallel, each
// split by split, as staging reads them) and digests each neuron of the
// plan, per side.
func (j *Job) neuronDigests(ctx context.Context) (map[string]map[string]string, error) {
	sides := j.sidesOf(j.Plan)
	var paths []string
	for _, ns := range sides {
		for _, n := range ns {
			paths = append(paths, n.File)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	inputs := make([]transforms.InputFile, len(paths))
	for i, p := range paths {
		inputs[i] = transforms.InputFile{Path: p}
	}
	splits, err := transforms.MakeSplits(ctx, inputs)
	if err != nil {
		return nil, err
	}
	perPath := map[string][]transforms.Split{}
	for _, sp := range splits {
		perPath[sp.Path] = append(perPath[sp.Path], sp)
	}
	digests := make([]map[scoring.ID]string, len(paths))
	errs := make([]error, len(paths))
	ro := j.readOptions()
	parallel(len(paths), func(i int) { digests[i], errs[i] = fileDigests(ctx, perPath[paths[i]], ro) })
	byPath := map[string]map[scoring.ID]string{}
	for i, p := range paths {
		if errs[i] != nil {
			return nil, errs[i]
		}
		byPath[p] = digests[i]
	}
	out := map[string]map[string]string{}
	for side, ns := range sides {
		m := make(map[string]string, len(ns))
		for _, n := range ns {
			d, ok := byPath[n.File][n.ID]
			if !ok {
				return nil, fmt.Errorf("%s: neuron %s is in the index but not in the data: the file changed while it was read", n.File, n.ID)
			}
			m[n.ID.String()] = d
		}
		out[side] = m
	}
	return out, nil
}

// fileDigests digests each neuron of one input file, read split by split
// (splits, in file order) as the job reads it (ro): its id, then every
// point's coordinates (µm), tangent vector and, when read, alpha, as
// float64 bits in row order; 128 bits of SHA-256, in hex.
func fileDigests(ctx context.Context, splits []transforms.Split, ro dotprops.ReadOptions) (map[scoring.ID]string, error) {
	hs := map[scoring.ID]hash.Hash{}
	var buf []byte
	for _, sp := range splits {
		dps, err := dotprops.ReadDotpropsRowGroups(ctx, sp.Path, sp.RowGroup, sp.RowGroups, ro)
		if err != nil {
			return nil, err
		}
		for _, d := range dps {
			h := hs[d.ID]
			if h == nil {
				h = sha256.New()
				fmt.Fprintf(h, "%t %s\n", d.ID.IsStr, d.ID)
				hs[d.ID] = h
			}
			buf = buf[:0]
			for i := range d.Points {
				for k := range 3 {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(d.Points[i][k]))
				}
				for k := range 3 {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(d.Vectors[i][k]))
				}
				if d.Alpha != nil {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(d.Alpha[i]))
				}
			}
			h.Write(buf)
		}
	}
	out := make(map[scoring.ID]string, len(hs))
	for id, h := range hs {
		out[id] = hex.EncodeToString(h.Sum(nil))[:32]
	}
	return out, nil
}

// finishUpdate switches in an update that was committed but not switched
// (its run was cut short): before a resume or an update looks at OUT.
func (j *Job) finishUpdate(ctx context.Context, flag string) error {
	done, err := sinks.FinishSparseUpdate(ctx, j.Options.Out, j.owner())
	if err == nil && !done {
		done, err = sinks.FinishTopKUpdate(ctx, j.Options.Out, j.owner())
	}
	if err == nil && !done {
		done, err = sinks.FinishZarrUpdate(ctx, j.Options.Out, j.owner())
	}
	if err != nil {
		return fmt.Errorf("%s: finish the update that was switching into %s: %w", flag, j.Options.Out, err)
	}
	if done {
		fmt.Fprintf(os.Stderr, "note: %s: the earlier update of %s was committed but not switched in; it is now\n", flag, j.Options.Out)
	}
	return nil
}

// updateHint adds to a resume's refusal, when an update of OUT was cut
// short before it changed anything, that the update is what to rerun.
func (j *Job) updateHint(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if started, _ := sinks.UpdateStarted(ctx, j.Options.Out); started {
		return fmt.Errorf("%w\nnote: an update of %s (--exists update) was cut short before it changed anything; %s still holds the earlier, complete result: run the update again with --exists update", err, j.Options.Out, j.Options.Out)
	}
	return err
}

// withoutKeys is m less the keys given.
func withoutKeys(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// prepareUpdate checks that OUT holds a complete result of the same
// options with each neuron's digest, finds the new, changed and removed
// neurons, replaces the job's plan by the update's (the new and changed
// neurons first) and returns its work items; it writes the spec the job's
// last step merges and switches in by (sinks.StartUpdate). Nothing in OUT
// but OUT/.update changes before the job has scored everything.
func (j *Job) prepareUpdate(ctx context.Context, markerPath string, all []transforms.WorkItem) ([]transforms.WorkItem, error) {
	o := j.Options
	if err := j.finishUpdate(ctx, "--exists update"); err != nil {
		return nil, err
	}
	raw, err := files.ReadFile(ctx, markerPath)
	if err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	var prev runRecord
	if err := json.Unmarshal(raw, &prev); err != nil {
		return nil, fmt.Errorf("--exists update: %s: %w", markerPath, err)
	}
	// The block size only cuts the work: an update plans the new inputs
	// as a fresh run would.
	if diffs := diffParameters(withoutKeys(prev.Parameters, "block_size"), withoutKeys(j.parameters(), "block_size")); len(diffs) > 0 {
		return nil, fmt.Errorf("--exists update: %s was made with other options: %s; an update keeps the earlier options: rerun with them, or use --exists overwrite (or another --out) to start anew",
			o.Out, strings.Join(diffs, "; "))
	}
	// The earlier output's verdict, as every reader of it gives it.
	whats := []string{o.Sink}
	if o.Sink == "zarr" {
		whats = ScoreArrays(o.Scores)
	}
	earlier, err := results.Open(ctx, o.Out)
	if err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	var src *results.Source // the first (a dense output's scores array)
	for _, what := range whats {
		s, err := earlier.Source(what)
		if err != nil {
			return nil, fmt.Errorf("--exists update: %w", err)
		}
		if src == nil {
			src = s
		}
		switch st, why, err := s.Status(ctx); {
		case err != nil:
			return nil, fmt.Errorf("--exists update: %w", err)
		case st == results.Incomplete:
			return nil, fmt.Errorf("--exists update: %s is not complete (%s: its run did not finish): finish it first with --exists resume and the inputs it was started with, or use --exists overwrite", o.Out, why)
		case st == results.Damaged:
			return nil, fmt.Errorf("--exists update: %s is damaged (%s): repair it with --exists resume and the inputs it was made from, or use --exists overwrite", o.Out, why)
		}
	}
	if prev.Neurons == nil {
		return nil, fmt.Errorf("--exists update: %s records no digest of each neuron (an earlier version made it), so the changed neurons cannot be told: run once more with --exists overwrite; later runs can be updated", o.Out)
	}
	now, err := j.neuronDigests(ctx)
	if err != nil {
		return nil, err
	}
	fresh := j.Plan
	sides := j.sidesOf(fresh)
	sum := updateSummary{PairsFull: int64(len(fresh.Queries)) * int64(len(fresh.Targets))}
	affected := map[string][]dotprops.NeuronInfo{}
	rest := map[string][]dotprops.NeuronInfo{}
	drop := map[string][]string{}
	changed := 0
	for side, ns := range sides {
		var c sideChanges
		was := prev.Neurons[side]
		for _, n := range ns {
			d, ok := was[n.ID.String()]
			switch {
			case !ok:
				c.New++
				affected[side] = append(affected[side], n)
			case d != now[side][n.ID.String()]:
				c.Changed++
				affected[side] = append(affected[side], n)
				drop[side] = append(drop[side], n.ID.String())
			default:
				c.Unchanged++
				rest[side] = append(rest[side], n)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(was)) {
			if _, ok := now[side][id]; !ok {
				c.Removed++
				drop[side] = append(drop[side], id)
			}
		}
		changed += c.New + c.Changed + c.Removed
		if side == "queries" {
			sum.Queries = c
		} else {
			sum.Targets = &c
		}
	}
	tside := "targets"
	if o.AllByAll() {
		tside = "queries"
	}
	j.update = &updateState{mask: transforms.DeltaMask{Queries: len(affected["queries"]), Targets: len(affected[tside])}}
	rec := runRecord{marker: j.marker(), Neurons: now}
	if changed == 0 && rec.Fingerprint == prev.Fingerprint {
		// Nothing to score, nothing to lay out again.
		j.update.noop = true
		j.update.topk = o.Sink == "topk"
		j.update.dense = o.Sink == "zarr"
		rec.Update = &sum
		fmt.Fprintf(os.Stderr, "update: %s; scoring 0 of the %d pairs a full run scores; %s is up to date\n", sum.sides(), sum.PairsFull, o.Out)
		if err := files.WriteJSON(ctx, markerPath, rec); err != nil {
			return nil, err
		}
		return nil, nil
	}
	switch o.Sink {
	case "topk":
		return j.prepareTopKUpdate(ctx, all, sum, rec, affected, drop, tside)
	case "zarr":
		return j.prepareDenseUpdate(ctx, src, sum, rec, affected)
	}
	delta, err := transforms.MakeDeltaPlan([][]dotprops.NeuronInfo{affected["queries"], rest["queries"]},
		[][]dotprops.NeuronInfo{affected[tside], rest[tside]}, fresh.BlockSize, o.AllByAll(), o.Pruning())
	if err != nil {
		return nil, err
	}
	j.Plan = delta
	items := delta.DeltaItems(j.update.mask)
	sum.PairsScored = delta.DeltaPairs(j.update.mask)
	sum.PairsInItems = j.Pairs(items)
	spec, err := j.updateSpec(fresh, rec, sum)
	if err != nil {
		return nil, err
	}
	spec.DropQueries, spec.DropTargets = drop["queries"], drop[tside]
	spec.AffectedQueries, spec.AffectedTargets = infoIDs(affected["queries"]), infoIDs(affected[tside])
	spec.Float64 = o.DType == "float64"
	if !o.AllByAll() {
		spec.Targets = infoIDs(fresh.Targets)
	}
	stored, err := sinks.EncodeUpdateSpec(spec)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 && sinks.DeltaComplete(ctx, o.Out, stored) {
		// The same update was cut short after scoring: merge its rows.
		fmt.Fprintf(os.Stderr, "note: --exists update: the same update of %s was cut short after scoring its %d pairs; merging the rows it scored\n", o.Out, sum.PairsScored)
		items = nil
	} else if err := sinks.StartUpdateEncoded(ctx, o.Out, stored); err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	sum.print()
	return items, nil
}

// print prints the update's summary line.
func (sum updateSummary) print() {
	pct := 0.0
	if sum.PairsFull > 0 {
		pct = 100 * float64(sum.PairsScored) / float64(sum.PairsFull)
	}
	fmt.Fprintf(os.Stderr, "update: %s; scoring %d of the %d pairs a full run scores (%.2f%%; their work items hold %d)\n",
		sum.sides(), sum.PairsScored, sum.PairsFull, pct, sum.PairsInItems)
}

// sides is the summary's counts, per side.
func (s updateSummary) sides() string {
	if s.Targets == nil {
		return "neurons " + s.Queries.String()
	}
	return "queries " + s.Queries.String() + "; targets " + s.Targets.String()
}

func infoIDs(ns []dotprops.NeuronInfo) []scoring.ID {
	out := make([]scoring.ID, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// deltaMask is the layout's transforms.Layout.Delta: nil unless updating.
func (j *Job) deltaMask() *transforms.DeltaMask {
	if j.update == nil || j.update.noop {
		return nil
	}
	m := j.update.mask
	return &m
}

// updatePipeline is the job of an update with nothing to score, nil
// otherwise: with nothing to do at all, an empty job; when neurons were
// only removed (or the block size changed), the merge and switch alone
// (nothing staged).
func (j *Job) updatePipeline() *beam.Pipeline {
	switch {
	case j.update == nil:
		return nil
	case j.update.noop:
		p, s := beam.NewPipelineWithRoot()
		beam.Impulse(s)
		return p
	case len(j.work) == 0 && !j.update.topk && !j.update.dense:
		p, s := beam.NewPipelineWithRoot()
		o := j.Options
		sinks.WriteSparseUpdate(s, beam.CreateList(s, []scores.Chunk{}), o.Out,
			sinks.SparseUpdateConfig{Threshold: o.Threshold, Float64: o.DType == "float64", Owner: j.owner()}, 0)
		return p
	}
	return nil
}

// prepareTopKUpdate prepares the update of a top-k output (--sink topk):
// the fresh run's plan and work items, every query searched, but a query
// that is neither new nor changed only against its earlier top k and the
// new or changed targets, unless that proves not to be exact
// (transforms.KNNDelta); the job writes the files in OUT/.update and
// switches them in (sinks.WriteTopKUpdate).
func (j *Job) prepareTopKUpdate(ctx context.Context, all []transforms.WorkItem, sum updateSummary, rec runRecord,
	affected map[string][]dotprops.NeuronInfo, drop map[string][]string, tside string) ([]transforms.WorkItem, error) {
	o := j.Options
	p := j.Plan
	old, err := sinks.ReadTopK(ctx, files.Join(o.Out, sinks.TopKDir))
	if err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	tpos := transforms.Positions(p.Targets)
	dropT := map[string]bool{}
	for _, id := range drop[tside] {
		dropT[id] = true
	}
	affQ := map[scoring.ID]bool{}
	for _, n := range affected["queries"] {
		affQ[n.ID] = true
	}
	kd := &transforms.KNNDelta{Restrict: make([]bool, len(p.Queries)), Keep: make([][]int32, len(p.Queries))}
	for _, n := range affected[tside] {
		kd.Affected = append(kd.Affected, int32(tpos[n.ID]))
	}
	slices.Sort(kd.Affected)
	// A new or changed query is searched in full, seeded with its
	// earlier top-k targets still there. Every other query is searched
	// only against its earlier top-k targets that are unchanged (their
	// stored scores reused, transforms' knnreuse.go) and the new or
	// changed targets. If its earlier top k lost a target (removed or
	// changed) and held k, every other target ranked after its earlier
	// k-th: the search is exact when k of its pairs rank ahead of that
	// one, and is done in full otherwise (KNNDelta.Recheck).
	type earlier struct {
		seeds, kept []int32
		scores      []float32
		n, lastRank int
		last        float32
		lost        bool
	}
	byQuery := map[scoring.ID]*earlier{}
	for _, r := range old {
		e := byQuery[r.Query]
		if e == nil {
			e = &earlier{}
			byQuery[r.Query] = e
		}
		e.n++
		if r.Rank > e.lastRank {
			e.lastRank, e.last = r.Rank, float32(r.Score)
		}
		t, ok := tpos[r.Target]
		if ok {
			e.seeds = append(e.seeds, int32(t))
		}
		if !ok || dropT[r.Target.String()] {
			e.lost = true
			continue
		}
		e.kept = append(e.kept, int32(t))
		e.scores = append(e.scores, float32(r.Score))
	}
	kd.KeepScores = make([][]float32, len(p.Queries))
	kd.Recheck = make([]float32, len(p.Queries))
	nan := float32(math.NaN())
	for q, n := range p.Queries {
		kd.Recheck[q] = nan
		e := byQuery[n.ID]
		if e == nil {
			e = &earlier{} // no target reached the threshold
		}
		if affQ[n.ID] {
			kd.Keep[q] = e.seeds
			continue
		}
		kd.Restrict[q], kd.Keep[q], kd.KeepScores[q] = true, e.kept, e.scores
		if e.lost && e.n == o.TopK {
			kd.Recheck[q] = e.last
		}
	}
	j.update.topk = true
	j.update.mask = transforms.DeltaMask{KNN: kd}
	sum.PairsScored = kd.Searched(len(p.Targets))
	sum.PairsInItems = j.Pairs(all)
	spec, err := j.updateSpec(p, rec, sum)
	if err != nil {
		return nil, err
	}
	if err := sinks.StartUpdate(ctx, o.Out, spec); err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	sum.print()
	return all, nil
}

// updateSpec is what every update's merge needs: the fresh plan's
// queries and block size, the new output's manifest parameters and the
// run record (rec with the update's summary) that the switch writes.
func (j *Job) updateSpec(fresh transforms.Plan, rec runRecord, sum updateSummary) (sinks.UpdateSpec, error) {
	rec.Update = &sum
	record, err := files.MarshalJSON(rec)
	if err != nil {
		return sinks.UpdateSpec{}, err
	}
	params, err := json.Marshal(j.parameters())
	if err != nil {
		return sinks.UpdateSpec{}, err
	}
	return sinks.UpdateSpec{Queries: infoIDs(fresh.Queries), BlockSize: fresh.BlockSize, Manifest: params, Record: record}, nil
}

// prepareDenseUpdate prepares the update of a dense output (--sink zarr):
// its plan keeps the earlier arrays' order of the neurons still there and
// appends the new ones (transforms.MakeUpdatePlan), so that each new chunk
// reads its unchanged pairs from a few earlier chunks; every chunk is
// written again (transforms.DenseDelta), to OUT/.update, and switched in
// (sinks.WriteZarrUpdate). src is the earlier scores array, opened.
func (j *Job) prepareDenseUpdate(ctx context.Context, src *results.Source, sum updateSummary, rec runRecord,
	affected map[string][]dotprops.NeuronInfo) ([]transforms.WorkItem, error) {
	o := j.Options
	fresh := j.Plan
	oldQ, oldT, err := src.DenseIDs()
	if err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	// One side: the kept neurons in the earlier order, the new ones, and
	// the earlier position of each neuron of the update's order (-1: new
	// or changed, scored).
	side := func(now []dotprops.NeuronInfo, old []scoring.ID) (kept, added []dotprops.NeuronInfo) {
		info := make(map[scoring.ID]dotprops.NeuronInfo, len(now))
		for _, n := range now {
			info[n.ID] = n
		}
		was := make(map[scoring.ID]bool, len(old))
		for _, id := range old {
			was[id] = true
			if n, ok := info[id]; ok {
				kept = append(kept, n)
			}
		}
		for _, n := range now {
			if !was[n.ID] {
				added = append(added, n)
			}
		}
		return kept, added
	}
	positions := func(ns []dotprops.NeuronInfo, old []scoring.ID, aff []dotprops.NeuronInfo) []int32 {
		at := make(map[scoring.ID]int32, len(old))
		for i, id := range old {
			at[id] = int32(i)
		}
		for _, n := range aff {
			at[n.ID] = -1
		}
		out := make([]int32, len(ns))
		for i, n := range ns {
			r, ok := at[n.ID]
			if !ok {
				r = -1
			}
			out[i] = r
		}
		return out
	}
	qkept, qnew := side(fresh.Queries, oldQ)
	var tkept, tnew []dotprops.NeuronInfo
	if !o.AllByAll() {
		tkept, tnew = side(fresh.Targets, oldT)
	}
	upd, err := transforms.MakeUpdatePlan(qkept, qnew, tkept, tnew, fresh.BlockSize, o.AllByAll())
	if err != nil {
		return nil, err
	}
	tside := "targets"
	if o.AllByAll() {
		tside = "queries"
	}
	dd := &transforms.DenseDelta{Earlier: o.Out, Arrays: ScoreArrays(o.Scores),
		Rows: positions(upd.Queries, oldQ, affected["queries"]), Cols: positions(upd.Targets, oldT, affected[tside])}
	j.Plan = upd
	j.Arrays = j.arraySpecs()
	for _, a := range j.Arrays {
		// The fresh run's fingerprint (the run marker's): the same
		// inputs and options; the order is the update's.
		a.Attrs["fingerprint"] = rec.Fingerprint
		a.Attrs[sinks.AttrOrder] = sinks.OrderUpdate
	}
	j.update.dense = true
	j.update.mask = transforms.DeltaMask{Dense: dd}
	count := func(at []int32) (n int64) {
		for _, r := range at {
			if r < 0 {
				n++
			}
		}
		return n
	}
	nq, nt := int64(len(upd.Queries)), int64(len(upd.Targets))
	aq, at := count(dd.Rows), count(dd.Cols)
	sum.PairsScored = aq*nt + (nq-aq)*at
	items := upd.WorkItems()
	sum.PairsInItems = j.Pairs(items)
	spec, err := j.updateSpec(upd, rec, sum)
	if err != nil {
		return nil, err
	}
	spec.Arrays = dd.Arrays
	if err := sinks.StartUpdate(ctx, o.Out, spec); err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	if err := zarr.Create(ctx, sinks.UpdateZarrDir(o.Out), j.Arrays); err != nil {
		return nil, fmt.Errorf("--exists update: %w", err)
	}
	sum.print()
	return items, nil
}
