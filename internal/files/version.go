package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
	"google.golang.org/api/googleapi"
)

// Conditional writes, for a file that one process at a time may own (the
// output's owner lock): create only if absent, replace or remove only if
// unchanged since read. On gs:// they are exact, through object
// preconditions (if-generation-match); on a local filesystem creation is
// exact (a hard link fails if the name exists) and a replace or remove
// checks the file's identity and then renames or removes it, two steps
// close together.

// ErrExist is returned by CreateNew when the file exists.
var ErrExist = fs.ErrExist

// ErrChanged is returned by ReplaceIf and RemoveIf when the file is no
// longer the version that was read (or is gone).
var ErrChanged = errors.New("the file changed since it was read")

// Version identifies one state of a file: the object generation on
// gs://; the inode, size and modification time locally.
type Version struct {
	gen  int64
	ino  uint64
	size int64
	mod  time.Time
}

// ModTime is when this version was written.
func (v Version) ModTime() time.Time { return v.mod }

// CreateNew writes p with data only if p does not exist (ErrExist if it
// does). Readers see nothing or the whole file.
func CreateNew(ctx context.Context, p string, data []byte) error {
	if IsRemote(p) {
		obj, err := gcsObject(ctx, p)
		if err != nil {
			return err
		}
		return gcsWrite(ctx, p, obj.If(storage.Conditions{DoesNotExist: true}), data, ErrExist)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", p, ErrExist)
		}
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// ReadVersion reads p and its version. A missing file gives an error
// that errors.Is(err, fs.ErrNotExist).
func ReadVersion(ctx context.Context, p string) ([]byte, Version, error) {
	if IsRemote(p) {
		obj, err := gcsObject(ctx, p)
		if err != nil {
			return nil, Version{}, err
		}
		r, err := obj.NewReader(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, Version{}, fmt.Errorf("read %s: %w", p, fs.ErrNotExist)
		} else if err != nil {
			return nil, Version{}, fmt.Errorf("read %s: %w", p, err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, Version{}, fmt.Errorf("read %s: %w", p, err)
		}
		return b, Version{gen: r.Attrs.Generation, mod: r.Attrs.LastModified, size: r.Attrs.Size}, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, Version{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, Version{}, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, Version{}, fmt.Errorf("read %s: %w", p, err)
	}
	return b, localVersion(st), nil
}

// ReplaceIf replaces p with data only if p is still at version v, and
// returns the new version; ErrChanged otherwise.
func ReplaceIf(ctx context.Context, p string, data []byte, v Version) (Version, error) {
	if IsRemote(p) {
		obj, err := gcsObject(ctx, p)
		if err != nil {
			return Version{}, err
		}
		obj = obj.If(storage.Conditions{GenerationMatch: v.gen})
		if err := gcsWrite(ctx, p, obj, data, ErrChanged); err != nil {
			return Version{}, err
		}
		attrs, err := obj.Attrs(ctx)
		if err != nil {
			return Version{}, fmt.Errorf("stat %s: %w", p, err)
		}
		return Version{gen: attrs.Generation, mod: attrs.Updated, size: attrs.Size}, nil
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return Version{}, err
	}
	defer os.Remove(tmp)
	if err := checkLocal(p, v); err != nil {
		return Version{}, err
	}
	if err := os.Rename(tmp, p); err != nil {
		return Version{}, fmt.Errorf("replace %s: %w", p, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return Version{}, err
	}
	return localVersion(st), nil
}

// RemoveIf deletes p only if it is still at version v; ErrChanged
// otherwise.
func RemoveIf(ctx context.Context, p string, v Version) error {
	if IsRemote(p) {
		obj, err := gcsObject(ctx, p)
		if err != nil {
			return err
		}
		// The precondition makes it exact on GCS; the generation is also
		// compared first, for servers that ignore preconditions on
		// delete (fake-gcs-server).
		attrs, err := obj.Attrs(ctx)
		if err == nil && attrs.Generation != v.gen {
			return fmt.Errorf("delete %s: %w", p, ErrChanged)
		}
		if err == nil {
			err = obj.If(storage.Conditions{GenerationMatch: v.gen}).Delete(ctx)
		}
		if isPrecondition(err) || errors.Is(err, storage.ErrObjectNotExist) {
			return fmt.Errorf("delete %s: %w", p, ErrChanged)
		} else if err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
		return nil
	}
	if err := checkLocal(p, v); err != nil {
		return err
	}
	return os.Remove(p)
}

func localVersion(st os.FileInfo) Version {
	v := Version{size: st.Size(), mod: st.ModTime()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		v.ino = uint64(s.Ino)
	}
	return v
}

// checkLocal fails with ErrChanged unless the local file p is version v.
func checkLocal(p string, v Version) error {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", p, ErrChanged)
	} else if err != nil {
		return err
	}
	if localVersion(st) != v {
		return fmt.Errorf("%s: %w", p, ErrChanged)
	}
	return nil
}

// writeTemp writes data to a new temporary file beside p.
func writeTemp(p string, data []byte) (string, error) {
	tmp := p + tempMarker + randomSuffix()
	if err := os.WriteFile(tmp, data, 0o666); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	return tmp, nil
}

func gcsObject(ctx context.Context, p string) (*storage.ObjectHandle, error) {
	bucket, object, err := gcsx.ParseObject(p)
	if err != nil {
		return nil, err
	}
	c, err := gcsClient(ctx)
	if err != nil {
		return nil, err
	}
	return c.Bucket(bucket).Object(object), nil
}

// gcsWrite writes data to obj (with its preconditions) in one request; a
// failed precondition is reported as failed.
func gcsWrite(ctx context.Context, p string, obj *storage.ObjectHandle, data []byte, failed error) error {
	w := obj.NewWriter(ctx)
	w.ChunkSize = 0 // one request: small documents only
	w.ContentType = "application/json"
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := w.Close(); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("write %s: %w", p, failed)
		}
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func isPrecondition(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == 412
}
