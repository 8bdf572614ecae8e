// Package reference loads the navis reference data in ../shared/testdata
// (dotprops CSVs and expected score matrices) for tests. Tests call Dir,
// which skips them with a clear message when that directory is absent, as it
// is in a user's clone.
package reference

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/scoring"
)

// Dir returns the shared testdata directory (NBLAST_SHARED_TESTDATA, or
// ../shared/testdata beside the repository), skipping the test if absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("NBLAST_SHARED_TESTDATA")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		noteSkip(tb.Name())
		tb.Skipf("navis reference data not found at %s (set NBLAST_SHARED_TESTDATA or put shared/ beside the repository): %v", dir, err)
	}
	return dir
}

// NavisRequireEnv, set to 1 (CI), makes NavisLib fail a test instead of
// skipping it when navis cannot be imported.
const NavisRequireEnv = "NBLAST_REQUIRE_NAVIS"

// NavisLib returns the directory from which /usr/bin/python3 imports navis
// 1.12 (NBLAST_NAVIS_LIB, or ../shared/anchors/navis/lib beside the
// repository), checking that navis and the given modules import with
// PYTHONPATH set to it. Without them the test is skipped, noted in the skip
// log like Dir's, or failed when NBLAST_REQUIRE_NAVIS=1.
func NavisLib(tb testing.TB, modules ...string) string {
	tb.Helper()
	lib := os.Getenv("NBLAST_NAVIS_LIB")
	if lib == "" {
		_, file, _, _ := runtime.Caller(0)
		lib = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "anchors", "navis", "lib")
	}
	imports := strings.Join(append([]string{"navis"}, modules...), ", ")
	cmd := exec.Command(Python, "-c", "import "+imports)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+lib)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return lib
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	msg := fmt.Sprintf("%s cannot import %s with PYTHONPATH=%s (%v: %s): put shared/ beside the repository (or set NBLAST_NAVIS_LIB) and run bash ../shared/anchors/navis/install-deps.sh",
		Python, imports, lib, err, lines[len(lines)-1])
	if os.Getenv(NavisRequireEnv) == "1" {
		tb.Fatalf("%s=1 but %s", NavisRequireEnv, msg)
	}
	noteSkip(tb.Name())
	tb.Skip(msg)
	return ""
}

// Python is the interpreter tests compare with: Debian's, whose packages
// (numpy, scipy, pandas, zarr, dask) navis 1.12 and python/ use.
const Python = "/usr/bin/python3"

// File returns the path of rel (slash-separated, relative to Dir) and
// skips the test, noting it in the skip log like Dir, when that file is
// absent: some copies of the reference data hold only part of a directory
// (e.g. smat_build/ without the navis matrices).
func File(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Dir(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		noteSkip(tb.Name())
		tb.Skipf("navis reference file %s not found in this copy of the reference data (%v): skipping the comparison that needs it", rel, err)
	}
	return p
}

// SkipLogEnv names a file to which Dir appends the name of every test it
// skips, one per line, so that `make test` can end by saying how many
// reference tests did not run (go test runs each package in its own
// process).
const SkipLogEnv = "NBLAST_SKIP_LOG"

func noteSkip(test string) {
	p := os.Getenv(SkipLogEnv)
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(test + "\n") // one small O_APPEND write: lines do not interleave
}

// Set is a reference neuron set with expected scores.
type Set struct {
	Name     string // e.g. "golden"
	Dotprops string // path of the dotprops CSV, relative to Dir
	Parquet  string // path of the navis-layout Parquet, relative to Dir
	Scores   string // format string for a mode's score CSV, relative to Dir
	IntIDs   bool
}

// Sets are the reference sets that carry expected scores.
var Sets = []Set{
	{Name: "golden", Dotprops: "golden/synthetic.dotprops.csv", Parquet: "golden/synthetic.dotprops.parquet", Scores: "golden/scores/%s.csv", IntIDs: true},
	{Name: "examples", Dotprops: "neurons/navis_examples_k5_res1um.dotprops.csv", Parquet: "neurons/navis_examples_k5_res1um.dotprops.parquet", Scores: "neurons/scores/examples_k5_res1um__navis__%s.csv", IntIDs: true},
}

