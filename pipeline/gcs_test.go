package pipeline_test

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/internal/gcstest"
	"github.com/nblast-go/nblast/internal/reference"
	"github.com/nblast-go/nblast/pipeline"
	"github.com/nblast-go/nblast/sinks"
)

// TestGCSMatchesLocal runs whole jobs on prism with gs:// inputs (a file,
// a directory, a glob; a --smat CSV) and outputs on an in-process fake GCS server, and
// checks that they write what the same jobs write locally: the same
// scores, the same chunk and part bytes, no staging left, the output
// marked complete; then --exists fail, resume and overwrite on gs://.
func TestGCSMatchesLocal(t *testing.T) {
	gcstest.Start(t, "bkt")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	golden := "../testdata/golden_synthetic.dotprops.parquet"
	upload(t, ctx, golden, "gs://bkt/in/golden.parquet")
	if err := files.WriteFile(ctx, "gs://bkt/in/README.txt", []byte("not Parquet")); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name        string
		local, gcs  pipeline.Options
		sparse      bool
		arrays      []string
		sharedInput string // uploaded to gs://bkt/shared/ when the reference data is there
		sharedSmat  string // uploaded to gs://bkt/smat/ as --smat, with sharedInput
	}{{
		name:   "zarr-both",
		local:  pipeline.Options{Queries: golden, Targets: golden, Scores: "both"},
		gcs:    pipeline.Options{Queries: "gs://bkt/in", Targets: "gs://bkt/in/*.parquet", Scores: "both"}, // a directory, a glob
		arrays: []string{"scores", "scores_reverse"},
	}, {
		name:   "sparse",
		local:  pipeline.Options{Queries: golden, Sink: "sparse", Threshold: 0.1},
		gcs:    pipeline.Options{Queries: "gs://bkt/in/golden.parquet", Sink: "sparse", Threshold: 0.1},
		sparse: true,
	}, {
		name:        "sparse-str-ids-dir",
		gcs:         pipeline.Options{Queries: "gs://bkt/shared/", Sink: "sparse", Scores: "mean"},
		local:       pipeline.Options{Sink: "sparse", Scores: "mean"},
		sparse:      true,
		sharedInput: "golden/synthetic.dotprops.str_ids.parquet",
		sharedSmat:  "smat/smat_fcwb.csv",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.sharedInput != "" {
				c.local.Queries = filepath.Join(reference.Dir(t), c.sharedInput)
				upload(t, ctx, c.local.Queries, "gs://bkt/shared/"+filepath.Base(c.sharedInput))
				c.local.Smat = filepath.Join(reference.Dir(t), c.sharedSmat)
				c.gcs.Smat = "gs://bkt/smat/" + filepath.Base(c.sharedSmat)
				upload(t, ctx, c.local.Smat, c.gcs.Smat)
			}
			localOut, gcsOut := t.TempDir(), "gs://bkt/out/"+c.name
			local, gcs := withDefaults(c.local, localOut), withDefaults(c.gcs, gcsOut)
			runJob(t, "prism", local)
			job := runJob(t, "prism", gcs)
			if want := gcsOut + "/.staging"; job.Staging.Dir != want {
				t.Fatalf("staging in %s, want %s", job.Staging.Dir, want)
			}
			sameOutput(t, ctx, localOut, gcsOut, c.sparse, c.arrays)

			// --exists: fail refuses the result; resume after losing one
			// chunk or part (and the sparse manifest) rescores only that
			// item; overwrite replaces everything under the prefix.
			if _, err := pipeline.Prepare(ctx, gcs); err == nil || !strings.Contains(err.Error(), "--exists") {
				t.Fatalf("--exists fail: a second run into the same gs:// output was not refused (%v)", err)
			}
			lost := []string{"scores/1.2"}
			if c.sparse {
				lost = []string{sinks.PartName(1), sinks.ManifestName}
			}
			for _, name := range lost {
				deleteObject(t, ctx, files.Join(gcsOut, name))
			}
			resume := gcs
			resume.Exists = "resume"
			// A sparse part holds a query block: its row is rescored.
			want := 1
			if c.sparse {
				want = job.Plan.TargetBlocks()
			}
			if job := runJob(t, "prism", resume); job.Done != job.Total-want {
				t.Errorf("resume after losing %q: %d of %d work items found done, want all but %d", lost, job.Done, job.Total, want)
			}
			sameOutput(t, ctx, localOut, gcsOut, c.sparse, c.arrays)
			if err := files.WriteFile(ctx, files.Join(gcsOut, "stray/file"), []byte("x")); err != nil {
				t.Fatal(err)
			}
			overwrite := gcs
			overwrite.Exists = "overwrite"
			runJob(t, "prism", overwrite)
			sameOutput(t, ctx, localOut, gcsOut, c.sparse, c.arrays)
		})
	}
}

