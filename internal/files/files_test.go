package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nblast-go/nblast/internal/gcstest"
)

// testCtx is a test's deadline: a hung emulator fails the test, naming
// the call, instead of hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustWrite(t *testing.T, ctx context.Context, p string, data []byte) {
	t.Helper()
	if err := WriteFile(ctx, p, data); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
}

func mustExist(t *testing.T, ctx context.Context, p string, want bool) {
	t.Helper()
	ok, err := Exists(ctx, p)
	if err != nil {
		t.Fatalf("Exists(%s): %v", p, err)
	}
	if ok != want {
		t.Fatalf("Exists(%s) = %v, want %v", p, ok, want)
	}
}

func mustGlob(t *testing.T, ctx context.Context, pattern string, want ...string) {
	t.Helper()
	got, err := Glob(ctx, pattern)
	if err != nil {
		t.Fatalf("Glob(%s): %v", pattern, err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Glob(%s) = %q, want %q", pattern, got, want)
	}
}

// checkReaderAt compares every interesting ReadAt of ra with bytes.Reader
// on the same data: counts, bytes and io.EOF at the end.
func checkReaderAt(t *testing.T, ra ReaderAt, data []byte) {
	t.Helper()
	if ra.Size() != int64(len(data)) {
		t.Fatalf("Size() = %d, want %d", ra.Size(), len(data))
	}
	want := bytes.NewReader(data)
	size := len(data)
	for _, c := range []struct{ off, n int }{
		{0, 0}, {0, 1}, {0, 100}, {1, size - 1}, {0, size}, {0, size + 10},
		{size / 2, 1000}, {size - 100, 100}, {size - 5, 10}, {size, 1}, {size + 3, 1}, {size, 0},
	} {
		if c.off < 0 || c.n < 0 {
			continue // tested below
		}
		g, w := make([]byte, c.n), make([]byte, c.n)
		gn, gerr := ra.ReadAt(g, int64(c.off))
		wn, werr := want.ReadAt(w, int64(c.off))
		if c.n == 0 && (gerr == io.EOF || werr == io.EOF) {
			gerr, werr = nil, nil // io.ReaderAt leaves an empty read at the end open
		}
		if gn != wn || !errors.Is(gerr, werr) || !bytes.Equal(g[:gn], w[:wn]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, %v (bytes equal: %v)", c.n, c.off, gn, gerr, wn, werr, bytes.Equal(g[:gn], w[:wn]))
		}
	}
	all, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("reading all through a SectionReader: %d bytes, %v", len(all), err)
	}
	if _, err := ra.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("ReadAt at a negative offset did not fail")
	}
}

