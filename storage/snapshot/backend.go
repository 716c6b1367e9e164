package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Backend stores snapshots by name. Names are those snapshotName makes;
// List returns only complete snapshots: one whose upload was not committed
// is never listed.
type Backend interface {
	// Create starts writing the snapshot name. Nothing is visible under
	// name until Commit returns nil.
	Create(ctx context.Context, name string) (Upload, error)
	// Open returns a reader of the snapshot name.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names of the stored snapshots, in any order.
	List(ctx context.Context) ([]string, error)
	// Delete removes the snapshot name.
	Delete(ctx context.Context, name string) error
	// String describes the backend for logs.
	String() string
}

// Upload is a snapshot being written.
type Upload interface {
	io.Writer
	// Commit makes the snapshot visible under its name, atomically.
	Commit() error
	// Abort discards what was written. It is safe after Commit.
	Abort()
}

const (
	namePrefix = "snapshot-"
	nameSuffix = ".tpsnap"
)

// snapshotName returns the name of a snapshot started at t. Names are
// for people; snapshots are ordered by their headers (Manager.newestFirst).
func snapshotName(t time.Time) string {
	return fmt.Sprintf("%s%015d%s", namePrefix, t.UnixMilli(), nameSuffix)
}

func isSnapshotName(name string) bool {
	return strings.HasPrefix(name, namePrefix) && strings.HasSuffix(name, nameSuffix) &&
		!strings.ContainsAny(name, "/\\")
}

// Local stores snapshots as files in a directory. A snapshot is written to
// a temporary file, synced and renamed into place, and the directory is
// synced, so that a crash at any point leaves the previous snapshots intact.
type Local struct {
	dir string
}

// NewLocal returns a Local backend in dir, creating it if needed and
// removing temporary files a crash left behind.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create snapshot directory: %w", err)
	}
	tmps, err := filepath.Glob(filepath.Join(dir, namePrefix+"*"+nameSuffix+".tmp*"))
	if err != nil {
		return nil, err
	}
	for _, f := range tmps {
		_ = os.Remove(f)
	}
	return &Local{dir: dir}, nil
}

// String returns the directory.
func (l *Local) String() string { return "dir " + l.dir }

// Create implements Backend.
func (l *Local) Create(_ context.Context, name string) (Upload, error) {
	if !isSnapshotName(name) {
		return nil, fmt.Errorf("invalid snapshot name %q", name)
	}
	f, err := os.CreateTemp(l.dir, name+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create snapshot file: %w", err)
	}
	return &localUpload{f: f, path: filepath.Join(l.dir, name), dir: l.dir}, nil
}

// Open implements Backend.
func (l *Local) Open(_ context.Context, name string) (io.ReadCloser, error) {
	if !isSnapshotName(name) {
		return nil, fmt.Errorf("invalid snapshot name %q", name)
	}
	return os.Open(filepath.Join(l.dir, name))
}

// List implements Backend.
func (l *Local) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && isSnapshotName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Delete implements Backend.
func (l *Local) Delete(_ context.Context, name string) error {
	if !isSnapshotName(name) {
		return fmt.Errorf("invalid snapshot name %q", name)
	}
	return os.Remove(filepath.Join(l.dir, name))
}

type localUpload struct {
	f         *os.File
	path, dir string
	done      bool
}

func (u *localUpload) Write(p []byte) (int, error) { return u.f.Write(p) }

func (u *localUpload) Commit() error {
	if u.done {
		return errors.New("snapshot upload already finished")
	}
	u.done = true
	tmp := u.f.Name()
	if err := u.f.Sync(); err != nil {
		u.f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync snapshot file: %w", err)
	}
	if err := u.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close snapshot file: %w", err)
	}
	if err := os.Rename(tmp, u.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename snapshot file: %w", err)
	}
	// Sync the directory so that the rename survives a power loss.
	d, err := os.Open(u.dir)
	if err != nil {
		return fmt.Errorf("sync snapshot directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync snapshot directory: %w", err)
	}
	return nil
}

func (u *localUpload) Abort() {
	if u.done {
		return
	}
	u.done = true
	u.f.Close()
	os.Remove(u.f.Name())
}
