package snapshot

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// BenchmarkSnapshot measures a full snapshot to local disk (written, synced
// and renamed) and its restore into an empty store, for 100k series of
// 7d at 5m (2016 cells each) of the realistic mix of realisticSeries. It
// needs ~4 GB of memory; run it with -benchtime=1x.
func BenchmarkSnapshot(b *testing.B) {
	const (
		n      = 100_000
		points = 7 * 288
	)
	src := ring.NewStore(0, nil)
	require.NoError(b, fillRealistic(src, n, points))
	backend, err := NewLocal(b.TempDir())
	require.NoError(b, err)
	var info Info

	b.Run("series=100k_window=7d_step=5m/write", func(b *testing.B) {
		m := NewManager(nil, nil, src, Hooks{}, Options{})
		m.SetBackend(backend, 0)
		for b.Loop() {
			info, err = m.Snapshot(context.Background())
			require.NoError(b, err)
		}
		b.ReportMetric(float64(info.Bytes)/(n*points), "bytes/point")
		b.ReportMetric(float64(info.Bytes)/(1<<20), "MiB")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/snapshot")
	})
	b.Run("series=100k_window=7d_step=5m/restore", func(b *testing.B) {
		m := NewManager(nil, nil, ring.NewStore(0, nil), Hooks{}, Options{})
		m.SetBackend(backend, 0)
		for b.Loop() {
			dst := ring.NewStore(0, nil)
			m = NewManager(nil, nil, dst, Hooks{}, Options{})
			m.SetBackend(backend, 0)
			got, err := m.Restore(context.Background())
			require.NoError(b, err)
			require.Equal(b, n, got.Series)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
	})
}