func TestGCSRoundTrip(t *testing.T) {
	gcstest.Start(t, "bkt")
	ctx := testCtx(t)

	data := randomBytes(300_000)
	mustWrite(t, ctx, "gs://bkt/a/b.bin", data)
	mustWrite(t, ctx, "gs://bkt/a/c.txt", []byte("c"))
	mustWrite(t, ctx, "gs://bkt/a/sub/d.txt", []byte("d"))
	mustWrite(t, ctx, "gs://bkt/ab.txt", []byte("outside a/"))
	mustWrite(t, ctx, "gs://bkt/a/c.txt", []byte("c, rewritten")) // overwrite

	got, err := ReadFile(ctx, "gs://bkt/a/b.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
	}
	if got, err := ReadFile(ctx, "gs://bkt/a/c.txt"); err != nil || string(got) != "c, rewritten" {
		t.Fatalf("ReadFile after overwrite: %q, %v", got, err)
	}
	if _, err := ReadFile(ctx, "gs://bkt/a/missing"); err == nil {
		t.Fatal("ReadFile of a missing object did not fail")
	}

	mustExist(t, ctx, "gs://bkt/a/b.bin", true)
	mustExist(t, ctx, "gs://bkt/a/b", false) // a prefix of an object is no object
	mustExist(t, ctx, "gs://bkt/a", false)
	mustExist(t, ctx, "gs://bkt/a/missing", false)
	mustExist(t, ctx, "gs://no-such-bucket/x", false)

	mustGlob(t, ctx, "gs://bkt/a/*", "gs://bkt/a/b.bin", "gs://bkt/a/c.txt")
	mustGlob(t, ctx, "gs://bkt/a/*.txt", "gs://bkt/a/c.txt")
	mustGlob(t, ctx, "gs://bkt/a/**", "gs://bkt/a/b.bin", "gs://bkt/a/c.txt", "gs://bkt/a/sub/d.txt")
	mustGlob(t, ctx, "gs://bkt/nothing/*")

	ra, err := OpenReaderAt(ctx, "gs://bkt/a/b.bin")
	if err != nil {
		t.Fatalf("OpenReaderAt: %v", err)
	}
	checkReaderAt(t, ra, data)
	if err := ra.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReaderAt(ctx, "gs://bkt/a/missing"); err == nil {
		t.Fatal("OpenReaderAt of a missing object did not fail")
	}

	if !IsDir("gs://bkt/a/") || IsDir("gs://bkt/a/b.bin") {
		t.Fatal("IsDir: a gs:// path is a directory exactly when it ends in /")
	}
	if err := RemoveAll(ctx, "gs://bkt/a"); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	mustGlob(t, ctx, "gs://bkt/**", "gs://bkt/ab.txt")
	if err := RemoveAll(ctx, "gs://bkt/a/"); err != nil {
		t.Fatalf("RemoveAll of an empty prefix: %v", err)
	}
}

// TestGCSReaderAtIsRanged reads 100 bytes at the end of a multi-MB object
// through a proxy that counts the bytes it serves: only those bytes (and
// headers) may cross the wire, not the object.
func TestGCSReaderAtIsRanged(t *testing.T) {
	host := gcstest.Start(t, "bkt")
	ctx := testCtx(t)
	data := randomBytes(8 << 20)
	mustWrite(t, ctx, "gs://bkt/big.bin", data)

	var served, requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	proxy.ModifyResponse = func(r *http.Response) error {
		requests.Add(1)
		r.Body = countingBody{r.Body, &served}
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", ps.Listener.Addr().String())

	ra, err := OpenReaderAt(ctx, "gs://bkt/big.bin")
	if err != nil {
		t.Fatalf("OpenReaderAt through the proxy: %v", err)
	}
	defer ra.Close()
	if ra.Size() != int64(len(data)) {
		t.Fatalf("Size() = %d, want %d", ra.Size(), len(data))
	}
	p := make([]byte, 100)
	if n, err := ra.ReadAt(p, ra.Size()-100); n != 100 || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(p, data[len(data)-100:]) {
		t.Fatal("ReadAt returned other bytes than the object's last 100")
	}
	if requests.Load() == 0 {
		t.Fatal("no request went through the proxy: the client did not use STORAGE_EMULATOR_HOST")
	}
	if n := served.Load(); n > 16<<10 {
		t.Fatalf("%d bytes crossed the wire in %d responses to read 100 bytes of a %d-byte object", n, requests.Load(), len(data))
	}
	t.Logf("%d bytes in %d responses for 100 bytes of a %d-byte object", served.Load(), requests.Load(), len(data))
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestClientsAreShared checks that clients are made once per scheme (and
// emulator), not per call.
func TestClientsAreShared(t *testing.T) {
	gcstest.Start(t, "bkt")
	ctx := testCtx(t)
	for _, p := range []string{"gs://bkt/x", t.TempDir()} {
		a, err := open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := open(ctx, p+"/other")
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("%s: two filesystems for one scheme", p)
		}
	}
	a, err := gcsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gcsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("two storage clients for one emulator")
	}
	// Clients stay usable after the context they were made with ends.
	short, cancel := context.WithCancel(ctx)
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+os.Getenv("STORAGE_EMULATOR_HOST")) // same server, fresh clients made with short
	mustWrite(t, short, "gs://bkt/y", []byte("y"))
	ra, err := OpenReaderAt(short, "gs://bkt/y")
	if err != nil {
		t.Fatal(err)
	}
	ra.Close()
	cancel()
	if got, err := ReadFile(ctx, "gs://bkt/y"); err != nil || string(got) != "y" {
		t.Fatalf("ReadFile after the first caller's context ended: %q, %v", got, err)
	}
	if ra, err := OpenReaderAt(ctx, "gs://bkt/y"); err != nil {
		t.Fatalf("OpenReaderAt after the first caller's context ended: %v", err)
	} else {
		checkReaderAt(t, ra, []byte("y"))
	}
}

