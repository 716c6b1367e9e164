package snapshot

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// BenchmarkRestoreS3 measures a restore from S3 (gofakes3 in memory on
// 127.0.0.1, over HTTP) of 10k series of 7d at 5m of the realistic mix:
// time and object downloads (GETs) per restore. The staged copy goes to a
// temporary directory on local disk.
func BenchmarkRestoreS3(b *testing.B) {
	const (
		n      = 10_000
		points = 7 * 288
	)
	ctx := context.Background()
	mem := s3mem.New()
	require.NoError(b, mem.CreateBucket("snaps"))
	gets := &getCounter{gets: map[string]int{}}
	srv := httptest.NewServer(gets.wrap(gofakes3.New(mem).Server()))
	b.Cleanup(srv.Close)
	backend, err := NewS3(ctx, S3Options{
		Bucket: "snaps", Prefix: "tp", Region: "eu-west-1", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "test", SecretAccessKey: "secret",
	})
	require.NoError(b, err)
	src := ring.NewStore(0, nil)
	require.NoError(b, fillRealistic(src, n, points))
	m := NewManager(nil, nil, src, Hooks{}, Options{})
	m.SetBackend(backend, 0)
	info, err := m.Snapshot(ctx)
	require.NoError(b, err)

	b.Run("series=10k_window=7d_step=5m", func(b *testing.B) {
		stage := b.TempDir()
		before := 0
		for _, v := range gets.snapshot() {
			before += v
		}
		for b.Loop() {
			dst := ring.NewStore(0, nil)
			rm := NewManager(nil, nil, dst, Hooks{}, Options{StageDir: stage})
			rm.SetBackend(backend, 0)
			got, err := rm.Restore(ctx)
			require.NoError(b, err)
			require.Equal(b, n, got.Series)
		}
		after := 0
		for _, v := range gets.snapshot() {
			after += v
		}
		b.ReportMetric(float64(info.Bytes)/(1<<20), "MiB")
		b.ReportMetric(float64(after-before)/float64(b.N), "GETs/restore")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
	})
}
