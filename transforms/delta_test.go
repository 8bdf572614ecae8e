package transforms

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scoring"
)

// TestDeltaMaskCoversTheUpdate: for plans of every shape, the work items
// of DeltaItems, each narrowed by restrict, hold every pair with an
// affected query or target, and others only in the one work item that
// mixes affected and unaffected neurons on both sides; DeltaPairs counts
// the pairs needed.
func TestDeltaMaskCoversTheUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		nq, nt, bs := 1+r.IntN(30), 1+r.IntN(30), 1+r.IntN(7)
		allByAll := r.IntN(2) == 0
		if allByAll {
			nt = nq
		}
		d := DeltaMask{Queries: r.IntN(nq + 1), Targets: r.IntN(nt + 1)}
		if allByAll {
			d.Targets = d.Queries
		}
		p := Plan{Queries: infos(make([]int, nq)...), Targets: infos(make([]int, nt)...), BlockSize: bs, AllByAll: allByAll}
		kept := map[[2]int]bool{}
		extra := map[WorkItem]bool{}
		for _, w := range p.DeltaItems(d) {
			qn, tn := len(p.QueryBlock(w.QB)), len(p.TargetBlock(w.TB))
			qi, ti := d.restrict(w, bs, seq(qn), seq(tn), qn, tn)
			for _, i := range qi {
				for _, j := range ti {
					q, tt := w.QB*bs+i, w.TB*bs+j
					kept[[2]int{q, tt}] = true
					if !d.Needed(q, tt) {
						extra[w] = true
					}
				}
			}
		}
		var needed int64
		for q := range nq {
			for tt := range nt {
				if d.Needed(q, tt) {
					needed++
					if !kept[[2]int{q, tt}] {
						t.Fatalf("nq %d nt %d bs %d mask %+v: pair (%d, %d) not scored", nq, nt, bs, d, q, tt)
					}
				}
			}
		}
		if len(extra) > 1 {
			t.Fatalf("nq %d nt %d bs %d mask %+v: unneeded pairs in %d work items", nq, nt, bs, d, len(extra))
		}
		if got := p.DeltaPairs(d); got != needed {
			t.Fatalf("nq %d nt %d mask %+v: DeltaPairs %d, want %d", nq, nt, d, got, needed)
		}
	}
}

// TestMakeDeltaPlanOrdersGroups: each group's neurons come together, in
// group order, each side holding every neuron once.
func TestMakeDeltaPlanOrdersGroups(t *testing.T) {
	ns := make([]dotprops.NeuronInfo, 20)
	for i := range ns {
		ns[i] = dotprops.NeuronInfo{ID: scoring.IntID(int64(i)), Points: 10 + i, Centroid: [3]float64{float64(i % 7), float64(i % 3), 0}}
	}
	for _, spatial := range []bool{false, true} {
		p, err := MakeDeltaPlan([][]dotprops.NeuronInfo{ns[:5], ns[5:]}, nil, 4, true, spatial)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Queries) != 20 || len(p.Targets) != 20 || !p.AllByAll {
			t.Fatalf("plan of %d queries, %d targets", len(p.Queries), len(p.Targets))
		}
		var first []int64
		for _, n := range p.Queries[:5] {
			first = append(first, n.ID.Int)
		}
		slices.Sort(first)
		if !slices.Equal(first, []int64{0, 1, 2, 3, 4}) {
			t.Errorf("spatial %t: first five %v", spatial, first)
		}
		seen := map[int64]bool{}
		for _, n := range p.Queries {
			seen[n.ID.Int] = true
		}
		if len(seen) != 20 {
			t.Errorf("spatial %t: %d distinct neurons", spatial, len(seen))
		}
	}
	if _, err := MakeDeltaPlan([][]dotprops.NeuronInfo{ns[:3]}, [][]dotprops.NeuronInfo{nil, nil}, 4, false, false); err == nil {
		t.Error("no targets: no error")
	}
}
