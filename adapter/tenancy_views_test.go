package adapter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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

// TestTenantViews: with tenancy on, the status pages and /forecasts show a
// request only the series of the tenant its header names, without the
// tenant label; a request without the header sees only the series written
// without it; another tenant's series page is a 404, and a search on the
// tenant label reaches nothing. Each writer's series has a job of its own,
// so that a page shows whose series it holds.
func TestTenantViews(t *testing.T) {
	end := t0 + 3*time.Hour.Milliseconds()
	evalAt := end + 20_000
	f := applied(t, baseConfig+"tenancy: {enabled: true}\n", Options{Now: func() time.Time { return time.UnixMilli(evalAt) }})
	jobs := map[string]string{"team-a": "job-of-team-a", "team-b": "job-of-team-b", "": "job-of-nobody"}
	refs := map[string]uint64{}
	for tenant, job := range jobs {
		var samples []prompb.Sample
		for ts := t0; ts < end; ts += 60_000 {
			samples = append(samples, prompb.Sample{Timestamp: ts, Value: sine(ts)})
		}
		h := writeHeader()
		lset := labels.NewBuilder(labels.FromStrings("__name__", "sine", "job", job))
		if tenant != "" {
			h.Set("X-Scope-OrgID", tenant)
			lset.Set(config.TenantLabel, tenant)
		}
		body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: promLabels("__name__", "sine", "job", job), Samples: samples}}})
		rec := f.do(t, http.MethodPost, "/api/v1/write", body, h)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		ser := f.a.Store().Get(lset.Labels())
		require.NotNil(t, ser, "the series of tenant %q", tenant)
		refs[tenant] = ser.Ref()
	}
	require.Equal(t, 3, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(evalAt)))

	for _, tc := range []struct {
		name, tenant string
	}{
		{name: "tenant a", tenant: "team-a"},
		{name: "tenant b", tenant: "team-b"},
		{name: "no header", tenant: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.tenant != "" {
				h.Set("X-Scope-OrgID", tc.tenant)
			}
			for _, path := range []string{
				"/",
				"/?q=sine",
				"/?q=" + url.QueryEscape(`{__name__="sine"}`),
				"/forecasts",
				fmt.Sprintf("/series?ref=%d", refs[tc.tenant]),
			} {
				t.Run(path, func(t *testing.T) {
					rec := f.do(t, http.MethodGet, path, nil, h)
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					body := rec.Body.String()
					require.Contains(t, body, jobs[tc.tenant], "the viewer's own series is shown")
					for other, job := range jobs {
						if other == tc.tenant {
							continue
						}
						require.NotContains(t, body, job, "a series of tenant %q is shown", other)
						if other != "" {
							require.NotContains(t, body, other, "tenant %q is named", other)
						}
					}
					require.NotContains(t, body, config.TenantLabel, "the tenant label is shown")
					require.Equal(t, "X-Scope-OrgID", rec.Header().Get("Vary"), "caches must keep tenants apart")
				})
			}
			rec := f.do(t, http.MethodGet, "/", nil, h)
			require.Contains(t, rec.Body.String(), "<p>1 series buffered.</p>", "the counts are the viewer's own")
			require.Contains(t, rec.Body.String(), "<p>1 tracked, 1 fitted,")

			for other, ref := range refs {
				if other == tc.tenant {
					continue
				}
				rec := f.do(t, http.MethodGet, fmt.Sprintf("/series?ref=%d", ref), nil, h)
				require.Equal(t, http.StatusNotFound, rec.Code, "the series page of tenant %q", other)
				require.NotContains(t, rec.Body.String(), jobs[other])
			}
			// The tenant label cannot be searched for, not even one's own
			// (`{__tenant__=""}` matches every series, as in PromQL).
			for _, other := range []string{"team-a", "team-b"} {
				rec := f.do(t, http.MethodGet, "/?q="+url.QueryEscape(`{__tenant__="`+other+`"}`), nil, h)
				require.Equal(t, http.StatusOK, rec.Code)
				require.Contains(t, rec.Body.String(), "0 series match", "a search for tenant %q", other)
			}
		})
	}

	// A tenant ID Mimir would refuse is a 400 naming the header, as on reads.
	for _, path := range []string{"/", "/forecasts", fmt.Sprintf("/series?ref=%d", refs["team-a"])} {
		rec := f.do(t, http.MethodGet, path, nil, http.Header{"X-Scope-Orgid": {".."}})
		require.Equal(t, http.StatusBadRequest, rec.Code, path)
		require.Contains(t, rec.Body.String(), "X-Scope-OrgID", path)
		require.NotContains(t, rec.Body.String(), "job-of-")
	}
}
