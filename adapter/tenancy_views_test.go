package adapter

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// TestSnapshotKeepsTenants: a restored series keeps its tenant, so the same
// series of two tenants stay two series after a restart.
func TestSnapshotKeepsTenants(t *testing.T) {
	cfg := baseConfig + "tenancy: {enabled: true}\nstorage: {snapshot_interval: 1h}\n"
	dir := t.TempDir()
	a := applied(t, cfg, Options{StoragePath: dir})
	pushAs(t, a, "team-a", "x", 50)
	pushAs(t, a, "team-b", "x", 50)
	require.Equal(t, 2, a.a.Store().Len())
	require.NoError(t, a.a.Snapshot(context.Background()))

	b := applied(t, cfg, Options{StoragePath: dir})
	require.Equal(t, 2, b.a.Restore(context.Background()).Series)
	require.ElementsMatch(t, storedLabels(a), storedLabels(b))
	for _, tenant := range []string{"team-a", "team-b"} {
		ser := b.a.Store().Get(labels.FromStrings("__name__", "sine", config.TenantLabel, tenant, "job", "x"))
		require.NotNil(t, ser, "tenant %s's series restored under its tenant", tenant)
	}
	// A later write of the same tenant continues the restored series.
	pushAs(t, b, "team-a", "x", 1)
	require.Equal(t, 2, b.a.Store().Len())

	// With tenancy turned off, the tenants' series can receive nothing (the
	// receiver drops the label): they are not restored, where they would be
	// forecast beside the tenant-less series under the same output names.
	c := applied(t, baseConfig+"storage: {snapshot_interval: 1h}\n", Options{StoragePath: dir})
	info := c.a.Restore(context.Background())
	require.Zero(t, info.Series)
	require.Equal(t, 2, info.Dropped)
	require.Zero(t, c.a.Store().Len())
}

// TestTenantsOnForecastsAndStatus: with tenancy, /forecasts and the status
// page are the operator's views of every tenant: the same series of two
// tenants are shown apart, by the tenant label, and the status page's
// search selects one tenant by it.
func TestTenantsOnForecastsAndStatus(t *testing.T) {
	end := t0 + 3*time.Hour.Milliseconds()
	evalAt := end + 20_000
	f := applied(t, baseConfig+"tenancy: {enabled: true}\n", Options{Now: func() time.Time { return time.UnixMilli(evalAt) }})
	for _, tenant := range []string{"team-a", "team-b"} {
		var samples []prompb.Sample
		for ts := t0; ts < end; ts += 60_000 {
			samples = append(samples, prompb.Sample{Timestamp: ts, Value: sine(ts)})
		}
		h := writeHeader()
		h.Set("X-Scope-OrgID", tenant)
		body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: promLabels("__name__", "sine", "job", "app"), Samples: samples}}})
		rec := f.do(t, http.MethodPost, "/api/v1/write", body, h)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	}
	require.Equal(t, 2, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(evalAt)))

	rec := f.do(t, http.MethodGet, "/forecasts", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	lines := map[string]bool{}
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "sine_forecast{") && strings.Contains(l, `model="fourier"`) && strings.Contains(l, `value_type="yhat"`) {
			lines[l[:strings.LastIndexByte(l, ' ')]] = true
		}
	}
	require.Equal(t, map[string]bool{
		`sine_forecast{__tenant__="team-a",cluster="test",job="app",model="fourier",value_type="yhat"}`: true,
		`sine_forecast{__tenant__="team-b",cluster="test",job="app",model="fourier",value_type="yhat"}`: true,
	}, lines, "one line per tenant, told apart by the tenant label:\n%s", rec.Body.String())

	rec = f.do(t, http.MethodGet, "/?q="+url.QueryEscape(`{__tenant__="team-b"}`), nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "team-b")
	require.NotContains(t, rec.Body.String(), "team-a", "the search selects one tenant")
}
