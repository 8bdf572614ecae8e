package sinks

// The top-k output (the "Output 3" contract in docs/formats.md): for each
// query, its k best targets over all target blocks, as Parquet rows
// `query, rank, target, score`, one file per query block:
//
//	OUT/topk-<qb>.parquet   the queries of query block qb in id order, each
//	                        with its rows in rank order (1 = best); written
//	                        whole, atomically, even when it has no rows
//
//	OUT/_manifest.json      written after every file (manifest.go)
//
// DuckDB: read_parquet('OUT/topk-*.parquet').

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scores"
	"github.com/nblast-go/nblast/scoring"
)

func init() {
	register.DoFn3x1[scores.Chunk, func(string, topkAcc), func(int, topkAcc), error](&topkCandidatesFn{})
	register.Emitter2[string, topkAcc]()
	register.Emitter2[int, topkAcc]()
	register.Combiner1[topkAcc](&topkMergeFn{})
	register.Function2x2[string, topkAcc, int, topkAcc](byQueryBlock)
	register.DoFn3x3[context.Context, int, func(*topkAcc) bool, string, int64, error](&writeTopKFn{})
	register.Iter1[topkAcc]()
	beam.RegisterType(reflect.TypeOf((*topkAcc)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*topkEntry)(nil)).Elem())
}

// TopKRow is one row of a top-k output.
type TopKRow struct {
	Query  scoring.ID
	Rank   int // 1 = best
	Target scoring.ID
	Score  float64
}

// TopKPartName is the name, under OUT, of the top-k file of query block
// qb: topk-<qb>.parquet, zero-padded to at least five digits.
func TopKPartName(qb int) string {
	return fmt.Sprintf("topk-%05d.parquet", qb)
}

// TopKConfig says how WriteTopK writes.
type TopKConfig struct {
	K         int     // targets per query, at least 1
	Threshold float64 // only scores >= Threshold are candidates (NaN never)
	// Expected is the number of files this run writes: the distinct
	// query blocks of its work items.
	Expected int
	// Manifest is the run's parameters (JSON, stored compacted in
	// OUT/_manifest.json; empty means {}).
	Manifest string
	// Owner is checked before the manifest is written.
	Owner RunOwner
}

// WriteTopK writes, for each query, its cfg.K best targets over all target
// blocks among the scores >= cfg.Threshold (Chunk.Values; NaN never), as
// Parquet files OUT/TopKPartName(qb), one per query block that has a chunk
// (even if it has no rows), with columns query (INT64 or STRING, as the
// ids), rank (INT32, 1 = best), target (INT64 or STRING) and score (FLOAT).
// Rows are ordered by query id, then rank. Once every file is written
// (cfg.Expected of them), OUT/_manifest.json records the row and file
// counts and cfg.Manifest, as for sparse output.
//
// Ranking is a total order, so the result is deterministic: the higher
// score first (compared in float64, before rounding to FLOAT), and among
// equal scores the smaller target id (int64 ids numerically, string ids
// lexicographically by bytes). Two scores equal once stored as FLOAT may
// thus be ranked by their float64 values. A query gets exactly
// min(k, candidates) rows: targets tied with the k-th are cut by that
// order, not added; a query without candidates gets no rows.
// A target seen twice for a query (a retried or duplicated work item)
// counts once.
//
// Each chunk's rows are reduced to their k best before the shuffle, then
// combined per query with Beam's CombinePerKey and grouped per query block
// to be written. WriteTopK panics if cfg.K < 1 or cfg.Manifest is not
// valid JSON.
func WriteTopK(s beam.Scope, chunks beam.PCollection, out string, cfg TopKConfig) {
	k := cfg.K
	if k < 1 {
		panic(fmt.Sprintf("sinks.WriteTopK(%s): k = %d, want at least 1", out, k))
	}
	params, err := manifestParameters(cfg.Manifest)
	if err != nil {
		panic(fmt.Sprintf("sinks.WriteTopK(%s): %v", out, err))
	}
	s = s.Scope("WriteTopK")
	written := writeTopKFiles(s, chunks, out, cfg)
	writeManifest(s, written, manifestConfig{Dir: out, What: "top-k files", Expected: cfg.Expected, Parameters: string(params), Owner: cfg.Owner})
}