func TestLocal(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	p := Join(dir, "x", "y", "f.bin") // parents are made
	data := randomBytes(5000)
	mustWrite(t, ctx, p, data)
	mustWrite(t, ctx, Join(dir, "x", "g.txt"), []byte("g"))
	if got, err := ReadFile(ctx, p); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
	}
	mustExist(t, ctx, p, true)
	mustExist(t, ctx, Join(dir, "nothing"), false)
	mustGlob(t, ctx, Join(dir, "x", "*"), Join(dir, "x", "g.txt"), Join(dir, "x", "y"))
	if !IsDir(Join(dir, "x")) || IsDir(p) {
		t.Fatal("IsDir")
	}
	ra, err := OpenReaderAt(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	checkReaderAt(t, ra, data)
	ra.Close()
	if err := RemoveAll(ctx, Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left after RemoveAll: %v", left)
	}
}

func TestRemoveTemporaries(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	keep := []string{Join(dir, "scores", "0.1"), Join(dir, "part-00000-00001.parquet")}
	for _, p := range keep {
		mustWrite(t, ctx, p, []byte("whole"))
	}
	// What a write killed before its rename leaves.
	for _, p := range []string{Join(dir, "scores", "0.2"+tempMarker+"0123456789abcdef"), Join(dir, "part-00000-00002.parquet"+tempMarker+"fedcba9876543210")} {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := RemoveTemporaries(dir); n != 2 || err != nil {
		t.Fatalf("RemoveTemporaries = %d, %v; want 2, nil", n, err)
	}
	mustGlob(t, ctx, Join(dir, "*", "*"), keep[0])
	mustGlob(t, ctx, Join(dir, "*.parquet*"), keep[1])
	if n, err := RemoveTemporaries(Join(dir, "absent")); n != 0 || err != nil {
		t.Fatalf("RemoveTemporaries(absent dir) = %d, %v", n, err)
	}
}

func TestJoin(t *testing.T) {
	for _, c := range [][3]string{
		{"gs://b/out", "scores/.zarray", "gs://b/out/scores/.zarray"},
		{"gs://b/out/", ".staging", "gs://b/out/.staging"},
		{"out", "scores", filepath.Join("out", "scores")},
	} {
		if got := Join(c[0], c[1]); got != c[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// TestWriterAbortLeavesNothing: a streamed file appears only on Commit;
// Abort leaves nothing, locally and on gs://, and keeps an older file.
func TestWriterAbortLeavesNothing(t *testing.T) {
	gcstest.Start(t, "bkt")
	ctx := testCtx(t)
	for _, dir := range []string{t.TempDir(), "gs://bkt/w"} {
		p := Join(dir, "table.csv")
		w, err := Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("half a table"))
		mustExist(t, ctx, p, false)
		w.Abort()
		mustExist(t, ctx, p, false)
		if found, _ := Glob(ctx, Join(dir, "*")); len(found) != 0 {
			t.Errorf("%s: left %v", dir, found)
		}
		mustWrite(t, ctx, p, []byte("old"))
		w, _ = Create(ctx, p)
		w.Write([]byte("new"))
		w.Abort()
		if b, err := ReadFile(ctx, p); err != nil || string(b) != "old" {
			t.Errorf("%s: after an aborted rewrite: %q, %v", dir, b, err)
		}
		w, _ = Create(ctx, p)
		w.Write([]byte("new"))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if b, err := ReadFile(ctx, p); err != nil || string(b) != "new" {
			t.Errorf("%s: after commit: %q, %v", dir, b, err)
		}
	}
}
