package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/require"
)

// The known pattern the end-to-end test scrapes: a sine sampled on the
// adapter's grid (constant within each step, so every aggregation gives the
// same cell value and a forecast can be checked exactly against it).
const (
	e2eStep   = 2 * time.Second
	e2ePeriod = 16 * time.Second
	e2eMean   = 10.0
	e2eAmp    = 5.0
)

func e2ePattern(t time.Time) float64 {
	cell := t.Truncate(e2eStep)
	phase := float64(cell.UnixMilli()%e2ePeriod.Milliseconds()) / float64(e2ePeriod.Milliseconds())
	return e2eMean + e2eAmp*math.Sin(2*math.Pi*phase)
}

// startAdapter runs serve in-process on addr with cfgYAML and returns its
// base URL. The adapter is stopped when the test ends.
func startAdapter(t *testing.T, addr, cfgYAML string) string {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "train-prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfgYAML), 0o600))
	return startAdapterFile(t, addr, cfgFile)
}

// startAdapterFile is startAdapter with the configuration in cfgFile, which
// the caller may rewrite (to test reloads).
func startAdapterFile(t *testing.T, addr, cfgFile string) string {
	t.Helper()
	return startAdapterFlags(t, addr, cfgFile, nil)
}

// testFlags returns the flags of an adapter serving cfgFile on addr, with
// its own storage path and no sharding, as the flag parser's defaults give.
func testFlags(t *testing.T, addr, cfgFile string) flags {
	t.Helper()
	listen, systemd, webCfg := []string{addr}, false, ""
	return flags{
		configFile:  cfgFile,
		storagePath: filepath.Join(t.TempDir(), "data"),
		web:         &web.FlagConfig{WebListenAddresses: &listen, WebSystemdSocket: &systemd, WebConfigFile: &webCfg},
		shardTotal:  1,
		shardIndex:  -1,
	}
}

// serveWith runs serve in-process with the given flags, logging into logs,
// until the test ends.
func serveWith(t *testing.T, f flags, logs io.Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, f, log.NewLogfmtLogger(log.NewSyncWriter(logs)), prometheus.NewRegistry()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("adapter did not stop within 15s")
		}
	})
}

// startAdapterFlags is startAdapterFile with flags changed by set, if not nil.
func startAdapterFlags(t *testing.T, addr, cfgFile string, set func(*flags)) string {
	t.Helper()
	f := testFlags(t, addr, cfgFile)
	if set != nil {
		set(&f)
	}
	serveWith(t, f, testWriter{t})
	url := "http://" + addr
	waitReady(t, url)
	return url
}

// waitReady waits until url/-/ready answers 200.
func waitReady(t *testing.T, url string) {
	t.Helper()
	waitFor(t, 10*time.Second, "adapter ready at "+url, func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// testWriter sends the adapter's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestEndToEnd runs the whole loop against a real Prometheus: Prometheus
// scrapes a sine-shaped gauge, remote-writes it to the adapter, and the
// adapter writes forecasts and anomaly values back into the same Prometheus.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// The label model collides with a label the adapter adds.
		fmt.Fprintf(w, "# TYPE e2e_sine gauge\ne2e_sine{model=\"sensor\"} %g\n# TYPE e2e_other gauge\ne2e_other 1\n", e2ePattern(time.Now()))
	}))
	defer target.Close()

	// Prometheus first, writing to the adapter's address (it retries until
	// the adapter listens), then the adapter, writing back to Prometheus.
	adapterAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	prom := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: e2e
    static_configs: [{targets: ['%s']}]
remote_write:
  - url: http://%s/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
    metadata_config: {send_interval: 5s}
`, strings.TrimPrefix(target.URL, "http://"), adapterAddr))
	adapterURL := startAdapter(t, adapterAddr, fmt.Sprintf(`
global:
  step: 2s
  window: 10m
  retrain_interval: 10s
  min_history: 36s
  evaluation_delay: 1500ms
  staleness: 10s
  external_labels: {source: train-prometheus}
