package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestPrometheusHarness checks the real-Prometheus test harness: Prometheus
// starts, scrapes a target, answers instant and range queries, and is gone
// (its port refusing connections) once stopped.
func TestPrometheusHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server; skipped with -short")
	}

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = fmt.Fprint(w, "# HELP harness_test_gauge A gauge for the harness self-test.\n# TYPE harness_test_gauge gauge\nharness_test_gauge 42\n")
	}))
	t.Cleanup(target.Close) // registered first: runs after Prometheus has stopped

	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: harness
    static_configs:
      - targets: [%q]
`, target.Listener.Addr().String())

	p := startPrometheus(t, cfg)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, p.URL)

	var got model.Vector
	waitFor(t, 20*time.Second, "harness_test_gauge to be queryable", func() bool {
		got = p.query(t, `harness_test_gauge`, time.Now())
		return len(got) > 0
	})
	require.Len(t, got, 1)
	require.Equal(t, model.SampleValue(42), got[0].Value)
	require.Equal(t, model.LabelValue("harness"), got[0].Metric["job"])
	require.Equal(t, model.LabelValue(target.Listener.Addr().String()), got[0].Metric["instance"])

	now := time.Now()
	mat := p.queryRange(t, `harness_test_gauge`, v1.Range{Start: now.Add(-time.Minute), End: now, Step: time.Second})
	require.Len(t, mat, 1)
	require.NotEmpty(t, mat[0].Values)
	for _, sp := range mat[0].Values {
		require.Equal(t, model.SampleValue(42), sp.Value)
	}

	// The cleanup's stop logic, run early: afterwards the process has exited
	// and nothing listens on its port any more.
	p.stop(t)
	require.True(t, p.exited(), "prometheus process still running after stop")
	require.NotNil(t, p.cmd.ProcessState)
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("port %d still accepts connections after stop", p.Port)
	}
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial after stop: %v, want connection refused", err)
	p.stop(t) // idempotent
}
