// Package files is the one place the project opens, lists and writes paths.
// Local paths and gs://bucket/object paths both go through Beam's
// filesystem packages (io/filesystem/local and io/filesystem/gcs).
package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
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

func open(ctx context.Context, p string) (filesystem.Interface, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return fs, nil
}

// ReadFile reads a whole file.
func ReadFile(ctx context.Context, p string) ([]byte, error) {
	fs, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
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

type bytesReaderAt struct{ *bytes.Reader }

func (bytesReaderAt) Close() error { return nil }

// OpenReaderAt opens a file for random access (Parquet needs it). Local
// files are read in place.
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
	b, err := ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	return bytesReaderAt{bytes.NewReader(b)}, nil
}

// WriteFile writes data to p so that readers see either nothing or the
// whole file: locally through a temporary file renamed into place, on an
// object store as one object (object writes are atomic).
func WriteFile(ctx context.Context, p string, data []byte) error {
	fs, err := open(ctx, p)
	if err != nil {
		return err
	}
	defer fs.Close()
	target := p
	if !IsRemote(p) {
		target = p + ".tmp-" + randomSuffix()
	}
	w, err := fs.OpenWrite(ctx, target)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if target != p {
		if err := os.Rename(target, p); err != nil {
			os.Remove(target)
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
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
	defer fs.Close()
	found, err := fs.List(ctx, p)
	if err != nil {
		return false, fmt.Errorf("list %s: %w", p, err)
	}
	for _, f := range found {
		if f == p {
			return true, nil
		}
	}
	return false, nil
}

// Glob lists the files matching pattern (shell glob syntax).
func Glob(ctx context.Context, pattern string) ([]string, error) {
	fs, err := open(ctx, pattern)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
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

// RemoveAll deletes every file under the directory or prefix dir.
func RemoveAll(ctx context.Context, dir string) error {
	if !IsRemote(dir) {
		return os.RemoveAll(dir)
	}
	fs, err := open(ctx, dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	found, err := fs.List(ctx, strings.TrimSuffix(dir, "/")+"/**")
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("cannot delete under %s: the filesystem has no remove", dir)
	}
	for _, f := range found {
		if err := rm.Remove(ctx, f); err != nil {
			return fmt.Errorf("delete %s: %w", f, err)
		}
	}
	return nil
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}
