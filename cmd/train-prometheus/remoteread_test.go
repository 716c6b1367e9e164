package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/remoteread"
)

// pushHistory remote-writes the known pattern for series lset, one sample a
// second over [from, to), into Prometheus: the fastest way to give it
// history (its TSDB accepts the past within the head's range).
func pushHistory(t *testing.T, promURL string, lset labels.Labels, from, to time.Time) int {
	t.Helper()
	ts := prompb.TimeSeries{}
	lset.Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
	for at := from.Truncate(time.Second); at.Before(to); at = at.Add(time.Second) {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: e2ePattern(at)})
	}
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, promURL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	return len(ts.Samples)
}

// TestRemoteReadBothWays runs both directions of remote read against a real
// Prometheus: it holds history of a known pattern and nothing sends the
// adapter remote-write samples. The adapter starts empty, backfills from
// Prometheus and forecasts within seconds; Prometheus, which has the
// adapter as a remote_read endpoint, then answers a range query that ends
// in the future with the forecast past now.
func TestRemoteReadBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server; skipped with -short")
	}
	adapterAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	prom := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1m
remote_read:
  - url: http://%s/api/v1/read
    read_recent: true
    required_matchers: {source: train-prometheus}
`, adapterAddr))

	series := labels.FromStrings("__name__", "rr_sine", "job", "history")
	now := time.Now()
	pushed := pushHistory(t, prom.URL, series, now.Add(-6*time.Minute), now)
	require.Len(t, prom.query(t, `rr_sine`, time.Now()), 1)

	start := time.Now()
	adapterURL := startAdapter(t, adapterAddr, fmt.Sprintf(`
global:
  step: 2s
  window: 10m
  retrain_interval: 1m
  min_history: 2m
  evaluation_delay: 500ms
  external_labels: {source: train-prometheus}
forecasts:
  - name: sine
    match: ['rr_sine']
    models: [seasonal_naive, fourier]
    seasonal_period: 16s
remote_read:
  - url: %s/api/v1/read
    read_recent: true
`, prom.URL))

	t.Run("backfill", func(t *testing.T) {
		waitFor(t, 15*time.Second, "a forecast from backfilled history", func() bool {
			return len(forecastLines(t, adapterURL)) >= 6
		})
		elapsed := time.Since(start)
		t.Logf("first forecast %v after the adapter started (%d samples pushed into Prometheus)", elapsed, pushed)
		require.Less(t, elapsed, 10*time.Second)
		require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_received_samples_total", nil), "no remote-write sample arrived")
		require.Equal(t, 1.0, adapterMetric(t, adapterURL, "train_prometheus_backfill_series_total", nil))
		samples := adapterMetric(t, adapterURL, "train_prometheus_backfill_samples_total", nil)
		require.Greater(t, samples, 0.9*float64(pushed), "the whole history was read")
		require.LessOrEqual(t, samples, float64(pushed))
		require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_backfill_failures_total", nil))

		// The forecast is right: read it straight from the adapter's
		// remote-read endpoint, one minute ahead.
		got := readForecast(t, adapterURL, time.Now(), time.Now().Add(time.Minute))
		require.Len(t, got, 2, "one yhat series per model")
		for name, samples := range got {
			require.GreaterOrEqual(t, len(samples), 25, name)
			for _, s := range samples {
				require.InDelta(t, e2ePattern(time.UnixMilli(s.Timestamp)), s.Value, 0.2*e2eAmp, "%s at %d", name, s.Timestamp)
			}
		}
	})

	t.Run("query_range through Prometheus", func(t *testing.T) {
		now := time.Now().Truncate(e2eStep)
		r := v1.Range{Start: now.Add(-10 * time.Second), End: now.Add(time.Minute), Step: e2eStep}
		mat := prom.queryRange(t, `rr_sine_forecast{source="train-prometheus",value_type="yhat",model="seasonal_naive"}`, r)
		require.Len(t, mat, 1)
		require.Equal(t, model.LabelValue("history"), mat[0].Metric["job"])
		future := 0
		for _, p := range mat[0].Values {
			if !p.Timestamp.Time().After(time.Now()) {
				continue
			}
			future++
			require.InDelta(t, e2ePattern(p.Timestamp.Time()), float64(p.Value), 1e-9, "seasonal naive repeats the period exactly, at %v", p.Timestamp)
		}
		require.GreaterOrEqual(t, future, 25, "forecast samples past now: %v", mat[0].Values)

		// Without the required matcher Prometheus does not ask the adapter.
		require.Empty(t, prom.queryRange(t, `rr_sine_forecast`, r))
		require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_remote_read_requests_total", map[string]string{"code": "200"}))
		// Prometheus 2.42 asks for SAMPLES, 3.x for STREAMED_XOR_CHUNKS first.
		for _, rt := range []string{"samples", "streamed_xor_chunks"} {
			t.Logf("%s samples served: %g", rt, adapterMetric(t, adapterURL, "train_prometheus_remote_read_samples_total", map[string]string{"response_type": rt}))
		}
	})
}

// forecastLines returns the yhat lines of the adapter's /forecasts page.
func forecastLines(t *testing.T, adapterURL string) []string {
	t.Helper()
	resp, err := http.Get(adapterURL + "/forecasts")
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "rr_sine_forecast{") {
			out = append(out, l)
		}
	}
	return out
}

// readForecast reads the yhat forecast series over [from, to] from the
// adapter's remote-read endpoint.
func readForecast(t *testing.T, adapterURL string, from, to time.Time) map[string][]prompb.Sample {
	t.Helper()
	u, err := url.Parse(adapterURL + "/api/v1/read")
	require.NoError(t, err)
	rc := config.DefaultRemoteReadConfig
	rc.Name, rc.URL = "test", &commoncfg.URL{URL: u}
	c, err := remoteread.NewClient(&rc, "test")
	require.NoError(t, err)
	q := &prompb.Query{StartTimestampMs: from.UnixMilli(), EndTimestampMs: to.UnixMilli(), Matchers: []*prompb.LabelMatcher{
		{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "rr_sine_forecast"},
		{Type: prompb.LabelMatcher_EQ, Name: "value_type", Value: "yhat"},
	}}
	got := map[string][]prompb.Sample{}
	require.NoError(t, c.Read(context.Background(), []*prompb.Query{q}, func(_ int, lset labels.Labels, ts int64, v float64) error {
		got[lset.String()] = append(got[lset.String()], prompb.Sample{Timestamp: ts, Value: v})
		return nil
	}))
	return got
}
