package smatbuild_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/internal/cputime"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/internal/synth"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/smatbuild"
	"github.com/nblast-go/nblast/smatcsv"
)

// bruteCounts is an independent count of one pair: for every query point
// the nearest target point by a scan over all of them (exact float64
// distance), |dot| (times sqrt(alpha_q·alpha_t) with alpha), each binned by
// a linear scan: bin = the number of inner edges below the value (bins
// right-closed, outer edges open).
func bruteCounts(counts []int64, q, t *scoring.Dotprops, dist, dot []float64, alpha bool) {
	bin := func(edges []float64, v float64) int {
		b := 0
		for _, e := range edges[1 : len(edges)-1] {
			if e < v {
				b++
			}
		}
		return b
	}
	nt := len(dot) - 1
	for i, p := range q.Points {
		best, bj := math.Inf(1), -1
		for j, r := range t.Points {
			dx, dy, dz := p[0]-r[0], p[1]-r[1], p[2]-r[2]
			if d := math.Sqrt(dx*dx + dy*dy + dz*dz); d < best {
				best, bj = d, j
			}
		}
		v, w := q.Vectors[i], t.Vectors[bj]
		dp := math.Abs(v[0]*w[0] + v[1]*w[1] + v[2]*w[2])
		if alpha {
			dp *= math.Sqrt(q.Alpha[i] * t.Alpha[bj])
		}
		counts[bin(dist, best)*nt+bin(dot, dp)]++
	}
}

// navisCell is the cell formula written out as navis' numpy does it.
func navisCell(m, n, sm, sn int64) float64 {
	eps := math.Nextafter(1, 2) - 1 // sys.float_info.epsilon
	return math.Log2((float64(m)*(float64(sn)/float64(sm)) + eps) / (float64(n) + eps))
}

func prepare(tb testing.TB, dps []*scoring.Dotprops) []*scoring.Neuron {
	tb.Helper()
	ns := make([]*scoring.Neuron, len(dps))
	for i, d := range dps {
		var err error
		if ns[i], err = scoring.NewNeuron(d); err != nil {
			tb.Fatal(err)
		}
	}
	return ns
}

// goldenGroups derives the golden set's types as the README says: the name
// in synthetic.meta.csv up to the first '_', groups in order of first
// appearance in the dotprops file, members in file order.
func goldenGroups(t *testing.T, dps []*scoring.Dotprops) (groups [][]int32, names []string) {
	t.Helper()
	rows := reference.ReadCSV(t, reference.File(t, "golden/synthetic.meta.csv"))
	col := slices.Index(rows[0], "name")
	if col < 0 {
		t.Fatalf("synthetic.meta.csv has no name column: %v", rows[0])
	}
	typeOf := map[string]string{}
	for _, r := range rows[1:] {
		typeOf[r[0]], _, _ = strings.Cut(r[col], "_")
	}
	at := map[string]int{}
	for i, d := range dps {
		ty, ok := typeOf[d.ID.String()]
		if !ok {
			t.Fatalf("neuron %s not in synthetic.meta.csv", d.ID)
		}
		k, ok := at[ty]
		if !ok {
			k = len(groups)
			at[ty] = k
			groups = append(groups, nil)
			names = append(names, ty)
		}
		groups[k] = append(groups[k], int32(i))
	}
	return groups, names
}

func loadGolden(t *testing.T) []*scoring.Dotprops {
	t.Helper()
	dps, err := reference.LoadDotpropsCSV(reference.File(t, "golden/synthetic.dotprops.csv"), true)
	if err != nil {
		t.Fatal(err)
	}
	return dps
}

// readPairsFile reads smat_build/<set>.pairs.csv (kind,query,target) as
// index pairs into dps.
func readPairsFile(t *testing.T, path string, dps []*scoring.Dotprops) (match, nonmatch []smatbuild.Pair) {
	t.Helper()
	idx := map[string]int32{}
	for i, d := range dps {
		idx[d.ID.String()] = int32(i)
	}
	rows := reference.ReadCSV(t, path)
	if !slices.Equal(rows[0], []string{"kind", "query", "target"}) {
		t.Fatalf("%s: header %v", path, rows[0])
	}
	for i, r := range rows[1:] {
		q, ok1 := idx[r[1]]
		tg, ok2 := idx[r[2]]
		if !ok1 || !ok2 {
			t.Fatalf("%s row %d: unknown neuron", path, i+2)
		}
		switch r[0] {
		case "match":
			match = append(match, smatbuild.Pair{Q: q, T: tg})
		case "nonmatch":
			nonmatch = append(nonmatch, smatbuild.Pair{Q: q, T: tg})
		default:
			t.Fatalf("%s row %d: kind %q", path, i+2, r[0])
		}
	}
	return match, nonmatch
}

