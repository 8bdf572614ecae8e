package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/cores"
	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/sinks"
	"github.com/nblast-go/nblast/transforms"
	"github.com/nblast-go/nblast/zarr"
)

// Version is recorded in every output.
const Version = "nblast-go 0.1.0"

// Job is a prepared run: its plan, the work still to do and the Beam graph.
type Job struct {
	Options Options
	Score   transforms.ScoreConfig
	Plan    transforms.Plan
	Items   []transforms.WorkItem // the work items this run scores
	Total   int                   // all work items of the plan
	Skipped int                   // work items skipped by pruning
	Done    int                   // work items already written (resume)
	Splits  int                   // input splits staging reads
	Blocks  int                   // blocks staging writes
	// Tiles are the work elements of scoring, each TileBlocks query
	// blocks (transforms.TileBlocks).
	Tiles, TileBlocks int
	Arrays            []zarr.ArraySpec
	Staging           transforms.Staging
	Pipeline          *beam.Pipeline

	// Claim is this run's ownership of Options.Out (nil for a dry run);
	// Release gives it up.
	Claim *sinks.Claim

	skipped []transforms.WorkItem
	work    []transforms.QueryWork // the layout's Todo
	// Sparse parts and their rows found already written (resume).
	priorParts int
	priorRows  int64
	// topkDone: a resumed run found the top-k output complete.
	topkDone bool
	// update: --exists update's plan (update.go); nil otherwise.
	update *updateState
}

// ScoreArrays names the Zarr arrays of a run: "scores", plus
// "scores_reverse" (target→query) for scores=both.
func ScoreArrays(mode string) []string {
	if mode == "both" {
		return []string{sinks.ScoresArray, sinks.ReverseArray}
	}
	return []string{sinks.ScoresArray}
}

// Prepare validates the options, reads the neuron index of the inputs,
// plans the blocks, prepares the output (honouring --exists; not with
// DryRun) and builds the pipeline. Nothing is scored yet; an error here
// leaves no output behind that looks complete.
func Prepare(ctx context.Context, o Options) (*Job, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.scale, _ = o.resolveScale()
	j := &Job{Options: o}
	if err := j.resolveScoring(ctx); err != nil {
		return nil, err
	}
	qFiles, queries, err := readIndex(ctx, "--queries", o.Queries, j.readOptions())
	if err != nil {
		return nil, err
	}
	inputs := sides(qFiles, nil)
	var targets []dotprops.NeuronInfo
	if !o.AllByAll() {
		var tFiles []string
		if tFiles, targets, err = readIndex(ctx, "--targets", o.Targets, j.readOptions()); err != nil {
			return nil, err
		}
		if len(targets) > 0 && queries[0].ID.IsStr != targets[0].ID.IsStr {
			return nil, fmt.Errorf("queries have %s ids but targets have %s ids: use inputs with one kind of id", queries[0].ID.Kind(), targets[0].ID.Kind())
		}
		inputs = sides(qFiles, tFiles)
	}
	bs := o.BlockSize
	if bs == 0 {
		bs = transforms.DefaultBlockSize(max(len(queries), len(targets)), o.Pruning())
	}
	if j.Plan, err = transforms.MakePlan(queries, targets, bs, o.AllByAll(), o.Pruning()); err != nil {
		return nil, err
	}
	if err := j.checkSmartTargets(); err != nil {
		return nil, err
	}
	if o.Sink == "zarr" {
		j.Arrays = j.arraySpecs()
	}
	all := j.Plan.WorkItems()
	j.Total = len(all)
	todo := all
	if !o.DryRun {
		// Own the output before touching it: a second run into the same
		// OUT is refused while this one lives.
		if j.Claim, err = sinks.ClaimOutput(ctx, o.Out, sinks.NewOwner()); err != nil {
			return nil, err
		}
		if p := j.Claim.Previous; p != nil {
			fmt.Fprintf(os.Stderr, "note: run %s (pid %d on host %s), which owned %s, is no longer running; this run takes over\n", p.Run, p.PID, p.Host, o.Out)
		}
		if todo, err = j.prepareOutput(ctx, all); err != nil {
			j.Release(ctx)
			return nil, err
		}
	}
	j.Done = len(all) - len(todo)
	if j.Items, err = j.pruneItems(ctx, todo); err != nil {
		j.Release(ctx)
		return nil, err
	}
	if err := j.stage(ctx, inputs, todo); err != nil {
		j.Release(ctx)
		return nil, err
	}
	j.Pipeline = j.build()
	return j, nil
}