// writeTopKFiles writes WriteTopK's files under dir and returns their
// names and row counts (KV<string, int64>).
func writeTopKFiles(s beam.Scope, chunks beam.PCollection, dir string, cfg TopKConfig) beam.PCollection {
	k := cfg.K
	cands, blocks := beam.ParDo2(s, &topkCandidatesFn{K: k, Threshold: scores.Threshold(cfg.Threshold)}, chunks)
	best := beam.CombinePerKey(s, &topkMergeFn{K: k}, cands)
	perBlock := beam.GroupByKey(s, beam.Flatten(s, beam.ParDo(s, byQueryBlock, best), blocks))
	return beam.ParDo(s, &writeTopKFn{Out: dir, K: k}, perBlock)
}

// topkEntry is one candidate target of a query.
type topkEntry struct {
	Target scoring.ID
	Score  float64
}

// topkAcc is the best candidates of one query, in rank order, at most K
// of them, targets distinct. An accumulator without entries only marks
// that its query block has chunks (so the block gets a file).
type topkAcc struct {
	QB        int
	Query     scoring.ID
	TargetStr bool // the targets' id kind (for an empty file's schema)
	Items     []topkEntry
}

// entryLess is the ranking: higher score first, then smaller target id.
func entryLess(a, b topkEntry) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Target.Less(b.Target)
}

// rankEntries sorts entries by rank, drops repeated targets (keeping the
// best) and keeps the first k.
func rankEntries(items []topkEntry, k int) []topkEntry {
	sort.Slice(items, func(i, j int) bool { return entryLess(items[i], items[j]) })
	seen := make(map[scoring.ID]bool, len(items))
	out := items[:0]
	for _, e := range items {
		if len(out) == k {
			break
		}
		if seen[e.Target] {
			continue
		}
		seen[e.Target] = true
		out = append(out, e)
	}
	return out
}

// queryKey is the shuffle key of a query id (kinds kept apart).
func queryKey(id scoring.ID) string {
	if id.IsStr {
		return "s" + id.Str
	}
	return "i" + strconv.FormatInt(id.Int, 10)
}

type topkCandidatesFn struct {
	K         int
	Threshold scores.Threshold
}

// ProcessElement emits each query's k best candidates of the chunk (keyed
// by query) and one marker for the chunk's query block.
func (f *topkCandidatesFn) ProcessElement(c scores.Chunk, emit func(string, topkAcc), block func(int, topkAcc)) error {
	if len(c.Queries) != c.Rows || len(c.Targets) != c.Cols || len(c.Values) != c.Rows*c.Cols {
		return fmt.Errorf("top-k (query block %d, target block %d): chunk has %d query ids, %d target ids and %d values for %dx%d", c.QB, c.TB, len(c.Queries), len(c.Targets), len(c.Values), c.Rows, c.Cols)
	}
	tStr, err := idsKind(c.Targets)
	if err != nil {
		return fmt.Errorf("top-k (query block %d, target block %d): target %w", c.QB, c.TB, err)
	}
	if _, err := idsKind(c.Queries); err != nil {
		return fmt.Errorf("top-k (query block %d, target block %d): query %w", c.QB, c.TB, err)
	}
	if c.Rows == 0 {
		return nil // no query, no id kind for a file's schema
	}
	block(c.QB, topkAcc{QB: c.QB, Query: c.Queries[0], TargetStr: tStr})
	threshold := float64(f.Threshold)
	best := make([]topkEntry, 0, f.K)
	for i := 0; i < c.Rows; i++ {
		best = best[:0]
		for j, v := range c.Values[i*c.Cols : (i+1)*c.Cols] {
			if !(v >= threshold) { // drops NaN
				continue
			}
			best = insertTopK(best, topkEntry{Target: c.Targets[j], Score: v}, f.K)
		}
		if len(best) > 0 {
			emit(queryKey(c.Queries[i]), topkAcc{QB: c.QB, Query: c.Queries[i], TargetStr: tStr, Items: slices.Clone(best)})
		}
	}
	return nil
}

// insertTopK inserts e into best (in rank order, at most k entries, the
// targets distinct from e's), keeping at most k.
func insertTopK(best []topkEntry, e topkEntry, k int) []topkEntry {
	if len(best) == k && !entryLess(e, best[k-1]) {
		return best
	}
	at := sort.Search(len(best), func(n int) bool { return entryLess(e, best[n]) })
	if len(best) < k {
		best = append(best, topkEntry{})
	}
	copy(best[at+1:], best[at:len(best)-1])
	best[at] = e
	return best
}

// topkMergeFn merges two queries' candidate lists into the k best.
type topkMergeFn struct {
	K int
}