// goldenPairs are the golden set's pairs derived as the README describes:
// matching = all ordered pairs inside each type of >= 2 neurons,
// non-matching = all ordered pairs of the first neuron of every type.
func goldenPairs(t *testing.T, dps []*scoring.Dotprops) (match, nonmatch []smatbuild.Pair) {
	groups, _ := goldenGroups(t, dps)
	var firsts []int32
	for _, g := range groups {
		firsts = append(firsts, g[0])
	}
	return smatbuild.MatchingPairs(groups), smatbuild.MatchingPairs([][]int32{firsts})
}

func sortPairs(p []smatbuild.Pair) []smatbuild.Pair {
	p = slices.Clone(p)
	slices.SortFunc(p, func(a, b smatbuild.Pair) int {
		if a.Q != b.Q {
			return int(a.Q - b.Q)
		}
		return int(a.T - b.T)
	})
	return p
}

// TestSmatBuildGoldenDerivedPairs builds the golden matrices from pairs
// derived from the metadata (no smat_build file needed) and checks the
// README's totals, every cell's count against the brute-force count, and
// every cell against the formula written out; with the navis pairs file
// present, the derived pairs must be its pairs.
func TestSmatBuildGoldenDerivedPairs(t *testing.T) {
	dps := loadGolden(t)
	ns := prepare(t, dps)
	match, nonmatch := goldenPairs(t, dps)
	if len(match) != 20 || len(nonmatch) != 90 {
		t.Fatalf("derived %d matching and %d non-matching pairs, want 20 (A 6, B 6, C 6, line 2) and 90 (10 types)", len(match), len(nonmatch))
	}
	dist, dot := smatbuild.FCWBEdges()
	for _, alpha := range []bool{false, true} {
		t.Run(fmt.Sprintf("alpha=%v", alpha), func(t *testing.T) {
			b, err := smatbuild.NewCounter(dist, dot, alpha)
			if err != nil {
				t.Fatal(err)
			}
			M, err := b.CountPairs(ns, match, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			N, err := b.CountPairs(ns, nonmatch, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			sm, sn := smatbuild.SumCounts(M), smatbuild.SumCounts(N)
			if sm != 25120 || sn != 70182 {
				t.Errorf("ΣM = %d, ΣN = %d; the README says 25,120 and 70,182", sm, sn)
			}
			bm, bn := make([]int64, b.Cells()), make([]int64, b.Cells())
			for _, p := range match {
				bruteCounts(bm, dps[p.Q], dps[p.T], dist, dot, alpha)
			}
			for _, p := range nonmatch {
				bruteCounts(bn, dps[p.Q], dps[p.T], dist, dot, alpha)
			}
			if !slices.Equal(M, bm) || !slices.Equal(N, bn) {
				t.Fatalf("counts differ from the brute-force counts:\nM %v\n  %v\nN %v\n  %v", M, bm, N, bn)
			}
			m, err := smatbuild.BuildMatrix("golden", dist, dot, M, N)
			if err != nil {
				t.Fatal(err)
			}
			zeroN := 0
			for i, c := range m.Cells {
				if w := navisCell(bm[i], bn[i], sm, sn); c != w {
					t.Errorf("cell %d = %v, formula %v", i, c, w)
				}
				if bn[i] == 0 {
					zeroN++
				}
			}
			if zeroN < 27 || zeroN > 34 {
				t.Errorf("%d cells with N = 0; the README says 27-34 per matrix", zeroN)
			}
		})
	}
	// The derived pairs are navis' pairs (in another order).
	t.Run("navis pairs", func(t *testing.T) {
		pm, pn := readPairsFile(t, reference.File(t, "smat_build/golden.pairs.csv"), dps)
		if !slices.Equal(sortPairs(pm), sortPairs(match)) || !slices.Equal(sortPairs(pn), sortPairs(nonmatch)) {
			t.Errorf("pairs derived from the metadata differ from smat_build/golden.pairs.csv")
		}
	})
}

// TestSmatBuildGoldenMatchesNavis builds from navis' exact pairs and edges
// and compares every cell with navis' built matrix (smat_build/).
func TestSmatBuildGoldenMatchesNavis(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		alpha      bool
	}{
		{"plain", "smat_build/golden.smat.csv", false},
		{"alpha", "smat_build/golden.smat_alpha.csv", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dps := loadGolden(t)
			match, nonmatch := readPairsFile(t, reference.File(t, "smat_build/golden.pairs.csv"), dps)
			var edges struct {
				Distance, Dot []float64
				RightClosed   bool `json:"right_closed"`
				OuterOpen     bool `json:"outer_edges_open"`
			}
			raw, err := os.ReadFile(reference.File(t, "smat_build/golden.edges.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &edges); err != nil {
				t.Fatal(err)
			}
			if !edges.RightClosed || !edges.OuterOpen {
				t.Fatalf("edges.json: right_closed %v, outer_edges_open %v: the builder bins right-closed with open outer edges", edges.RightClosed, edges.OuterOpen)
			}
			want, err := smatcsv.Load(context.Background(), reference.File(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ns := prepare(t, dps)
			b, err := smatbuild.NewCounter(edges.Distance, edges.Dot, tc.alpha)
			if err != nil {
				t.Fatal(err)
			}
			M, err := b.CountPairs(ns, match, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			N, err := b.CountPairs(ns, nonmatch, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sm, sn := smatbuild.SumCounts(M), smatbuild.SumCounts(N); sm != 25120 || sn != 70182 {
				t.Errorf("ΣM = %d, ΣN = %d; want 25,120 and 70,182", sm, sn)
			}
			got, err := smatbuild.BuildMatrix("golden", edges.Distance, edges.Dot, M, N)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.DistEdges, want.DistEdges) || !slices.Equal(got.DotEdges, want.DotEdges) {
				t.Fatalf("edges %v / %v, navis' %v / %v", got.DistEdges, got.DotEdges, want.DistEdges, want.DotEdges)
			}
			worst := 0.0
			for i, c := range got.Cells {
				rel := math.Abs(c-want.Cells[i]) / math.Abs(want.Cells[i])
				worst = max(worst, rel)
				if !(rel <= 1e-12) {
					t.Errorf("cell (%d,%d) = %v, navis %v (relative difference %.3g)", i/got.DotBins(), i%got.DotBins(), c, want.Cells[i], rel)
				}
			}
			t.Logf("%s: largest relative difference from navis' matrix %.3g over %d cells", tc.name, worst, len(got.Cells))
		})
	}
}

// TestSmatCountsOnEdges: values exactly on an edge go to the lower bin,
// values beyond the outer edges to the end bins, alpha scales |dot|; the
// builder's counts equal the brute-force counts for any number of workers.
func TestSmatCountsOnEdges(t *testing.T) {
	// Points on an integer grid: nearest distances 0, 1, 2, 3 and 100
	// exactly, tangents along x, y or (x+y)/√2: |dot| 0, 1 or √½.
	s := math.Sqrt(0.5)
	mk := func(id int64, pts [][3]float64, vecs [][3]float64, alpha []float64) *scoring.Dotprops {
		return &scoring.Dotprops{ID: scoring.IntID(id), Points: pts, Vectors: vecs, Alpha: alpha}
	}
	q := mk(1, [][3]float64{{0, 0, 0}, {10, 1, 0}, {20, 2, 0}, {30, 3, 0}, {-100, 0, 0}},
		[][3]float64{{1, 0, 0}, {0, 1, 0}, {s, s, 0}, {1, 0, 0}, {0, 1, 0}}, []float64{1, 0.25, 0.5, 0, 1})
	tg := mk(2, [][3]float64{{0, 0, 0}, {10, 0, 0}, {20, 0, 0}, {30, 0, 0}},
		[][3]float64{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {0, 1, 0}}, []float64{1, 1, 0.5, 1})
	dist := []float64{0, 1, 2, 50}
	dot := []float64{0, 0.5, 1}
	ns := prepare(t, []*scoring.Dotprops{q, tg})
	for _, tc := range []struct {
		alpha bool
		want  []int64 // 3 distance bins × 2 dot bins
	}{
		// d: 0 -> bin 0, 1 -> bin 0 (on the edge), 2 -> bin 1, 3 -> bin 2,
		// 100 -> bin 2 (clipped). |dot|: 1, 0, √½, 0, 0.
		{false, []int64{1, 1, 0, 1, 2, 0}},
		// alpha: 1·1, 0·…, √½·sqrt(0.5·0.5)=0.354, 0, 0.
		{true, []int64{1, 1, 1, 0, 2, 0}},
	} {
		b, err := smatbuild.NewCounter(dist, dot, tc.alpha)
		if err != nil {
			t.Fatal(err)
		}
		brute := make([]int64, b.Cells())
		bruteCounts(brute, q, tg, dist, dot, tc.alpha)
		if !slices.Equal(brute, tc.want) {
			t.Fatalf("alpha=%v: brute force %v, want %v (the test's own expectation)", tc.alpha, brute, tc.want)
		}
		for _, w := range []int{1, 2, 8} {
			got, err := b.CountPairs(ns, []smatbuild.Pair{{Q: 0, T: 1}}, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("alpha=%v workers=%d: counts %v, want %v", tc.alpha, w, got, tc.want)
			}
		}
	}
}

// TestSmatCountsSynthetic compares CountPairs with the brute force on
// synthetic neurons, every ordered pair, with and without alpha.
func TestSmatCountsSynthetic(t *testing.T) {
	dps := synth.Generate(8, 5)
	ns := prepare(t, dps)
	var pairs []smatbuild.Pair
	for q := range dps {
		for tg := range dps {
			if q != tg {
				pairs = append(pairs, smatbuild.Pair{Q: int32(q), T: int32(tg)})
			}
		}
	}
	dist, dot := smatbuild.FCWBEdges()
	for _, alpha := range []bool{false, true} {
		b, _ := smatbuild.NewCounter(dist, dot, alpha)
		var calls int64
		got, err := b.CountPairs(ns, pairs, 3, func(int64) { calls++ })
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int64, b.Cells())
		for _, p := range pairs {
			bruteCounts(want, dps[p.Q], dps[p.T], dist, dot, alpha)
		}
		if !slices.Equal(got, want) {
			t.Errorf("alpha=%v: counts differ from the brute force", alpha)
		}
		if calls != int64(len(pairs)) {
			t.Errorf("progress called %d times for %d pairs", calls, len(pairs))
		}
	}
}

func TestCounterErrors(t *testing.T) {
	dist, dot := smatbuild.FCWBEdges()
	noAlpha := &scoring.Dotprops{ID: scoring.IntID(7), Points: [][3]float64{{0, 0, 0}}, Vectors: [][3]float64{{1, 0, 0}}}
	ns := prepare(t, []*scoring.Dotprops{noAlpha, noAlpha})
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"one edge", func() error { _, err := smatbuild.NewCounter([]float64{0}, dot, false); return err }, "at least 2 distance edges"},
		{"not increasing", func() error { _, err := smatbuild.NewCounter([]float64{0, 2, 1}, dot, false); return err }, "not strictly increasing"},
		{"NaN edge", func() error { _, err := smatbuild.NewCounter(dist, []float64{0, math.NaN(), 1}, false); return err }, "NaN"},
		{"alpha missing", func() error {
			b, _ := smatbuild.NewCounter(dist, dot, true)
			_, err := b.CountPairs(ns, []smatbuild.Pair{{Q: 0, T: 1}}, 1, nil)
			return err
		}, "neuron 7 has no alpha"},
		{"pair outside", func() error {
			b, _ := smatbuild.NewCounter(dist, dot, false)
			_, err := b.CountPairs(ns, []smatbuild.Pair{{Q: 0, T: 2}}, 1, nil)
			return err
		}, "outside the 2 neurons"},
		{"no matches", func() error {
			_, err := smatbuild.BuildMatrix("x", []float64{0, 1}, []float64{0, 1}, []int64{0}, []int64{3})
			return err
		}, "no matching point pairs"},
		{"no non-matches", func() error {
			_, err := smatbuild.BuildMatrix("x", []float64{0, 1}, []float64{0, 1}, []int64{3}, []int64{0})
			return err
		}, "no non-matching point pairs"},
		{"wrong length", func() error {
			_, err := smatbuild.BuildMatrix("x", []float64{0, 1, 2}, []float64{0, 1}, []int64{3}, []int64{1})
			return err
		}, "for 2 cells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMatchingPairs(t *testing.T) {
	for _, tc := range []struct {
		groups [][]int32
		want   []smatbuild.Pair
	}{
		{nil, nil},
		{[][]int32{{4}}, nil},
		{[][]int32{{0, 2}, {5}, {1, 3, 4}}, []smatbuild.Pair{{0, 2}, {2, 0}, {1, 3}, {1, 4}, {3, 1}, {3, 4}, {4, 1}, {4, 3}}},
	} {
		if got := smatbuild.MatchingPairs(tc.groups); !slices.Equal(got, tc.want) {
			t.Errorf("MatchingPairs(%v) = %v, want %v", tc.groups, got, tc.want)
		}
	}
}

func TestDrawNonMatching(t *testing.T) {
	singletons := func(n int) []int32 {
		g := make([]int32, n)
		for i := range g {
			g[i] = int32(i)
		}
		return g
	}
	ones := func(n int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = 1 + i%7
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		group     []int32
		need      int64
		exhausted bool
	}{
		{"enumerated", []int32{0, 0, 0, 1, 1, 2, 3, 3, 3, 3}, 40, false},
		{"enumerated, all needed", []int32{0, 0, 1, 1}, 1000, true},
		{"one group", []int32{5, 5, 5}, 10, true},
		{"rejection", singletons(4000), 5000, false}, // 16M candidates, ~1,250 drawn
	} {
		t.Run(tc.name, func(t *testing.T) {
			pts := ones(len(tc.group))
			pairs, exhausted, err := smatbuild.DrawNonMatching(tc.group, pts, tc.need, 7)
			if err != nil {
				t.Fatal(err)
			}
			if exhausted != tc.exhausted {
				t.Fatalf("exhausted = %v, want %v", exhausted, tc.exhausted)
			}
			seen := map[smatbuild.Pair]bool{}
			for _, p := range pairs {
				if p.Q == p.T || tc.group[p.Q] == tc.group[p.T] || seen[p] {
					t.Fatalf("pair %v: self, same group or repeated", p)
				}
				seen[p] = true
			}
			got := smatbuild.QueryPoints(pairs, pts)
			if !tc.exhausted {
				last := int64(pts[pairs[len(pairs)-1].Q])
				if got < tc.need || got-last >= tc.need {
					t.Errorf("%d query points for need %d: not the first draw to reach it", got, tc.need)
				}
			}
			again, _, _ := smatbuild.DrawNonMatching(tc.group, pts, tc.need, 7)
			if !slices.Equal(pairs, again) {
				t.Errorf("the same seed drew other pairs")
			}
			if other, _, _ := smatbuild.DrawNonMatching(tc.group, pts, tc.need, 8); len(pairs) > 3 && slices.Equal(pairs, other) {
				t.Errorf("seeds 7 and 8 drew the same pairs")
			}
		})
	}
}

// BenchmarkSmatBuild1000 builds a scoring matrix from 1,000 synthetic
// neurons (internal/synth, ~80 cell types): matching pairs inside each type,
// non-matching pairs drawn until they match the query points, counted on all
// cores. Reports pairs/s, wall ns per query point and CPU seconds per
// build (wall time on a shared machine varies with the other tenants).
func BenchmarkSmatBuild1000(b *testing.B) {
	brain, err := synth.GenerateOptions(synth.DefaultOptions(1000, 1))
	if err != nil {
		b.Fatal(err)
	}
	ns := prepare(b, brain.Neurons)
	groups := make([][]int32, brain.Types)
	pts := make([]int, len(ns))
	for i, ty := range brain.Type {
		groups[ty] = append(groups[ty], int32(i))
		pts[i] = ns[i].Len()
	}
	match := smatbuild.MatchingPairs(groups)
	need := smatbuild.QueryPoints(match, pts)
	group := make([]int32, len(brain.Type))
	for i, ty := range brain.Type {
		group[i] = int32(ty)
	}
	nonmatch, _, err := smatbuild.DrawNonMatching(group, pts, need, smatbuild.DefaultSeed)
	if err != nil {
		b.Fatal(err)
	}
	dist, dot := smatbuild.FCWBEdges()
	bld, _ := smatbuild.NewCounter(dist, dot, false)
	b.ResetTimer()
	cpu0 := cputime.Seconds()
	for range b.N {
		M, err := bld.CountPairs(ns, match, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		N, err := bld.CountPairs(ns, nonmatch, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := smatbuild.BuildMatrix("bench", dist, dot, M, N); err != nil {
			b.Fatal(err)
		}
	}
	pairs := float64(len(match) + len(nonmatch))
	points := float64(need + smatbuild.QueryPoints(nonmatch, pts))
	b.ReportMetric(pairs*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(points*float64(b.N)), "ns/point")
	b.ReportMetric(pairs, "pairs")
	b.ReportMetric((cputime.Seconds()-cpu0)/float64(b.N), "CPU-s/op")
}
