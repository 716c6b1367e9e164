package adapter

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// pushSine remote-writes n samples of the series sine, one per minute up
// to a minute ago.
func pushSine(t *testing.T, f *fixture, n int) {
	t.Helper()
	end := time.Now().Add(-time.Minute).Truncate(time.Minute).UnixMilli()
	ts := prompb.TimeSeries{Labels: promLabels("__name__", "sine", "job", "a")}
	for i := range n {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: end - int64(n-1-i)*60_000, Value: float64(i%17) + 0.5})
	}
	rec := f.do(t, http.MethodPost, "/api/v1/write", encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}), writeHeader())
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
}

func sineValues(t *testing.T, f *fixture) []float64 {
	t.Helper()
	ser := f.a.Store().Get(labels.FromStrings("__name__", "sine", "job", "a"))
	require.NotNil(t, ser)
	_, vals := ser.Values(math.MaxInt64, nil)
	return vals
}

// TestSnapshotBackends saves and restores through the adapter, to the
// storage path and to a real S3-protocol server, and follows the storage
// section across reloads.
func TestSnapshotBackends(t *testing.T) {
	mem := s3mem.New()
	require.NoError(t, mem.CreateBucket("tp"))
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	s3Config := baseConfig + fmt.Sprintf(`
storage:
  snapshot_interval: 1h
  s3: {bucket: tp, prefix: test, endpoint: %s, force_path_style: true, access_key_id: a, secret_access_key: b}
`, srv.URL)
	localConfig := baseConfig + "storage: {snapshot_interval: 1h}\n"
	ctx := context.Background()

	for _, tc := range []struct{ name, cfg string }{{"s3", s3Config}, {"local", localConfig}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := applied(t, tc.cfg, Options{StoragePath: dir})
			pushSine(t, a, 100)
			require.NoError(t, a.a.Snapshot(ctx))
			files, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Equal(t, tc.name == "local", len(files) == 1, "local files only for local storage")

			b := applied(t, tc.cfg, Options{StoragePath: dir})
			info := b.a.Restore(ctx)
			require.Equal(t, 1, info.Series)
			require.Equal(t, sineValues(t, a), sineValues(t, b))
			require.Equal(t, 1.0, b.gauge(t, "train_prometheus_snapshot_restored_series"))
		})
	}

	t.Run("disabled", func(t *testing.T) {
		dir := t.TempDir()
		a := applied(t, baseConfig+"storage: {snapshot_interval: 0s}\n", Options{StoragePath: dir})
		pushSine(t, a, 10)
		require.NoError(t, a.a.Snapshot(ctx))
		require.Zero(t, a.a.Restore(ctx).Series)
		files, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, files)
		// No storage path and no S3: disabled too.
		n := applied(t, localConfig, Options{})
		require.NoError(t, n.a.Snapshot(ctx))
	})

	t.Run("reload switches backend", func(t *testing.T) {
		dir := t.TempDir()
		f := newFixture(t, s3Config, Options{StoragePath: dir})
		require.NoError(t, f.a.Reload())
		pushSine(t, f, 10)
		f.src.set(localConfig, nil)
		require.NoError(t, f.a.Reload())
		require.NoError(t, f.a.Snapshot(ctx))
		files, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, files, 1, "now on local disk")
	})

	t.Run("bad s3 endpoint keeps running", func(t *testing.T) {
		f := applied(t, baseConfig+`
storage: {s3: {bucket: tp, endpoint: "http://127.0.0.1:1", force_path_style: true, access_key_id: a, secret_access_key: b}}
`, Options{})
		pushSine(t, f, 10)
		require.Error(t, f.a.Snapshot(ctx))
		require.Zero(t, f.a.Restore(ctx).Series, "a failed restore starts empty")
		mfs, err := f.reg.Gather()
		require.NoError(t, err)
		failures := -1.0
		for _, mf := range mfs {
			if mf.GetName() == "train_prometheus_snapshot_failures_total" {
				failures = mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		require.Equal(t, 1.0, failures)
	})
}

// TestReloadDroppingEverythingKeepsSnapshots: a reload to a configuration
// that selects nothing drops every buffered series, and the snapshots
// written after it do not replace the one that holds them; an empty file is
// refused and drops nothing.
func TestReloadDroppingEverythingKeepsSnapshots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := baseConfig + "storage: {snapshot_interval: 1h}\n"
	a := applied(t, cfg, Options{StoragePath: dir})
	pushSine(t, a, 100)
	want := sineValues(t, a)
	require.NoError(t, a.a.Snapshot(ctx))

	a.src.set("", nil)
	require.ErrorContains(t, a.a.Reload(), "the configuration is empty")
	require.Equal(t, 1, a.a.Store().Len(), "an empty file drops nothing")

	a.src.set("storage: {snapshot_interval: 1h}\n", nil) // no forecasts entries
	require.NoError(t, a.a.Reload())
	require.Zero(t, a.a.Store().Len(), "the reload dropped every series")
	for range 2 {
		require.NoError(t, a.a.Snapshot(ctx))
	}

	b := applied(t, cfg, Options{StoragePath: dir})
	info := b.a.Restore(ctx)
	require.Equal(t, 1, info.Series)
	require.Equal(t, want, sineValues(t, b))
}
