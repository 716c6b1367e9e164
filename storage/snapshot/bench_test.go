package snapshot

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/valenc"
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

// BenchmarkEncodeKinds measures the compression of each kind of series of
// the realistic mix (1000 series of 7d at 5m each): bytes per point and
// encoding time per point.
func BenchmarkEncodeKinds(b *testing.B) {
	for k, kind := range realisticKinds[:] {
		if k > 0 && realisticKinds[k-1] == kind {
			continue
		}
		b.Run(kind, func(b *testing.B) {
			var series [][]float64
			for i := k; len(series) < 1000; i += len(realisticKinds) {
				series = append(series, realisticSeries(i, 7*288, 5*time.Minute))
			}
			var buf []byte
			total := 0
			b.ReportAllocs()
			for b.Loop() {
				total = 0
				for _, s := range series {
					buf = valenc.Append(buf[:0], s)
					total += len(buf)
				}
			}
			points := float64(len(series) * 7 * 288)
			b.ReportMetric(float64(total)/points, "bytes/point")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/points, "ns/point")
		})
	}
}
