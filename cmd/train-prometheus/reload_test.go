package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Configurations the reload test switches between.
const (
	reloadConfigA = `
global:
  step: 1m
  window: 1h
forecasts:
  - name: a
    match: ['reload_a']
`
	reloadConfigB = `
global:
  step: 1m
  window: 1h
forecasts:
  - name: b
    match: ['reload_b']
`
	// Valid YAML, invalid configuration: a forecasts entry without match.
	reloadConfigInvalid = `
forecasts:
  - name: broken
`
)

// post sends a POST with body and returns the status code and body.
func post(t *testing.T, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// writeSample remote-writes one sample of the series called name.
func writeSample(t *testing.T, baseURL, name string, ts time.Time) int {
	t.Helper()
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "reload"}},
		Samples: []prompb.Sample{{Timestamp: ts.UnixMilli(), Value: 1}},
	}}})
	require.NoError(t, err)
	code, body := post(t, baseURL+"/api/v1/write", http.Header{
		"Content-Encoding":                  {"snappy"},
		"Content-Type":                      {"application/x-protobuf"},
		"X-Prometheus-Remote-Write-Version": {"0.1.0"},
	}, snappy.Encode(nil, raw))
	require.Empty(t, body)
	return code
}

func TestReloadEndpoint(t *testing.T) {
	// Registered first, so it runs after the adapter has stopped.
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	defer http.DefaultClient.CloseIdleConnections()

	cfgFile := filepath.Join(t.TempDir(), "train-prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(reloadConfigA), 0o600))
	url := startAdapterFlags(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), cfgFile, func(f *flags) { f.enableLifecycle = true })
	const gauge = "train_prometheus_config_last_reload_successful"
	require.Equal(t, 1.0, adapterMetric(t, url, gauge, nil), "the first load counts as a successful reload")

	// stored is how many samples the adapter has accepted into its buffers.
	stored := func() float64 { return adapterMetric(t, url, "train_prometheus_received_samples_total", nil) }
	now := time.Now()
	require.Equal(t, http.StatusNoContent, writeSample(t, url, "reload_b", now))
	require.Zero(t, stored(), "reload_b is not selected by the first configuration")

	for i, step := range []struct {
		name      string
		file      string
		want      int
		body      string
		wantGauge float64
		// selected: whether reload_b is selected afterwards.
		selected bool
	}{
		{name: "changed valid file", file: reloadConfigB, want: http.StatusOK, body: "Configuration reloaded", wantGauge: 1, selected: true},
		{name: "same file again", file: reloadConfigB, want: http.StatusOK, body: "Configuration reloaded", wantGauge: 1, selected: true},
		{name: "invalid file keeps the configuration", file: reloadConfigInvalid, want: http.StatusInternalServerError, body: "match must list at least one series selector", wantGauge: 0, selected: true},
		{name: "unparsable file keeps the configuration", file: "forecasts: [", want: http.StatusInternalServerError, body: "parse config file " + cfgFile, wantGauge: 0, selected: true},
		{name: "empty file keeps the configuration", file: "", want: http.StatusInternalServerError, body: "the configuration is empty", wantGauge: 0, selected: true},
		{name: "comments only keep the configuration", file: "# all commented out\n", want: http.StatusInternalServerError, body: "the configuration is empty", wantGauge: 0, selected: true},
		{name: "fixed file", file: reloadConfigA, want: http.StatusOK, body: "Configuration reloaded", wantGauge: 1, selected: false},
	} {
		t.Run(step.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(cfgFile, []byte(step.file), 0o600))
			code, body := post(t, url+"/-/reload", nil, nil)
			require.Equal(t, step.want, code, body)
			require.Contains(t, body, step.body)
			require.Equal(t, step.wantGauge, adapterMetric(t, url, gauge, nil))

			// Still serving, with the configuration the step expects.
			resp, err := http.Get(url + "/-/ready")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			before := stored()
			// A new sample per step (a resend would be dropped as a duplicate).
			ts := now.Add(time.Duration(i+1) * time.Minute)
			require.Equal(t, http.StatusNoContent, writeSample(t, url, "reload_b", ts))
			if step.selected {
				require.Equal(t, before+1, stored(), "reload_b must be selected")
				require.Equal(t, 1.0, adapterMetric(t, url, "train_prometheus_ring_series", nil))
			} else {
				require.Equal(t, before, stored(), "reload_b must not be selected")
				require.Zero(t, adapterMetric(t, url, "train_prometheus_ring_series", nil), "reload_b must be dropped from the buffers")
			}
		})
	}

	// GET does not reload.
	resp, err := http.Get(url + "/-/reload")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestReloadEndpointOffByDefault: without --web.enable-lifecycle,
// POST /-/reload is refused as Prometheus refuses it and the file is not
// reread.
func TestReloadEndpointOffByDefault(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	defer http.DefaultClient.CloseIdleConnections()

	cfgFile := filepath.Join(t.TempDir(), "train-prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(reloadConfigA), 0o600))
	url := startAdapterFile(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), cfgFile)
	require.NoError(t, os.WriteFile(cfgFile, []byte(reloadConfigInvalid), 0o600))
	code, body := post(t, url+"/-/reload", nil, nil)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, "Lifecycle API is not enabled.")
	require.Equal(t, 1.0, adapterMetric(t, url, "train_prometheus_config_last_reload_successful", nil), "the invalid file was not read")
}