// rowChunks reports whether scoring emits one chunk per query block (the
// sparse and top-k outputs, written per query block) rather than one per
// work item (Zarr chunks).
func (j *Job) rowChunks() bool { return j.Options.Sink != "zarr" }

// stage writes the run's layout (the plan, the input splits and the work
// to do; see transforms.Layout) under OUT/.staging, where the workers find
// it, and describes it in j.Staging. With DryRun nothing is written.
func (j *Job) stage(ctx context.Context, inputs []transforms.InputFile, todo []transforms.WorkItem) error {
	o := j.Options
	splits, err := transforms.MakeSplits(ctx, inputs)
	if err != nil {
		return err
	}
	// The query blocks to score: those with a work item left and, for
	// outputs written per query block, every block whose output is
	// missing, even when pruning skips all its items.
	var work []transforms.QueryWork
	at := map[int]int{}
	add := func(qb int) int {
		k, ok := at[qb]
		if !ok {
			k = len(work)
			at[qb] = k
			work = append(work, transforms.QueryWork{QB: qb})
		}
		return k
	}
	if j.rowChunks() {
		for _, w := range todo {
			add(w.QB)
		}
	}
	for _, w := range j.Items {
		k := add(w.QB)
		work[k].TBs = append(work[k].TBs, int32(w.TB))
	}
	slices.SortFunc(work, func(a, b transforms.QueryWork) int { return a.QB - b.QB })
	j.work = work
	j.Splits = len(splits)
	j.Blocks = j.Plan.QueryBlocks()
	if !j.Plan.AllByAll {
		j.Blocks += j.Plan.TargetBlocks()
	}
	l := transforms.NewLayout(j.Plan, splits, work)
	l.Delta = j.deltaMask() // --exists update: only the pairs of new or changed neurons
	l.TileBlocks = transforms.TileBlocks(j.Plan.QueryBlocks(), j.Plan.MeanQueryBlockPoints(), j.Score.Memory, cores.N())
	if o.TileBlocks > 0 {
		l.TileBlocks = o.TileBlocks
	}
	j.Tiles, j.TileBlocks = l.Tiles(), l.TileBlocks
	data, digest, err := l.Encode()
	if err != nil {
		return err
	}
	j.Staging = transforms.Staging{Dir: files.Join(o.Out, ".staging"), Digest: digest, AllByAll: j.Plan.AllByAll, Read: j.readOptions()}
	if o.DryRun {
		return nil
	}
	// What an earlier, interrupted run staged is not this run's.
	if err := files.RemoveAll(ctx, j.Staging.Dir); err != nil {
		return fmt.Errorf("clear the staging area: %w", err)
	}
	return j.Staging.WriteLayout(ctx, data)
}

// readOptions is how the run reads its inputs: in µm after --units or
// --scale, alpha only with --use_alpha.
func (j *Job) readOptions() dotprops.ReadOptions {
	return dotprops.ReadOptions{Scale: j.Options.scale, IgnoreAlpha: !j.Options.UseAlpha}
}

// Release gives up the run's ownership of the output (after the run, or
// when it fails).
func (j *Job) Release(ctx context.Context) error {
	return j.Claim.Release(ctx)
}

// owner names this run to the sinks, which check it before marking the
// output complete.
func (j *Job) owner() sinks.RunOwner {
	if j.Claim == nil {
		return sinks.RunOwner{}
	}
	return sinks.RunOwner{Out: j.Options.Out, Run: j.Claim.Owner.Run}
}

func (j *Job) resolveScoring(ctx context.Context) error {
	o := j.Options
	md, _ := o.maxDist()
	j.Score = transforms.ScoreConfig{Mode: o.Scores, Normalized: o.Normalized, UseAlpha: o.UseAlpha, MaxDist: md, Smat: o.Smat, AllByAll: o.AllByAll(),
		Threshold: scores.Threshold(o.Threshold), Prune: o.Pruning()}
	j.Score.Memory, _ = o.memory() // validated
	if o.Smart {
		// As navis.nblast_smart, which scores the diagonal by a search
		// in both passes, all-by-all or not.
		j.Score.AllByAll = false
		j.Score.Smart = transforms.SmartConfig{On: true, Criterion: o.SmartCriterion, T: o.SmartT}
	}
	m, err := j.Score.Matrix(ctx)
	if err != nil {
		return err
	}
	if md < 0 {
		j.Score.MaxDist = m.AutoMaxDist()
	}
	return nil
}

