package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// promMajor returns the major version of the Prometheus binary the tests
// run, from its --version output (0 when it cannot tell).
func promMajor(t *testing.T) int {
	t.Helper()
	out, err := exec.Command(promBinary(t), "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`version (\d+)\.`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(string(m[1]))
	return major
}

// TestPrometheus3RemoteWrite2 runs the loop in remote-write 2.0 both ways
// with a real Prometheus 3 (opt-in: `make test-prometheus3`; Debian's 2.42
// answers 204 to 2.0 and stores nothing). Prometheus 3 scrapes a counter
// whose name follows no convention, sends it with
// protobuf_message: io.prometheus.write.v2.Request and its metadata (the
// metadata-wal-records feature), so the adapter can only know it is a
// counter from 2.0 series metadata: it is forecast as a rate, and the
// forecasts are written back in 2.0 too.
func TestPrometheus3RemoteWrite2(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if major := promMajor(t); major < 3 {
		t.Skipf("needs Prometheus 3 (this one is %d.x): run make test-prometheus3", major)
	}
	var events atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := events.Add(5) // 5 events per scrape: a steady rate
		fmt.Fprintf(w, "# HELP p3_events Events seen.\n# TYPE p3_events counter\np3_events %d\n", n)
	}))
	defer target.Close()

	adapterAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	prom := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: p3
    static_configs: [{targets: ['%s']}]
remote_write:
  - url: http://%s/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, strings.TrimPrefix(target.URL, "http://"), adapterAddr), "--enable-feature=metadata-wal-records")
	adapterURL := startAdapter(t, adapterAddr, fmt.Sprintf(`
global:
  step: 2s
  window: 10m
  retrain_interval: 10s
  min_history: 30s
  evaluation_delay: 1500ms
forecasts:
  - name: events
    match: ['p3_events']
    models: [seasonal_naive]
remote_write:
  - url: %s/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {batch_send_deadline: 1s}
`, prom.URL))

	yhat := `p3_events:rate_forecast{value_type="yhat"}`
	waitFor(t, 100*time.Second, "rate forecast written back into Prometheus 3", func() bool {
		return len(prom.query(t, yhat, time.Now())) == 1
	})
	// 5 events per 1 s scrape: 5 per second.
	v := prom.query(t, yhat, time.Now())
	require.InDelta(t, 5, float64(v[0].Value), 1.5, "yhat is the per-second rate")
	require.Equal(t, model.LabelValue("p3"), v[0].Metric["job"])

	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_received_requests_by_version_total", map[string]string{"version": "2.0"}))
	require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_received_requests_by_version_total", map[string]string{"version": "1.0"}))
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_received_samples_total", nil))
	require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_failed_total", nil))
}
