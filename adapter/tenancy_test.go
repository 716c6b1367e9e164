package adapter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// TestTenancy: two tenants send the same series with different values; each
// tenant's forecasts go back with its own tenant header and only its own
// series, and the tenant label itself is never sent.
func TestTenancy(t *testing.T) {
	tg := newTarget(t)
	end := t0 + 3*time.Hour.Milliseconds()
	evalAt := end + 20_000
	f := applied(t, withTarget(tg.srv.URL)+"tenancy: {enabled: true}\n", Options{
		Now: func() time.Time { return time.UnixMilli(evalAt) },
	})

	scale := map[string]float64{"team-a": 1, "team-b": 2}
	for tenant, k := range scale {
		var samples []prompb.Sample
		for ts := t0; ts < end; ts += 15_000 {
			samples = append(samples, prompb.Sample{Timestamp: ts, Value: k * sine(ts)})
		}
		body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			// A sender's own tenant label is ignored: it cannot pick a tenant.
			Labels:  promLabels("__name__", "sine", config.TenantLabel, "spoofed", "instance", "a", "job", "app"),
			Samples: samples,
		}}})
		h := writeHeader()
		h.Set("X-Scope-OrgID", tenant)
		rec := f.do(t, http.MethodPost, "/api/v1/write", body, h)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	}
	require.Equal(t, 2, f.a.Store().Len(), "one series per tenant")

	// A tenant ID that cannot be a header value is refused.
	h := writeHeader()
	h.Set("X-Scope-OrgID", string(make([]byte, config.MaxTenantLength+1)))
	rec := f.do(t, http.MethodPost, "/api/v1/write", encodeWrite(t, &prompb.WriteRequest{}), h)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "X-Scope-OrgID")

	require.Equal(t, 2, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000))) // the cells before end closed
	require.Equal(t, 2*2*3, f.a.Engine().Evaluate(time.UnixMilli(evalAt)), "2 tenants x 2 models x 3 value types")
	f.a.Stop()

	headers, _, errs := tg.received()
	require.Empty(t, errs)
	yhat := map[string]map[string]float64{} // tenant → model → yhat
	tg.mu.Lock()
	defer tg.mu.Unlock()
	require.Len(t, tg.perRequest, len(headers))
	for i, hdr := range headers {
		tenant := hdr.Get("X-Scope-OrgID")
		require.Contains(t, scale, tenant, "every request carries a tenant")
		for _, ts := range tg.perRequest[i] {
			ls := map[string]string{}
			for _, l := range ts.Labels {
				ls[l.Name] = l.Value
			}
			require.NotContains(t, ls, config.TenantLabel)
			if ls["value_type"] == "yhat" && ls["__name__"] == "sine_forecast" {
				if yhat[tenant] == nil {
					yhat[tenant] = map[string]float64{}
				}
				yhat[tenant][ls["model"]] = ts.Samples[0].Value
			}
		}
	}
	require.Len(t, yhat, 2)
	for m, a := range yhat["team-a"] {
		require.InDelta(t, 2*a, yhat["team-b"][m], 1e-6*a, "model %s: each tenant gets the forecast of its own data", m)
	}
}

// TestTenantlessPool: with tenancy on, the series written without the
// tenant header are a pool of their own (the README's "Security"): a
// remote read or a status page without the header sees them and no
// tenant's series, and a tenant never sees them.
func TestTenantlessPool(t *testing.T) {
	f := applied(t, baseConfig+"tenancy: {enabled: true}\nremote_read_server: {serve_raw: true}\n", Options{})
	pushAs(t, f, "team-a", "job-of-team-a", 10)
	pushAs(t, f, "", "job-of-nobody", 10)
	require.Equal(t, 2, f.a.Store().Len())

	for _, tc := range []struct {
		name, tenant, sees string
	}{
		{name: "tenant", tenant: "team-a", sees: "job-of-team-a"},
		{name: "no header", tenant: "", sees: "job-of-nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.tenant != "" {
				h.Set("X-Scope-OrgID", tc.tenant)
			}
			raw, err := proto.Marshal(&prompb.ReadRequest{Queries: []*prompb.Query{{
				StartTimestampMs: 0,
				EndTimestampMs:   time.Now().Add(time.Hour).UnixMilli(),
				Matchers:         []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "sine"}},
			}}})
			require.NoError(t, err)
			rec := f.do(t, http.MethodPost, "/api/v1/read", snappy.Encode(nil, raw), h)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			dec, err := snappy.Decode(nil, rec.Body.Bytes())
			require.NoError(t, err)
			var res prompb.ReadResponse
			require.NoError(t, proto.Unmarshal(dec, &res))
			var jobs []string
			for _, ts := range res.Results[0].Timeseries {
				for _, l := range ts.Labels {
					require.NotEqual(t, config.TenantLabel, l.Name)
					if l.Name == "job" {
						jobs = append(jobs, l.Value)
					}
				}
			}
			require.Equal(t, []string{tc.sees}, jobs, "remote read")

			rec = f.do(t, http.MethodGet, "/", nil, h)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Contains(t, rec.Body.String(), "<p>1 series buffered.</p>", "status page")
		})
	}
}
