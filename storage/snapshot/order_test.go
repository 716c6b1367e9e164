package snapshot

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// writeOld writes a snapshot of store as a build before sequence numbers
// did (NewWriter: no sequence in the header), named and stamped at t.
func writeOld(t *testing.T, b Backend, store *ring.Store, at time.Time) string {
	t.Helper()
	name := snapshotName(at)
	up, err := b.Create(context.Background(), name)
	require.NoError(t, err)
	w, err := NewWriter(up, at)
	require.NoError(t, err)
	store.Range(func(ser *ring.Series) bool {
		if st := ser.Export(nil); len(st.Values) > 0 {
			require.NoError(t, w.Add(st, nil))
		}
		return true
	})
	require.NoError(t, w.Close())
	require.NoError(t, up.Commit())
	return name
}

// TestSnapshotsOrderedByContent: a snapshot named (and stamped) with a time
// in the future, from a clock that ran ahead, neither wins the restores
// after it nor escapes pruning.
func TestSnapshotsOrderedByContent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		clock := func() time.Time { return now }
		store := ring.NewStore(0, nil)
		fillStore(t, store, 3, 10, 1)
		m := NewManager(nil, nil, store, Hooks{}, Options{Keep: 2, Now: clock})
		m.SetBackend(b, 0)

		now = now.Add(365 * 24 * time.Hour) // the clock runs a year ahead
		future, err := m.Snapshot(ctx)
		require.NoError(t, err)
		now = now.Add(-365 * 24 * time.Hour) // and is put right

		fillStore(t, store, 3, 10, 2) // new series, only in later snapshots
		want := exportAll(store)
		var names []string
		for range 2 {
			now = now.Add(time.Minute)
			info, err := m.Snapshot(ctx)
			require.NoError(t, err)
			names = append(names, info.Name)
		}
		got, err := b.List(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, names, got, "the future-named snapshot %s is pruned", future.Name)

		dst := ring.NewStore(0, nil)
		info, err := newTestManager(t, dst, b, nil).Restore(ctx)
		require.NoError(t, err)
		require.Equal(t, names[1], info.Name)
		requireStoresEqual(t, want, exportAll(dst))
	})
}

// TestOldSnapshotsStillRestore: snapshots written before sequence numbers
// restore, newest by their header's time, and any sequenced snapshot is
// newer than all of them, even one named in the future.
func TestOldSnapshotsStillRestore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		old := ring.NewStore(0, nil)
		fillStore(t, old, 4, 20, 1)
		writeOld(t, b, old, now)
		newer := ring.NewStore(0, nil)
		fillStore(t, newer, 4, 20, 2)
		writeOld(t, b, newer, now.Add(time.Minute))

		dst := ring.NewStore(0, nil)
		info, err := newTestManager(t, dst, b, nil).Restore(ctx)
		require.NoError(t, err)
		require.Equal(t, snapshotName(now.Add(time.Minute)), info.Name)
		requireStoresEqual(t, exportAll(newer), exportAll(dst))

		// An old snapshot named a year ahead, then a sequenced one now.
		future := ring.NewStore(0, nil)
		fillStore(t, future, 2, 20, 3)
		writeOld(t, b, future, now.Add(365*24*time.Hour))
		m := NewManager(nil, nil, dst, Hooks{}, Options{Keep: 10, Now: func() time.Time { return now.Add(2 * time.Minute) }})
		m.SetBackend(b, 0)
		written, err := m.Snapshot(ctx)
		require.NoError(t, err)
		dst2 := ring.NewStore(0, nil)
		info, err = newTestManager(t, dst2, b, nil).Restore(ctx)
		require.NoError(t, err)
		require.Equal(t, written.Name, info.Name)
		requireStoresEqual(t, exportAll(newer), exportAll(dst2))
	})
}

// TestEmptyStoreKeepsSnapshots: when no series holds data any more (a
// reload dropped every entry), a snapshot neither replaces nor prunes the
// stored ones.
func TestEmptyStoreKeepsSnapshots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		store := ring.NewStore(0, nil)
		fillStore(t, store, 5, 20, 1)
		want := exportAll(store)
		m := NewManager(nil, nil, store, Hooks{}, Options{Keep: 1, Now: func() time.Time { return now }})
		m.SetBackend(b, 0)
		kept, err := m.Snapshot(ctx)
		require.NoError(t, err)

		store.Range(func(ser *ring.Series) bool {
			store.Delete(ser)
			return true
		})
		_, _, err = store.GetOrCreate(labels.FromStrings("__name__", "no_data"), ring.Options{Step: time.Second, Window: time.Minute})
		require.NoError(t, err)
		for range 3 {
			now = now.Add(time.Minute)
			info, err := m.Snapshot(ctx)
			require.NoError(t, err)
			require.Empty(t, info.Name, "nothing written")
		}
		got, err := b.List(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{kept.Name}, got)
		dst := ring.NewStore(0, nil)
		_, err = newTestManager(t, dst, b, nil).Restore(ctx)
		require.NoError(t, err)
		requireStoresEqual(t, want, exportAll(dst))
	})
}
