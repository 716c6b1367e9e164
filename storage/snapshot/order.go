package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxHeaderBytes bounds what is read of a snapshot to learn its header:
// magic, version and a header record of two varints.
const maxHeaderBytes = 256

// headOpener is implemented by backends that can read the start of a
// snapshot without downloading it (S3: a ranged GET).
type headOpener interface {
	OpenHead(ctx context.Context, name string, n int) (io.ReadCloser, error)
}

var _ headOpener = (*S3)(nil)

// head is what ordering needs of a snapshot.
type head struct {
	seq     uint64
	created int64 // ms
	ok      bool  // false: the header is unreadable (corrupt or foreign)
}

// readHead reads the header of the snapshot name. A snapshot whose header
// is corrupt or in a foreign format gives a head that is not ok and no
// error; an error means the backend failed (it may work next time).
func readHead(ctx context.Context, b Backend, name string) (head, error) {
	open := b.Open
	if ho, ok := b.(headOpener); ok {
		open = func(ctx context.Context, name string) (io.ReadCloser, error) {
			return ho.OpenHead(ctx, name, maxHeaderBytes)
		}
	}
	rc, err := open(ctx, name)
	if err != nil {
		return head{}, fmt.Errorf("open snapshot %s: %w", name, err)
	}
	defer rc.Close()
	r, err := NewReader(io.LimitReader(rc, maxHeaderBytes))
	switch {
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotSnapshot), errors.Is(err, ErrUnsupportedVersion):
		return head{}, nil
	case err != nil:
		return head{}, fmt.Errorf("read header of snapshot %s: %w", name, err)
	}
	return head{seq: r.Seq(), created: r.Created().UnixMilli(), ok: true}, nil
}

// newestFirst orders names from the newest snapshot to the oldest by what
// they hold, never by their names, which a clock that ran ahead (or a file
// copied in) can make lie: by sequence number, then by the creation time
// in the header (snapshots written before sequences existed have sequence
// 0 and so sort below every newer one), then by name. Snapshots whose
// header cannot be read come last. Headers are read once per name and
// remembered. The error joins the backend failures met; the names whose
// header could not be read for that reason are ordered last too.
func (m *Manager) newestFirst(ctx context.Context, b Backend, names []string) ([]string, error) {
	heads := make(map[string]head, len(names))
	var errs []error
	for _, name := range names {
		m.mu.Lock()
		h, known := m.heads[name]
		m.mu.Unlock()
		if !known {
			var err error
			if h, err = readHead(ctx, b, name); err != nil {
				errs = append(errs, err)
			} else {
				m.noteHead(name, h)
			}
		}
		heads[name] = h
	}
	out := slices.Clone(names)
	slices.SortFunc(out, func(x, y string) int {
		hx, hy := heads[x], heads[y]
		if hx.ok != hy.ok {
			if hx.ok {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(hy.seq, hx.seq), cmp.Compare(hy.created, hx.created), cmp.Compare(y, x))
	})
	return out, errors.Join(errs...)
}

// noteHead remembers the header of name, and the highest sequence seen.
func (m *Manager) noteHead(name string, h head) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heads[name] = h
	m.maxSeq = max(m.maxSeq, h.seq)
}

// nextSeq returns the sequence number of the next snapshot: one more than
// any stored snapshot's. When the stored snapshots cannot all be read, it
// returns one more than those that could and tries again next time.
func (m *Manager) nextSeq(ctx context.Context, b Backend) uint64 {
	m.mu.Lock()
	known := m.seqKnown
	m.mu.Unlock()
	if !known {
		names, err := b.List(ctx)
		if err == nil {
			_, err = m.newestFirst(ctx, b, names)
		}
		m.mu.Lock()
		m.seqKnown = err == nil
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxSeq + 1
}