// Mode is one navis call whose scores the reference data holds.
type Mode struct {
	Name       string // file name part, e.g. "mean_norm_alpha"
	Scores     scoring.Mode
	Normalized bool
	UseAlpha   bool
	AutoDist   bool // max_dist = "auto"
	AllByAll   bool // nblast_allbyall: diagonal exactly 1
	Float32    bool // stored as float32
	Golden     bool // only the golden set has it
}

// Modes lists every exact-NBLAST mode in the reference data (the smart_*
// pre-screening modes are not exact NBLAST and are not listed).
var Modes = []Mode{
	{Name: "fwd_raw", Scores: scoring.Forward},
	{Name: "fwd_norm", Scores: scoring.Forward, Normalized: true},
	{Name: "mean_norm", Scores: scoring.Mean, Normalized: true},
	{Name: "max_norm", Scores: scoring.Max, Normalized: true, Golden: true},
	{Name: "min_norm", Scores: scoring.Min, Normalized: true, Golden: true},
	{Name: "fwd_raw_alpha", Scores: scoring.Forward, UseAlpha: true},
	{Name: "fwd_norm_alpha", Scores: scoring.Forward, Normalized: true, UseAlpha: true},
	{Name: "mean_norm_alpha", Scores: scoring.Mean, Normalized: true, UseAlpha: true},
	{Name: "fwd_norm_maxdist_auto", Scores: scoring.Forward, Normalized: true, AutoDist: true},
	{Name: "fwd_norm_f32", Scores: scoring.Forward, Normalized: true, Float32: true, Golden: true},
	{Name: "aba_norm", Scores: scoring.Forward, Normalized: true, AllByAll: true},
	{Name: "aba_norm_alpha", Scores: scoring.Forward, Normalized: true, UseAlpha: true, AllByAll: true},
}

// Options returns the scoring options of the mode.
func (m Mode) Options() scoring.Options {
	o := scoring.Options{Normalized: m.Normalized, UseAlpha: m.UseAlpha, AllByAll: m.AllByAll}
	if m.AutoDist {
		o.MaxDist = scoring.FCWB().AutoMaxDist()
	}
	return o
}

// Scores is an expected score matrix: rows are queries, columns targets.
type Scores struct {
	Queries, Targets []string
	Values           [][]float64
}

// LoadScores reads a navis score CSV (first header cell "query", then target
// ids; each row a query id then its scores).
func LoadScores(path string) (*Scores, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no score rows", path)
	}
	s := &Scores{Targets: rows[0][1:]}
	for i, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("%s: row %d has %d cells, want %d", path, i+2, len(r), len(rows[0]))
		}
		s.Queries = append(s.Queries, r[0])
		vals := make([]float64, len(r)-1)
		for j, c := range r[1:] {
			if vals[j], err = strconv.ParseFloat(c, 64); err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
			}
		}
		s.Values = append(s.Values, vals)
	}
	return s, nil
}

// LoadDotpropsCSV reads a dotprops CSV (neuron_id,x,y,z,vx,vy,vz,alpha) in
// file order; ids are int64 when intIDs is set, strings otherwise.
func LoadDotpropsCSV(path string, intIDs bool) ([]*scoring.Dotprops, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var out []*scoring.Dotprops
	byID := map[string]*scoring.Dotprops{}
	for i, r := range rows[1:] {
		if len(r) != 8 {
			return nil, fmt.Errorf("%s: row %d has %d fields, want 8", path, i+2, len(r))
		}
		var v [7]float64
		for k := range v {
			if v[k], err = strconv.ParseFloat(r[k+1], 64); err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
			}
		}
		d := byID[r[0]]
		if d == nil {
			id, err := scoring.ParseID(r[0], !intIDs)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
			}
			d = &scoring.Dotprops{ID: id}
			byID[r[0]] = d
			out = append(out, d)
		}
		d.Points = append(d.Points, [3]float64{v[0], v[1], v[2]})
		d.Vectors = append(d.Vectors, [3]float64{v[3], v[4], v[5]})
		d.Alpha = append(d.Alpha, v[6])
	}
	return out, nil
}

// ReadCSV reads the whole CSV file at path (a test's input: reference
// data or a file of the repository's testdata), failing tb on error.
func ReadCSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	rows, err := readCSV(path)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, rec)
	}
}

// Tolerance returns the allowed absolute difference for a mode's cell:
// 1e-6 normalised, 1e-6 · selfHit raw (the README's tolerances).
func (m Mode) Tolerance(selfHit float64) float64 {
	if m.Normalized {
		return 1e-6
	}
	return 1e-6 * selfHit
}