// sameOutput checks that the gs:// output holds the same objects as the
// local output's files (so no staging is left), with the same bytes for
// every chunk and part, and that the project's readers (which check that
// the output is marked complete) read the same values from both.
func sameOutput(t *testing.T, ctx context.Context, localOut, gcsOut string, sparse bool, arrays []string) {
	t.Helper()
	want, got := localTree(t, localOut), gcsTree(t, ctx, gcsOut)
	if w, g := slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)); !slices.Equal(w, g) {
		t.Fatalf("gs:// output holds %q, local output %q", g, w)
	}
	data := 0
	for name, b := range want {
		if isData(name) {
			data++
			if string(got[name]) != string(b) {
				t.Errorf("%s: %d bytes on gs://, %d bytes locally, not the same", name, len(got[name]), len(b))
			}
		}
	}
	if data < 4 {
		t.Fatalf("only %d chunk or part files in %q", data, slices.Sorted(maps.Keys(want)))
	}
	if sparse {
		w, g := readSparse(t, localOut), readSparse(t, gcsOut)
		if len(w) == 0 || !maps.Equal(w, g) {
			t.Fatalf("sparse rows differ: %d on gs://, %d locally", len(g), len(w))
		}
		return
	}
	for _, name := range arrays {
		w, _ := readMatrix(t, localOut, name)
		g, _ := readMatrix(t, gcsOut, name)
		if len(w) != 17 || !maps.EqualFunc(w, g, maps.Equal) {
			t.Fatalf("%s differs between gs:// and local (%d and %d rows)", name, len(g), len(w))
		}
	}
}

// deleteObject deletes one gs:// object (internal/files deletes only
// prefixes).
func deleteObject(t *testing.T, ctx context.Context, p string) {
	t.Helper()
	c, err := storage.NewClient(ctx) // on the fake server: STORAGE_EMULATOR_HOST
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bucket, object, _ := strings.Cut(strings.TrimPrefix(p, "gs://"), "/")
	if err := c.Bucket(bucket).Object(object).Delete(ctx); err != nil {
		t.Fatalf("delete %s: %v", p, err)
	}
}

// withDefaults returns o's inputs, output and settings over the defaults,
// with several blocks.
func withDefaults(o pipeline.Options, out string) pipeline.Options {
	d := pipeline.Defaults()
	d.Queries, d.Targets, d.Out, d.Threshold = o.Queries, o.Targets, out, o.Threshold
	if o.Scores != "" {
		d.Scores = o.Scores
	}
	if o.Sink != "" {
		d.Sink = o.Sink
	}
	if o.Smat != "" {
		d.Smat = o.Smat
	}
	d.BlockSize = 5 // several blocks, an uneven last one
	return d
}

func upload(t *testing.T, ctx context.Context, local, remote string) {
	t.Helper()
	b, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.WriteFile(ctx, remote, b); err != nil {
		t.Fatalf("upload %s: %v", local, err)
	}
}

// isData reports whether an output file is a Zarr chunk (i.j) or a sparse
// part, whose bytes depend only on the scores.
func isData(name string) bool {
	base := filepath.Base(name)
	var i, j int
	_, err := fmt.Sscanf(base, "%d.%d", &i, &j)
	return err == nil && fmt.Sprintf("%d.%d", i, j) == base || strings.HasPrefix(base, "part-")
}

// localTree reads every file under dir, keyed by slash path.
func localTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gcsTree(t *testing.T, ctx context.Context, prefix string) map[string][]byte {
	t.Helper()
	found, err := files.Glob(ctx, prefix+"/**")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range found {
		b, err := files.ReadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(p, prefix+"/")] = b
	}
	return out
}