forecasts:
  - name: sine
    match: ['e2e_sine']
    aggregate: last
    models: [auto, seasonal_naive]
    interval_width: 0.95
    horizons: [0s, 8s]
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 1s}
`, prom.URL))

	yhat := `e2e_sine_forecast{value_type="yhat",horizon=""}`
	waitFor(t, 100*time.Second, "forecast series written back into Prometheus", func() bool {
		return len(prom.query(t, yhat, time.Now())) == 2
	})

	// Labels: originals kept, collision renamed, added and external labels set.
	for _, s := range prom.query(t, yhat, time.Now()) {
		require.Equal(t, model.LabelValue("sensor"), s.Metric["exported_model"], s.Metric.String())
		require.Contains(t, []model.LabelValue{"auto", "seasonal_naive"}, s.Metric["model"])
		require.Equal(t, model.LabelValue("e2e"), s.Metric["job"])
		require.Equal(t, model.LabelValue("train-prometheus"), s.Metric["source"])
	}
	require.Len(t, prom.query(t, `e2e_sine_forecast{horizon="8s"}`, time.Now()), 6, "3 value types x 2 models at horizon 8s")
	require.Empty(t, prom.query(t, `{__name__=~"e2e_other.+"}`, time.Now()), "unselected series must not be modelled")

	// Let a few steps of forecasts accumulate, then compare them with the
	// known pattern at the grid times they are stamped with.
	time.Sleep(12 * time.Second)
	end := time.Now().Truncate(e2eStep)
	r := v1.Range{Start: end.Add(-10 * e2eStep), End: end, Step: e2eStep}
	for _, m := range []string{"seasonal_naive", "auto"} {
		series := prom.queryRange(t, fmt.Sprintf(`e2e_sine_forecast{model=%q,value_type="yhat",horizon=""}`, m), r)
		require.Len(t, series, 1, m)
		var sumErr float64
		for _, p := range series[0].Values {
			sumErr += math.Abs(float64(p.Value) - e2ePattern(p.Timestamp.Time()))
		}
		mae := sumErr / float64(len(series[0].Values))
		t.Logf("model %s: mean absolute error %.3f over %d points (amplitude %g)", m, mae, len(series[0].Values), e2eAmp)
		// Stated error: within 20% of the amplitude on average.
		require.Less(t, mae, 0.2*e2eAmp, "model %s: yhat does not track the pattern", m)
		require.GreaterOrEqual(t, len(series[0].Values), 5, m)
	}
	// The band contains yhat, and samples are never stamped in the future.
	v := prom.query(t, `e2e_sine_forecast{value_type="yhat_upper",horizon=""} - ignoring(value_type) e2e_sine_forecast{value_type="yhat_lower",horizon=""}`, time.Now())
	require.Len(t, v, 2)
	for _, s := range v {
		require.GreaterOrEqual(t, float64(s.Value), 0.0)
	}
	require.Empty(t, prom.query(t, `timestamp(e2e_sine_forecast) > time()`, time.Now()))

	// Anomaly series: a score on the documented scale and a 0/1 flag.
	waitFor(t, 20*time.Second, "anomaly series", func() bool {
		return len(prom.query(t, `e2e_sine_anomaly_score`, time.Now())) == 2 &&
			len(prom.query(t, `e2e_sine_anomaly`, time.Now())) == 2
	})
	for _, s := range prom.query(t, `e2e_sine_anomaly`, time.Now()) {
		require.Contains(t, []model.SampleValue{0, 1}, s.Value)
	}

	// The adapter's own metrics account for the traffic.
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_received_samples_total", nil))
	require.Equal(t, 1.0, adapterMetric(t, adapterURL, "train_prometheus_engine_auto_choice_series", map[string]string{"forecast": "sine"}),
		"auto's choice for the one series")
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_engine_band_scored_points_total", map[string]string{"forecast": "sine", "model": "auto"}))
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_dropped_samples_total", map[string]string{"reason": "unselected"}))
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_total", nil))
	require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_failed_total", nil))
	require.Equal(t, 1.0, adapterMetric(t, adapterURL, "train_prometheus_ring_series", nil))
	require.Equal(t, 1.0, adapterMetric(t, adapterURL, "train_prometheus_config_last_reload_successful", nil))

	// The ancestor's way: the same forecasts on a scrape page.
	resp, err := http.Get(adapterURL + "/forecasts")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), `e2e_sine_forecast{exported_model="sensor",instance=`)
	require.Contains(t, string(body), `value_type="yhat_upper"`)

	// When the input goes away, the output series are ended with stale
	// markers: Prometheus then returns nothing for them at once.
	target.Close()
	waitFor(t, 30*time.Second, "forecast series marked stale", func() bool {
		return len(prom.query(t, `e2e_sine_forecast`, time.Now())) == 0 &&
			len(prom.query(t, `e2e_sine_anomaly_score`, time.Now())) == 0
	})
	require.NotEmpty(t, prom.query(t, `count_over_time(e2e_sine_forecast[1m])`, time.Now()),
		"the forecasts written before remain queryable")
}

// adapterMetric scrapes the adapter's /metrics and returns the sum of the
// samples of family name whose labels include want (0 when none).
func adapterMetric(t *testing.T, baseURL, name string, want map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	mf, ok := families[name]
	if !ok {
		return 0 // a vector with no children yet exports nothing
	}
	sum := 0.0
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}
