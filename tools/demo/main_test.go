package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// promBinary finds Prometheus as cmd/train-prometheus's tests do:
// $PROMETHEUS_BINARY, else prometheus on PATH; without one the test is
// skipped, or fails under CI.
func promBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PROMETHEUS_BINARY"); bin != "" {
		path, err := exec.LookPath(bin)
		require.NoError(t, err, "PROMETHEUS_BINARY=%q", bin)
		return path
	}
	path, err := exec.LookPath("prometheus")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("prometheus binary not found on PATH (%v): CI must install it with .ci/install-prometheus.sh, or set PROMETHEUS_BINARY", err)
	}
	t.Skipf("prometheus binary not found on PATH (%v); install it (e.g. .ci/install-prometheus.sh) to run this test", err)
	return ""
}

// TestDemoHeadless runs the demo as `make demo ARGS='-headless -duration
// 60s'` would, on free ports: forecasts of every demo series are in
// Prometheus, the first injected anomaly (the request spike 40 s in) is
// flagged, and everything it started is gone afterwards.
func TestDemoHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and the adapter for a minute; skipped with -short")
	}
	prom := promBinary(t)

	// The adapter is built here (linking takes 10-40 s on a busy CI),
	// not within the demo's minute.
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer bcancel()
	bin := t.TempDir() + "/train-prometheus"
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "../../cmd/train-prometheus")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	var buf bytes.Buffer
	res, err := run(ctx, options{
		adapter: bin, prometheus: prom, day: 10 * time.Minute,
		duration: 60 * time.Second, headless: true,
	}, &buf)
	t.Log(buf.String())
	require.NoError(t, err)

	for _, m := range modelled {
		require.Equal(t, 1, res.Forecasts[forecastName(m)], "yhat series of %s in Prometheus", m)
	}
	require.NotEmpty(t, res.Injected)
	require.Equal(t, metricRequests, res.Injected[0].Metric)
	require.NotEmpty(t, res.Flagged, "an injected anomaly flagged (anomaly == 1 at its steps)")
	require.Contains(t, buf.String(), "status page:   http://127.0.0.1:")
	require.Contains(t, buf.String(), "/graph?g0.expr=")

	// Nothing left behind: the temporary directory is gone.
	dir := ""
	for line := range strings.Lines(buf.String()) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "configs, logs: "); ok {
			dir = s
		}
	}
	require.NotEmpty(t, dir)
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "temporary directory %s removed: %v", dir, err)
}