// readIndex expands an input spec and reads every file's neuron index. A
// neuron listed by two files is planned once (staging checks the copies
// are identical).
func readIndex(ctx context.Context, flag, spec string, ro dotprops.ReadOptions) ([]string, []dotprops.NeuronInfo, error) {
	paths, err := dotprops.ExpandInputs(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flag, err)
	}
	var all []dotprops.NeuronInfo
	seen := map[string]int{} // id → position in all
	for _, p := range paths {
		infos, err := dotprops.ReadNeuronIndex(ctx, p, ro)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range infos {
			if len(all) > 0 && n.ID.IsStr != all[0].ID.IsStr {
				return nil, nil, fmt.Errorf("%s: %s has %s ids but %s has %s ids: use one kind of id", flag, p, n.ID.Kind(), all[0].File, all[0].ID.Kind())
			}
			key := n.ID.String()
			k, dup := seen[key]
			if !dup {
				seen[key] = len(all)
				all = append(all, n)
				continue
			}
			// The same neuron in two files is read once; copies that
			// differ already in their coordinates are refused now, before
			// the job (staging compares tangents and alpha too).
			if m := all[k]; m.Points != n.Points || m.Centroid != n.Centroid || m.Min != n.Min || m.Max != n.Max {
				return nil, nil, fmt.Errorf("%s: neuron %s is in %s (%d points) and in %s (%d points) with different coordinates: remove one copy or give them distinct ids",
					flag, n.ID, m.File, m.Points, n.File, n.Points)
			}
		}
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("%s %s: no neurons", flag, spec)
	}
	return paths, all, nil
}

// sides lists each input file once with the side(s) it supplies.
func sides(queries, targets []string) []transforms.InputFile {
	var out []transforms.InputFile
	at := map[string]int{}
	for k, list := range [][]string{queries, targets} {
		for _, p := range list {
			i, ok := at[p]
			if !ok {
				i = len(out)
				at[p] = i
				out = append(out, transforms.InputFile{Path: p})
			}
			if k == 0 {
				out[i].Query = true
			} else {
				out[i].Target = true
			}
		}
	}
	return out
}

// parameters are recorded in the output's attributes.
func (j *Job) parameters() map[string]any {
	o := j.Options
	var maxDist any
	if j.Score.MaxDist > 0 {
		maxDist = j.Score.MaxDist
	}
	p := map[string]any{
		"scores":     o.Scores,
		"normalized": o.Normalized,
		"use_alpha":  o.UseAlpha,
		"smat":       o.Smat,
		"max_dist":   maxDist,
		"all_by_all": o.AllByAll(),
		"dtype":      o.DType,
		"block_size": j.Plan.BlockSize,
		"sink":       o.Sink,
		"threshold":  thresholdJSON(o.Threshold),
		"topk":       o.TopK,
		"scale":      j.readOptions().Factor(),
		"version":    Version,
	}
	o.smartParameters(p)
	return p
}

// thresholdJSON keeps ±Inf thresholds representable in JSON.
func thresholdJSON(v float64) any {
	if math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	return v
}

// fingerprint identifies the inputs (ids, point counts, centroids, boxes,
// order) and the options, so that --exists resume refuses a different run.
func (j *Job) fingerprint() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode(j.parameters())
	for _, side := range [][]dotprops.NeuronInfo{j.Plan.Queries, j.Plan.Targets} {
		for _, n := range side {
			fmt.Fprintf(h, "%s %t %d %v %v %v\n", n.ID, n.ID.IsStr, n.Points, n.Centroid, n.Min, n.Max)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func ids(ns []dotprops.NeuronInfo) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		if n.ID.IsStr {
			out[i] = n.ID.Str
		} else {
			out[i] = n.ID.Int
		}
	}
	return out
}

func (j *Job) arraySpecs() []zarr.ArraySpec {
	var specs []zarr.ArraySpec
	for k, name := range ScoreArrays(j.Options.Scores) {
		attrs := j.parameters()
		attrs["queries"] = ids(j.Plan.Queries)
		attrs["targets"] = ids(j.Plan.Targets)
		attrs["fingerprint"] = j.fingerprint()
		attrs["direction"] = []string{"query→target", "target→query"}[k]
		bs := j.Plan.BlockSize
		specs = append(specs, zarr.ArraySpec{
			Name:   name,
			Shape:  [2]int{len(j.Plan.Queries), len(j.Plan.Targets)},
			Chunks: [2]int{bs, bs},
			DType:  j.Options.DType,
			Attrs:  attrs,
		})
	}
	if j.Options.Smart {
		specs = append(specs, j.smartMaskSpec(specs[0]))
	}
	return specs
}

