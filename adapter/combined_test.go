package adapter

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/shard"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Tests of features that were built separately, in combination.

// pushAs remote-writes n one-minute samples of sine{job=job} up to a
// minute ago, with tenant as the X-Scope-OrgID header ("" for none).
func pushAs(t *testing.T, f *fixture, tenant, job string, n int) {
	t.Helper()
	end := time.Now().Add(-time.Minute).Truncate(time.Minute).UnixMilli()
	ts := prompb.TimeSeries{Labels: promLabels("__name__", "sine", "job", job)}
	for i := range n {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: end - int64(n-1-i)*60_000, Value: float64(i%17) + 0.5})
	}
	h := writeHeader()
	if tenant != "" {
		h.Set("X-Scope-OrgID", tenant)
	}
	rec := f.do(t, http.MethodPost, "/api/v1/write", encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}), h)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
}

func storedLabels(f *fixture) []string {
	var out []string
	f.a.Store().Range(func(s *ring.Series) bool {
		out = append(out, s.Labels().String())
		return true
	})
	return out
}

// TestShardedRestoreKeepsOwnedSeries: after --shard.total changed, a
// replica restoring its snapshot keeps only the series it now owns. One it
// kept without owning it would receive no samples (dropped as not_owned)
// but would still be forecast, and the output series would then be written
// by two replicas at once.
func TestShardedRestoreKeepsOwnedSeries(t *testing.T) {
	cfg := baseConfig + "storage: {snapshot_interval: 1h}\n"
	dir := t.TempDir()
	a := applied(t, cfg, Options{StoragePath: dir})
	const n = 20
	for i := range n {
		pushAs(t, a, "", "job"+strconv.Itoa(i), 30)
	}
	require.Equal(t, n, a.a.Store().Len())
	require.NoError(t, a.a.Snapshot(context.Background()))

	sh, err := shard.New(1, 2, nil, "")
	require.NoError(t, err)
	b := applied(t, cfg, Options{StoragePath: dir, Shard: sh})
	info := b.a.Restore(context.Background())
	owned := 0
	a.a.Store().Range(func(s *ring.Series) bool {
		if sh.Owns(s.Labels()) {
			owned++
			require.True(t, b.a.Store().Get(s.Labels()) != nil, "owned series %s restored", s.Labels())
		} else {
			require.True(t, b.a.Store().Get(s.Labels()) == nil, "series %s of the other shard restored", s.Labels())
		}
		return true
	})
	require.Positive(t, owned)
	require.Less(t, owned, n)
	require.Equal(t, owned, info.Series)
	require.Equal(t, n-owned, info.Dropped)
}
