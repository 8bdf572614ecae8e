// Package scipytest runs scipy's hierarchical clustering
// (scipy.cluster.hierarchy.linkage and fcluster, through /usr/bin/python3)
// for tests that compare package cluster with it. Without scipy a test
// skips, or fails when NBLAST_REQUIRE_SCIPY is set (CI).
package scipytest

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/cluster"
	"github.com/nblast-go/nblast/internal/reference"
)

//go:embed linkage.py
var script []byte

// Python is the interpreter the tests use (Debian's, with python3-scipy).
const Python = reference.Python

// Require skips the test (or, with NBLAST_REQUIRE_SCIPY set, fails it)
// when Python cannot import numpy and the given modules (e.g.
// "scipy.cluster.hierarchy", "scipy.spatial", "scipy.sparse").
func Require(tb testing.TB, modules ...string) {
	tb.Helper()
	imports := strings.Join(append([]string{"numpy"}, modules...), ", ")
	out, err := exec.Command(Python, "-c", "import "+imports).CombinedOutput()
	if err == nil {
		return
	}
	msg := "scipy not available (" + Python + " -c 'import " + imports + "': " + strings.TrimSpace(string(out)) + "): install python3-scipy (apt-get install -y python3-scipy) to compare with scipy"
	if os.Getenv("NBLAST_REQUIRE_SCIPY") != "" {
		tb.Fatal(msg + "; NBLAST_REQUIRE_SCIPY is set, so this fails rather than skips")
	}
	tb.Skip(msg)
}

// Method is scipy's result for one linkage method.
type Method struct {
	Z        [][4]float64
	Maxclust map[string][]int
	Heights  []float64
	Distance [][]int
	// Error is fcluster's error (then no labels), e.g. for negative
	// distances.
	Error string
}

// Result is scipy's output.
type Result struct {
	Scipy   string
	N       int
	Methods map[string]Method
}

func run(tb testing.TB, args ...string) Result {
	tb.Helper()
	dir := tb.TempDir()
	py := filepath.Join(dir, "linkage.py")
	if err := os.WriteFile(py, script, 0o644); err != nil {
		tb.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(Python, append([]string{py}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("scipy: %v\n%s", err, stderr.String())
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		tb.Fatalf("scipy output: %v", err)
	}
	return r
}

func list(methods []string, ks []int) []string {
	k := make([]string, len(ks))
	for i, v := range ks {
		k[i] = strconv.Itoa(v)
	}
	return []string{"--methods", strings.Join(methods, ","), "--ks", strings.Join(k, ",")}
}

// Condensed runs scipy on condensed distances d of n points.
func Condensed(tb testing.TB, d []float64, n int, methods []string, ks []int) Result {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "d.f64")
	b := make([]byte, 8*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return run(tb, append([]string{"--condensed", p, strconv.Itoa(n)}, list(methods, ks)...)...)
}

// Scores runs scipy on a navis score CSV, made into distances as
// navis.nbl.make_linkage does.
func Scores(tb testing.TB, csv string, methods []string, ks []int) Result {
	tb.Helper()
	return run(tb, append([]string{"--scores", csv}, list(methods, ks)...)...)
}

// CompareZ checks a linkage against scipy's Z: the same clusters merged
// in the same order (exactly), at distances equal to tol (absolute).
func CompareZ(tb testing.TB, what string, got []cluster.Merge, want [][4]float64, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d merges, scipy %d", what, len(got), len(want))
	}
	worst := 0.0
	for k, m := range got {
		w := want[k]
		if float64(m.A) != w[0] || float64(m.B) != w[1] || float64(m.Size) != w[3] {
			tb.Fatalf("%s: row %d is (%d, %d, %.17g, %d), scipy (%v, %v, %.17g, %v)", what, k, m.A, m.B, m.Distance, m.Size, w[0], w[1], w[2], w[3])
		}
		worst = math.Max(worst, math.Abs(m.Distance-w[2]))
	}
	if worst > tol {
		tb.Fatalf("%s: distances differ from scipy's by up to %g (> %g)", what, worst, tol)
	}
}

// SamePartition checks two labelings are the same partition, up to
// renaming the labels; exact reports whether the labels are identical too.
func SamePartition(tb testing.TB, what string, got, want []int) (exact bool) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d labels, scipy %d", what, len(got), len(want))
	}
	g, w := cluster.Renumber(got), cluster.Renumber(want)
	for i := range g {
		if g[i] != w[i] {
			tb.Fatalf("%s: point %d is in cluster %d, scipy %d: the partitions differ (%d and %d clusters)", what, i, got[i], want[i], cluster.NumClusters(got), cluster.NumClusters(want))
		}
	}
	return slices.Equal(got, want)
}