func (f *topkMergeFn) MergeAccumulators(a, b topkAcc) topkAcc {
	items := make([]topkEntry, 0, len(a.Items)+len(b.Items))
	items = append(append(items, a.Items...), b.Items...)
	// A query is in one block, but be deterministic anyway; an
	// accumulator without entries (a zero value) carries no query.
	out := a
	if len(a.Items) == 0 || len(b.Items) > 0 && b.QB < a.QB {
		out = b
	}
	out.Items = rankEntries(items, f.K)
	return out
}

func byQueryBlock(_ string, a topkAcc) (int, topkAcc) { return a.QB, a }

type writeTopKFn struct {
	Out string
	K   int
}

// ProcessElement writes the file of query block qb and reports its name
// and row count.
func (f *writeTopKFn) ProcessElement(ctx context.Context, qb int, accs func(*topkAcc) bool) (string, int64, error) {
	data, rows, err := encodeTopKPart(qb, f.K, collectTopK(accs))
	if err != nil {
		return "", 0, err
	}
	name := TopKPartName(qb)
	if err := files.WriteFile(ctx, files.Join(f.Out, name), data); err != nil {
		return "", 0, err
	}
	return name, rows, nil
}

// collectTopK reads a query block's accumulators.
func collectTopK(accs func(*topkAcc) bool) []topkAcc {
	var all []topkAcc
	var a topkAcc
	for accs(&a) {
		all = append(all, a)
		a = topkAcc{}
	}
	return all
}

// encodeTopKPart encodes the top-k file of query block qb from its
// accumulators (merged per query into the k best, markers skipped): rows
// ordered by query id, then rank; and the row count. Same input in any
// order, same bytes.
func encodeTopKPart(qb, k int, accs []topkAcc) ([]byte, int64, error) {
	where := fmt.Sprintf("top-k file of query block %d", qb)
	if len(accs) == 0 {
		return nil, 0, fmt.Errorf("%s: nothing to write", where)
	}
	qStr, tStr := accs[0].Query.IsStr, accs[0].TargetStr
	byQuery := map[scoring.ID]topkAcc{}
	merge := &topkMergeFn{K: k}
	for _, a := range accs {
		if a.Query.IsStr != qStr || a.TargetStr != tStr {
			return nil, 0, fmt.Errorf("%s: ids mix int64 and string kinds", where)
		}
		if len(a.Items) == 0 {
			continue
		}
		if prev, ok := byQuery[a.Query]; ok { // not after CombinePerKey
			a = merge.MergeAccumulators(prev, a)
		}
		byQuery[a.Query] = a
	}
	queries := make([]scoring.ID, 0, len(byQuery))
	for q := range byQuery {
		queries = append(queries, q)
	}
	sort.Slice(queries, func(i, j int) bool { return queries[i].Less(queries[j]) })

	var rows []TopKRow
	for _, q := range queries {
		for r, e := range byQuery[q].Items {
			rows = append(rows, TopKRow{Query: q, Rank: r + 1, Target: e.Target, Score: e.Score})
		}
	}
	data, err := EncodeRankedRows(rows, qStr, tStr, false)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", where, err)
	}
	return data, int64(len(rows)), nil
}

// EncodeRankedRows encodes rows as one Parquet file in the layout of a
// top-k file (see encodeRecord): query, rank (INT32), target, score; ids
// INT64, or STRING where qStr or tStr; score DOUBLE with float64Score,
// else FLOAT. Every row's ids must be of those kinds.
func EncodeRankedRows(rows []TopKRow, qStr, tStr, float64Score bool) ([]byte, error) {
	schema := outputSchema(qStr, tStr, float64Score, true)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		if r.Query.IsStr != qStr || r.Target.IsStr != tStr {
			return nil, fmt.Errorf("ids mix int64 and string kinds (%s, %s): a Parquet column holds one kind", r.Query, r.Target)
		}
		appendID(b.Field(0), r.Query)
		b.Field(1).(*array.Int32Builder).Append(int32(r.Rank))
		appendID(b.Field(2), r.Target)
		appendScore(b.Field(3), r.Score)
	}
	return encodeRecord(mem, schema, b)
}

// ReadTopK reads every file of the top-k output at out
// (OUT/topk-*.parquet, in name order; rows in file order).
func ReadTopK(ctx context.Context, out string) ([]TopKRow, error) {
	var rows []TopKRow
	err := readParts(ctx, out, "topk-*.parquet", true, func(c outputColumns, i int) {
		rows = append(rows, TopKRow{Query: c.query(i), Rank: c.rank(i), Target: c.target(i), Score: c.score(i)})
	})
	return rows, err
}
