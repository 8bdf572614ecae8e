// Package files is the one place the project opens, lists and writes paths.
// Local paths and gs://bucket/object paths both go through Beam's
// filesystem packages (io/filesystem/local and io/filesystem/gcs), except
// random access to gs:// objects, which uses ranged reads of
// cloud.google.com/go/storage (Beam's filesystem has none).
//
// Clients are made once per process and reused: one Beam filesystem per
// scheme and one storage client for ranged reads. A gs:// client talks to
// the endpoint that STORAGE_EMULATOR_HOST named when it was made, so they
// are kept per value of that variable (one in production; tests that
// start fake servers get one each).
package files

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
)

// IsRemote reports whether p names an object store path (scheme://...).
func IsRemote(p string) bool { return strings.Contains(p, "://") }

// Join joins path elements with "/" for object store paths and the OS
// separator for local ones.
func Join(base string, elem ...string) string {
	if IsRemote(base) {
		return strings.TrimSuffix(base, "/") + "/" + path.Join(elem...)
	}
	return filepath.Join(append([]string{base}, elem...)...)
}

// emulatorEnv is the variable with which cloud.google.com/go/storage
// sends a new client to a GCS emulator instead of Google.
const emulatorEnv = "STORAGE_EMULATOR_HOST"

var (
	mu          sync.Mutex
	filesystems = map[string]filesystem.Interface{} // by clientKey
	gcsClients  = map[string]*storage.Client{}      // by STORAGE_EMULATOR_HOST
)

// clientKey names the cached filesystem for p: its scheme as Beam names it
// ("default" for local paths), with the emulator host for gs://.
func clientKey(p string) string {
	scheme := "default"
	if i := strings.Index(p, "://"); i > 0 {
		scheme = p[:i]
	}
	if scheme == "gs" {
		return scheme + " " + os.Getenv(emulatorEnv)
	}
	return scheme
}