// prepareOutput applies --exists and creates the output; it returns the
// work items to score: all of them, or with resume those whose output is
// missing.
func (j *Job) prepareOutput(ctx context.Context, all []transforms.WorkItem) ([]transforms.WorkItem, error) {
	o := j.Options
	marker := files.Join(o.Out, sinks.RunMarkerName)
	exists, err := files.Exists(ctx, marker)
	if err != nil {
		return nil, err
	}
	if !exists && !files.IsRemote(o.Out) {
		entries, _ := files.Glob(ctx, files.Join(o.Out, "*"))
		entries = slices.DeleteFunc(entries, func(e string) bool { return filepath.Base(e) == sinks.OwnerName })
		if len(entries) > 0 {
			return nil, fmt.Errorf("--out %s exists and is not an NBLAST result: choose another path", o.Out)
		}
	}
	if exists {
		switch o.Exists {
		case "fail":
			return nil, fmt.Errorf("--out %s already holds a result: pass --exists overwrite to replace it or --exists resume to finish an interrupted run", o.Out)
		case "overwrite":
			if err := files.RemoveAll(ctx, o.Out, sinks.OwnerName); err != nil {
				return nil, fmt.Errorf("--exists overwrite: %w", err)
			}
		case "resume":
			if _, err := files.RemoveTemporaries(o.Out); err != nil {
				return nil, fmt.Errorf("--exists resume: %w", err)
			}
			if err := j.finishUpdate(ctx, "--exists resume"); err != nil { // an update cut short
				return nil, err
			}
			items, err := j.missingItems(ctx, marker, all)
			return items, j.updateHint(ctx, err)
		case "update": // update.go
			if _, err := files.RemoveTemporaries(o.Out); err != nil {
				return nil, fmt.Errorf("--exists update: %w", err)
			}
			return j.prepareUpdate(ctx, marker, all)
		}
	}
	rec, err := j.record(ctx) // with each neuron's digest, for --exists update
	if err != nil {
		return nil, err
	}
	if err := files.WriteJSON(ctx, marker, rec); err != nil {
		return nil, err
	}
	if o.Sink == "zarr" {
		return all, zarr.Create(ctx, o.Out, j.Arrays)
	}
	return all, nil
}

// missingItems checks that the existing output was made by the same run
// and lists the work items whose output is not all written: Zarr chunks or
// sparse parts (whose rows it counts for the manifest). Top-k combines
// every work item, so a run with --topk rescores every item (rewriting
// identical chunks and parts).
func (j *Job) missingItems(ctx context.Context, marker string, all []transforms.WorkItem) ([]transforms.WorkItem, error) {
	if err := j.checkMarker(ctx, marker); err != nil {
		return nil, err
	}
	if j.Options.TopK > 0 {
		// Top-k combines every work item: unless its manifest says it
		// is complete, every item is rescored (rewriting identical
		// chunks and parts).
		m, err := sinks.ReadManifest(ctx, files.Join(j.Options.Out, sinks.TopKDir))
		if err != nil || !m.Complete || !topkIntact(ctx, files.Join(j.Options.Out, sinks.TopKDir), m) {
			return all, nil
		}
		j.topkDone = true
		if j.Options.Sink == "topk" {
			return nil, nil
		}
	}
	if j.Options.Sink == "sparse" {
		return j.missingParts(ctx, all)
	}
	var written []map[[2]int]bool
	complete := true // every array marked complete already
	updated := false // an update wrote the arrays (sinks.AttrOrder)
	for _, spec := range j.Arrays {
		z, err := zarr.Open(ctx, j.Options.Out, spec.Name)
		if err != nil {
			return nil, fmt.Errorf("--exists resume: %w", err)
		}
		w, err := z.WrittenChunks(ctx)
		if err != nil {
			return nil, fmt.Errorf("--exists resume: %w", err)
		}
		verifyChunks(ctx, z, w)
		written = append(written, w)
		complete = complete && z.Complete()
		updated = updated || z.Attrs[sinks.AttrOrder] == sinks.OrderUpdate
	}
	var missing []transforms.WorkItem
	for _, w := range all {
		for _, chunks := range written {
			if !chunks[[2]int{w.QB, w.TB}] {
				missing = append(missing, w)
				break
			}
		}
	}
	if len(missing) > 0 && updated {
		return nil, fmt.Errorf("--exists resume: %s was made by --exists update (its rows and columns are in the update's order, not a run's plan), and %d of its chunks are missing or damaged: a resume cannot score them into that order; run it again with --exists overwrite", j.Options.Out, len(missing))
	}
	if len(missing) == 0 && !complete {
		// Every chunk is there and decodes, but the run stopped before
		// marking the arrays complete: finish it here (a job with no
		// work item would not).
		if err := sinks.FinishZarr(ctx, j.Options.Out, j.Arrays, j.owner()); err != nil {
			return nil, fmt.Errorf("--exists resume: %w", err)
		}
		fmt.Fprintf(os.Stderr, "note: --exists resume: every chunk was already written and decodes; %s is now marked complete\n", j.Options.Out)
	}
	return missing, nil
}

