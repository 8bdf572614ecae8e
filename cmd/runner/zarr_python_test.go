package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/scoring"
	"github.com/nblast-go/nblast/zarr"
)

// pythonZarr returns /usr/bin/python3 if it imports zarr, else skips (or
// fails with NBLAST_REQUIRE_PYTHON_ZARR=1, as CI sets).
func pythonZarr(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import zarr").CombinedOutput(); err != nil {
		msg := "skipping: " + python + " cannot import zarr (apt-get install python3-zarr python3-numcodecs): " + strings.TrimSpace(string(out))
		if os.Getenv("NBLAST_REQUIRE_PYTHON_ZARR") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return python
}

// nonASCIIInput writes the shipped golden neurons with string ids that
// are not ASCII ("KC-γ-<name>"), and returns the file and the ids.
func nonASCIIInput(t *testing.T) (string, []string) {
	t.Helper()
	dps, err := dotprops.ReadDotpropsFile(context.Background(), goldenInput(t), dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dps = dps[:6]
	var ids []string
	for i, d := range dps {
		id := "KC-γ-" + string(rune('a'+i)) + "→"
		d.ID = scoring.StrID(id)
		ids = append(ids, id)
	}
	p := filepath.Join(t.TempDir(), "kc.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dotprops.WriteDotpropsParquet(f, dps); err != nil {
		t.Fatal(err)
	}
	return p, ids
}

// TestReadmeZarrSnippetOnRealOutput runs the real pipeline (prism, the
// runner binary) on neurons with non-ASCII string ids and opens the output
// with Debian's zarr-python exactly as the README shows, reading
// "queries", "targets", "complete" and values. zarr-python 2.13 decodes
// metadata as ASCII: a raw "→" in .zattrs crashed it.
func TestReadmeZarrSnippetOnRealOutput(t *testing.T) {
	python := pythonZarr(t)
	in, ids := nonASCIIInput(t)
	out := filepath.Join(t.TempDir(), "demo-out")
	runStep(t, "run", nil, nil, "--queries", in, "--out", out)

	// Every JSON document the run left is ASCII.
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasPrefix(d.Name(), ".z")) {
			b, _ := os.ReadFile(p)
			for i, c := range b {
				if c >= 0x80 {
					t.Errorf("%s: byte %d is not ASCII", p, i)
					break
				}
			}
		}
		return nil
	})

	script := `
import json, sys, zarr
z = zarr.open_array(sys.argv[1] + "/scores", mode="r")
print(json.dumps({"queries": z.attrs["queries"], "targets": z.attrs["targets"],
                  "complete": z.attrs["complete"], "direction": z.attrs["direction"],
                  "values": z[:5, :5].tolist()}))
`
	b, err := exec.Command(python, "-c", script, out).CombinedOutput()
	if err != nil {
		t.Fatalf("zarr-python could not read the output as the README shows: %v\n%s", err, b)
	}
	var got struct {
		Queries, Targets []string
		Complete         bool
		Direction        string
		Values           [][]float64
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	z, err := zarr.Open(context.Background(), out, "scores")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Complete || got.Direction != "query→target" {
		t.Errorf("complete %v, direction %q", got.Complete, got.Direction)
	}
	for _, side := range [][]string{got.Queries, got.Targets} {
		seen := map[string]bool{}
		for _, id := range side {
			seen[id] = true
		}
		for _, id := range ids {
			if !seen[id] {
				t.Errorf("id %q missing from %v", id, side)
			}
		}
	}
	want, err := z.Read(context.Background(), 0, 5, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for j := range 5 {
			if float32(got.Values[i][j]) != float32(want[i*5+j]) {
				t.Errorf("[%d, %d]: zarr-python %v, Go reader %v", i, j, got.Values[i][j], want[i*5+j])
			}
		}
	}
	if got.Queries[0] != z.Attrs["queries"].([]any)[0] {
		t.Errorf("first query: %q vs %v", got.Queries[0], z.Attrs["queries"].([]any)[0])
	}
}