// open returns the process' filesystem for p's scheme, making it on first
// use. It is shared: callers must not close it.
func open(ctx context.Context, p string) (filesystem.Interface, error) {
	key := clientKey(p)
	mu.Lock()
	defer mu.Unlock()
	if fs, ok := filesystems[key]; ok {
		return fs, nil
	}
	// The client outlives this call: keep ctx's values, not its deadline.
	fs, err := filesystem.New(context.WithoutCancel(ctx), p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	filesystems[key] = fs
	return fs, nil
}

// gcsClient returns the process' storage client for ranged reads, made on
// first use as Beam's gcs filesystem makes its own: application default
// credentials, else unauthenticated access.
func gcsClient(ctx context.Context) (*storage.Client, error) {
	key := os.Getenv(emulatorEnv)
	mu.Lock()
	defer mu.Unlock()
	if c, ok := gcsClients[key]; ok {
		return c, nil
	}
	ctx = context.WithoutCancel(ctx) // the client outlives this call
	c, err := gcsx.NewClient(ctx, storage.ScopeReadWrite)
	if err != nil {
		var err2 error
		if c, err2 = gcsx.NewUnauthenticatedClient(ctx); err2 != nil {
			return nil, fmt.Errorf("create GCS client: %w (unauthenticated: %v)", err, err2)
		}
	}
	gcsClients[key] = c
	return c, nil
}

// ReadFile reads a whole file.
func ReadFile(ctx context.Context, p string) ([]byte, error) {
	fs, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// ReaderAt is a random-access reader of one file.
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

type osReaderAt struct {
	*os.File
	size int64
}

func (r osReaderAt) Size() int64 { return r.size }

// OpenReaderAt opens a file for random access (Parquet needs it). Local
// files are read in place; each ReadAt of a gs:// object is one ranged
// read of the object's generation current at open, so a reader never mixes
// two versions (an overwritten object fails to read instead).
func OpenReaderAt(ctx context.Context, p string) (ReaderAt, error) {
	if !IsRemote(p) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return osReaderAt{f, st.Size()}, nil
	}
	if !strings.HasPrefix(p, "gs://") {
		return nil, fmt.Errorf("%s: random access is implemented for local and gs:// paths only", p)
	}
	obj, err := gcsObject(ctx, p)
	if err != nil {
		return nil, err
	}
	attrs, err := obj.Attrs(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	return &gcsReaderAt{ctx: ctx, path: p, obj: obj.Generation(attrs.Generation), size: attrs.Size}, nil
}

// gcsReaderAt reads a GCS object with ranged reads. ReadAt has no context,
// so it uses the one OpenReaderAt was given.
type gcsReaderAt struct {
	ctx  context.Context
	path string
	obj  *storage.ObjectHandle
	size int64
}

func (r *gcsReaderAt) Size() int64  { return r.size }
func (r *gcsReaderAt) Close() error { return nil } // the client is shared

// ReadAt reads len(p) bytes at off, or up to the end of the object and
// io.EOF.
func (r *gcsReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", r.path, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-off))
	if n == 0 {
		return 0, nil
	}
	rr, err := r.obj.NewRangeReader(r.ctx, off, int64(n))
	if err != nil {
		return 0, fmt.Errorf("read %s at %d: %w", r.path, off, err)
	}
	defer rr.Close()
	got, err := io.ReadFull(rr, p[:n])
	if err != nil {
		return got, fmt.Errorf("read %s at %d: %w", r.path, off, err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteFile writes data to p so that readers see either nothing or the
// whole file (see Create).
func WriteFile(ctx context.Context, p string, data []byte) error {
	w, err := Create(ctx, p)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// Writer streams a file that readers see whole or not at all: locally a
// temporary file beside it, renamed into place by Commit; on an object
// store one object, which appears when Commit closes it (object writes
// are atomic). Abort, or a failed Commit, leaves nothing at the path (an
// existing file there stays as it was).
type Writer struct {
	path, tmp string
	w         io.WriteCloser
	cancel    context.CancelFunc
	done      bool
}

// Create starts writing p (see Writer).
func Create(ctx context.Context, p string) (*Writer, error) {
	fs, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	w := &Writer{path: p, tmp: p}
	if !IsRemote(p) {
		w.tmp = p + tempMarker + randomSuffix()
	}
	// Cancelling an object upload before it is closed discards it.
	ctx, w.cancel = context.WithCancel(ctx)
	if w.w, err = fs.OpenWrite(ctx, w.tmp); err != nil {
		w.cancel()
		return nil, fmt.Errorf("write %s: %w", p, err)
	}
	return w, nil
}

func (w *Writer) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.path, err)
	}
	return n, nil
}

// Commit finishes the file and puts it in place.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("write %s: already finished", w.path)
	}
	w.done = true
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		w.removeTemp()
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if w.tmp != w.path {
		if err := os.Rename(w.tmp, w.path); err != nil {
			w.removeTemp()
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}

// Abort discards what was written. It is a no-op after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.cancel()
	w.w.Close()
	w.removeTemp()
}

func (w *Writer) removeTemp() {
	if w.tmp != w.path {
		os.Remove(w.tmp)
	}
}

// Exists reports whether the file p exists.
func Exists(ctx context.Context, p string) (bool, error) {
	if !IsRemote(p) {
		_, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	fs, err := open(ctx, p)
	if err != nil {
		return false, err
	}
	if _, err := fs.Size(ctx, p); err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("stat %s: %w", p, err)
	}
	return true, nil
}

// Glob lists the files matching pattern (shell glob syntax).
func Glob(ctx context.Context, pattern string) ([]string, error) {
	fs, err := open(ctx, pattern)
	if err != nil {
		return nil, err
	}
	found, err := fs.List(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pattern, err)
	}
	return found, nil
}

// IsDir reports whether p is a local directory, or a gs:// prefix ending
// in "/".
func IsDir(p string) bool {
	if IsRemote(p) {
		return strings.HasSuffix(p, "/")
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// RemoveAll deletes every file under the directory or prefix dir, except
// the files directly under dir named in keep.
func RemoveAll(ctx context.Context, dir string, keep ...string) error {
	if !IsRemote(dir) {
		if len(keep) == 0 {
			return os.RemoveAll(dir)
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			if !slices.Contains(keep, e.Name()) {
				errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
			}
		}
		return errors.Join(errs...)
	}
	fs, err := open(ctx, dir)
	if err != nil {
		return err
	}
	found, err := fs.List(ctx, strings.TrimSuffix(dir, "/")+"/**")
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	found = slices.DeleteFunc(found, func(f string) bool {
		for _, k := range keep {
			if f == Join(dir, k) {
				return true
			}
		}
		return false
	})
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("cannot delete under %s: the filesystem has no remove", dir)
	}
	// One request per object: keep a few in flight.
	errs := make([]error, len(found))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, f := range found {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := rm.Remove(ctx, f); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
				errs[i] = fmt.Errorf("delete %s: %w", f, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// tempMarker is in the name of the temporary file WriteFile writes before
// renaming it into place (local paths only).
const tempMarker = ".tmp-"

// RemoveTemporaries deletes, under the local directory dir, the temporary
// files that writes interrupted by a crash or a kill left behind (an object
// store has none: objects are written whole). It returns how many it
// deleted.
func RemoveTemporaries(dir string) (int, error) {
	if IsRemote(dir) {
		return 0, nil
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), tempMarker) {
			if err := os.Remove(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}