// verifyChunks decodes the chunks of z listed in written, in parallel, and
// drops from written (so that they are scored again) those that do not
// decode, saying so: a chunk is kept only if it verifies.
func verifyChunks(ctx context.Context, z *zarr.Reader, written map[[2]int]bool) {
	keys := slices.Collect(maps.Keys(written))
	errs := make([]error, len(keys))
	parallel(len(keys), func(i int) { errs[i] = z.CheckChunk(ctx, keys[i][0], keys[i][1]) })
	for i, err := range errs {
		if err != nil {
			delete(written, keys[i])
			fmt.Fprintf(os.Stderr, "note: --exists resume: %s; scoring its work item again\n", withoutAdvice(err))
		}
	}
}

// withoutAdvice is err's message, less the advice to resume when it is a
// damaged file: resume is what is running, and it says what it does.
func withoutAdvice(err error) string {
	if d, ok := errors.AsType[*files.DamagedError](err); ok {
		return d.Problem()
	}
	return err.Error()
}

// topkIntact reports whether the complete top-k output in dir has every
// part its manifest counts, and every part decodes; if not, a resumed run
// writes it again (saying why).
func topkIntact(ctx context.Context, dir string, m sinks.Manifest) bool {
	parts, err := sinks.ListParts(ctx, dir, sinks.TopKPartPattern)
	if err == nil && len(parts) != m.Parts {
		err = fmt.Errorf("%s: %s counts %d part files, %d are there", dir, sinks.ManifestName, m.Parts, len(parts))
	}
	for _, p := range parts {
		if err != nil {
			break
		}
		if _, err = sinks.VerifyPart(ctx, p, true); err != nil {
			err = errors.New(withoutAdvice(err))
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "note: --exists resume: %v; writing the top-k output again\n", err)
		return false
	}
	return true
}

// missingParts lists the work items of the query blocks without a sparse
// part that decodes (a part holds a whole query block) and counts the
// parts and rows already written.
func (j *Job) missingParts(ctx context.Context, all []transforms.WorkItem) ([]transforms.WorkItem, error) {
	parts, err := sinks.WrittenParts(ctx, j.Options.Out)
	if err != nil {
		return nil, fmt.Errorf("--exists resume: %w", err)
	}
	// A part is kept only if every row decodes (in parallel); one that
	// does not is scored again.
	qbs := slices.Sorted(maps.Keys(parts))
	rows := make([]int64, len(qbs))
	errs := make([]error, len(qbs))
	parallel(len(qbs), func(i int) { rows[i], errs[i] = sinks.VerifyPart(ctx, parts[qbs[i]], false) })
	for i, err := range errs {
		if err != nil {
			delete(parts, qbs[i])
			fmt.Fprintf(os.Stderr, "note: --exists resume: %s; scoring its query block again\n", withoutAdvice(err))
			continue
		}
		j.priorParts++
		j.priorRows += rows[i]
	}
	var missing []transforms.WorkItem
	for _, w := range all {
		if _, ok := parts[w.QB]; !ok {
			missing = append(missing, w)
		}
	}
	return missing, nil
}

