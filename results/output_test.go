package results

import (
	"os"
	"path/filepath"
	"testing"
)

// CheckDest refuses a destination inside the result it reads, whatever
// the spelling, and accepts one beside it.
func TestCheckDest(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, filepath.Join(out, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		to, out string
		refuse  bool
	}{
		{filepath.Join(out, "x.csv"), out, true},
		{filepath.Join(out, "topk", "topk-00000.parquet"), out, true},
		{filepath.Join(out, "..", "out", "x.csv"), out, true},
		{rel, out, true},
		{out, out, true},
		{filepath.Join(dir, "x.csv"), out, false},
		{filepath.Join(dir, "out2", "x.csv"), out, false},
		{"-", out, false},
		{"gs://b/run/x.csv", "gs://b/run", true},
		{"gs://b/run/x.csv", "gs://b/run/", true},
		{"gs://b/run2/x.csv", "gs://b/run", false},
	} {
		err := CheckDest("--to", tc.to, tc.out)
		if (err != nil) != tc.refuse {
			t.Errorf("CheckDest(%q, out %q) = %v, refuse %v", tc.to, tc.out, err, tc.refuse)
		}
	}
}
