package remoteread

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// postAs sends req to url with the tenant header (none when tenant is "")
// and decodes the SAMPLES answer.
func postAs(t *testing.T, url, tenant string, req *prompb.ReadRequest) (int, *prompb.ReadResponse) {
	t.Helper()
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	hreq, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	if tenant != "" {
		hreq.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := http.DefaultClient.Do(hreq)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	dec, err := snappy.Decode(nil, body)
	require.NoError(t, err)
	var res prompb.ReadResponse
	require.NoError(t, proto.Unmarshal(dec, &res))
	return resp.StatusCode, &res
}

// TestServerTenancy: with tenancy on, a read sees only the series of the
// tenant its header names, without the internal tenant label, and cannot
// reach another tenant's series even by matching on that label.
func TestServerTenancy(t *testing.T) {
	now := t0 + 4*60*minute
	f := newFixture(t, testConfig+"tenancy: {enabled: true}\n", now)
	for _, tenant := range []string{"team-a", "team-b"} {
		f.feed(labels.FromStrings("__name__", "sine", "job", "app", config.TenantLabel, tenant), t0, now, sine)
	}
	require.Equal(t, 2, f.eng.RetrainDue(t.Context(), f.clock()))
	_, ts := f.server(nil)

	yhat := func(extra ...*prompb.LabelMatcher) *prompb.ReadRequest {
		ms := append([]*prompb.LabelMatcher{eq("__name__", "sine_forecast"), eq("model", "fourier"), eq("value_type", "yhat")}, extra...)
		return &prompb.ReadRequest{Queries: []*prompb.Query{query(now, now+10*minute, ms...)}}
	}
	for _, tenant := range []string{"team-a", "team-b"} {
		code, res := postAs(t, ts.URL, tenant, yhat())
		require.Equal(t, http.StatusOK, code)
		require.Len(t, res.Results[0].Timeseries, 1, "tenant %s sees its own forecast only", tenant)
		for _, l := range res.Results[0].Timeseries[0].Labels {
			require.NotEqual(t, config.TenantLabel, l.Name, "the tenant label is never shown")
		}
		require.NotEmpty(t, res.Results[0].Timeseries[0].Samples)
	}
	// Matching on the internal label reaches nothing, not even one's own.
	code, res := postAs(t, ts.URL, "team-a", yhat(eq(config.TenantLabel, "team-b")))
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, res.Results[0].Timeseries)
	// No tenant header: no tenant's series.
	code, res = postAs(t, ts.URL, "", yhat())
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, res.Results[0].Timeseries)
	// An invalid tenant ID is refused.
	code, _ = postAs(t, ts.URL, "..", yhat())
	require.Equal(t, http.StatusBadRequest, code)
}