// parallel calls f(0), ..., f(n-1) on all cores (cores.N).
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range cores.N() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// pruneItems drops the work items that cannot hold a pair at or above the
// threshold, judged block against block from the blocks' extents
// (Plan.CanSkipBlocks: constant time per item). The workers then test the
// items left pair by pair (Plan.CanSkip) before loading their blocks.
func (j *Job) pruneItems(ctx context.Context, items []transforms.WorkItem) ([]transforms.WorkItem, error) {
	if !j.Options.Pruning() {
		return items, nil
	}
	s, mode, err := j.Score.Scorer(ctx)
	if err != nil {
		return nil, err
	}
	qe, te := j.Plan.QueryExtents(), j.Plan.TargetExtents()
	skip := make([]bool, len(items))
	th := j.Options.Threshold
	parallel(len(items), func(i int) {
		w := items[i]
		skip[i] = j.Plan.CanSkipBlocks(w, qe[w.QB], te[w.TB], s, mode, th)
	})
	var keep []transforms.WorkItem
	for i, w := range items {
		if skip[i] {
			j.skipped = append(j.skipped, w)
		} else {
			keep = append(keep, w)
		}
	}
	j.Skipped = len(j.skipped)
	return keep, nil
}

// Pairs counts the (query, target) pairs of work items.
func (j *Job) Pairs(items []transforms.WorkItem) int64 {
	var n int64
	for _, w := range items {
		n += int64(len(j.Plan.QueryBlock(w.QB)) * len(j.Plan.TargetBlock(w.TB)))
	}
	return n
}

// SkippedItems are the work items pruning skipped.
func (j *Job) SkippedItems() []transforms.WorkItem { return j.skipped }

func (j *Job) build() *beam.Pipeline {
	if p := j.updatePipeline(); p != nil { // --exists update with nothing to score
		return p
	}
	p, s := beam.NewPipelineWithRoot()
	staged := transforms.StageBlocks(s, j.Staging)
	qbs := transforms.WorkItems(s, j.Staging, staged)
	cfg := j.Score
	cfg.Row = j.rowChunks()
	if o := j.Options; o.Sink == "topk" && o.Pruning() {
		cfg.TopK = o.TopK // the only output: prune against each query's k-th best
	}
	chunks := transforms.Score(s, qbs, j.Staging, cfg)
	o := j.Options
	params, _ := json.Marshal(j.parameters())
	switch o.Sink {
	case "zarr":
		if j.update != nil { // --exists update (update.go)
			sinks.WriteZarrUpdate(s, chunks, o.Out, j.Arrays, len(j.Items), j.owner())
			break
		}
		sinks.WriteZarr(s, chunks, o.Out, j.Arrays, len(j.Items), j.owner())
	case "sparse":
		if j.update != nil { // --exists update (update.go)
			sinks.WriteSparseUpdate(s, chunks, o.Out, sinks.SparseUpdateConfig{Threshold: o.Threshold, Float64: o.DType == "float64", Owner: j.owner()}, len(j.work))
			break
		}
		sinks.WriteSparse(s, chunks, o.Out, sinks.SparseConfig{Threshold: o.Threshold, Float64: o.DType == "float64",
			PriorParts: j.priorParts, PriorRows: j.priorRows, Manifest: string(params), Owner: j.owner()}, len(j.work))
	}
	if o.TopK > 0 && !j.topkDone {
		expected := len(j.work) // one row chunk per query block
		if !cfg.Row {
			expected = 0
			for _, w := range j.work {
				if len(w.TBs) > 0 {
					expected++
				}
			}
		}
		cfg := sinks.TopKConfig{K: o.TopK, Threshold: o.Threshold, Expected: expected, Manifest: string(params), Owner: j.owner()}
		if j.update != nil && j.update.topk { // --exists update (update.go)
			sinks.WriteTopKUpdate(s, chunks, o.Out, cfg)
		} else {
			sinks.WriteTopK(s, chunks, files.Join(o.Out, sinks.TopKDir), cfg)
		}
	}
	return p
}

// Cleanup removes the staging area after a successful run and gives up
// the run's ownership of the output (Release).
func (j *Job) Cleanup(ctx context.Context) error {
	return errors.Join(files.RemoveAll(ctx, j.Staging.Dir), j.Release(ctx))
}

// Counters are the job's Beam counters of namespace nblast, summed by name
// (transforms' nblast/work_items_scored, pairs_scored, …; smart's and
// smat's); ok is false when the runner reports no metrics.
func Counters(res beam.PipelineResult) (c map[string]int64, ok bool) {
	c = map[string]int64{}
	if res == nil {
		return c, false
	}
	for _, m := range res.Metrics().Query(func(r beam.MetricResult) bool { return r.Namespace() == "nblast" }).Counters() {
		c[m.Name()] += m.Result()
	}
	return c, true
}
