package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// restart stops p and starts the same Prometheus again: same binary,
// arguments, port and TSDB (its WAL is replayed). The new process is
// stopped by a cleanup.
func (p *promServer) restart(t *testing.T) *promServer {
	t.Helper()
	p.stop(t)
	q := &promServer{URL: p.URL, Port: p.Port, Dir: p.Dir, DataDir: p.DataDir,
		logPath: p.logPath + ".restarted", done: make(chan struct{})}
	logFile, err := os.Create(q.logPath)
	require.NoError(t, err)
	defer logFile.Close()
	q.cmd = exec.Command(p.cmd.Path, p.cmd.Args[1:]...)
	q.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	q.cmd.Dir = p.cmd.Dir
	q.cmd.Stdout, q.cmd.Stderr = logFile, logFile
	require.NoError(t, q.cmd.Start())
	go func() {
		q.waitErr = q.cmd.Wait()
		close(q.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- restarted prometheus log (tail) ---\n%s", q.logTail())
		}
		q.stop(t)
	})
	require.NoError(t, q.waitReady(promReadyTimeout), q.logTail())
	q.transport = &http.Transport{}
	client, err := api.NewClient(api.Config{Address: q.URL, RoundTripper: q.transport})
	require.NoError(t, err)
	q.API = v1.NewAPI(client)
	return q
}

// feed remote-writes one sample of series name to the adapter every
// interval until ctx ends.
func feed(ctx context.Context, wg *sync.WaitGroup, baseURL, name string, interval time.Duration) {
	defer wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			raw, _ := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
				Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "outage"}},
				Samples: []prompb.Sample{{Timestamp: now.UnixMilli(), Value: 10 + math.Sin(float64(now.UnixMilli())/1000)}},
			}}})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
			req.Header.Set("Content-Encoding", "snappy")
			req.Header.Set("Content-Type", "application/x-protobuf")
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
}

// TestWriteBackOutage stops the real Prometheus the forecasts are written
// to, restarts it on the same port and TSDB, and checks that the forecasts
// made during the outage were queued and delivered: the yhat series has a
// sample at every step, with no gap across the outage.
func TestWriteBackOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server; skipped with -short")
	}
	const step = time.Second
	prom := startPrometheus(t, "global: {scrape_interval: 15s}\n")
	adapterAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	adapterURL := startAdapter(t, adapterAddr, fmt.Sprintf(`
global:
  step: 1s
  window: 2m
  retrain_interval: 5s
  min_history: 5s
  evaluation_delay: 300ms
  staleness: 1m
forecasts:
  - name: outage
    match: ['outage_input']
    models: [seasonal_naive]
    seasonal_period: 4s
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms, max_sample_age: 5m}
`, prom.URL))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go feed(ctx, &wg, adapterURL, "outage_input", 250*time.Millisecond)
	defer func() { cancel(); wg.Wait() }()

	yhat := `outage_input_forecast{value_type="yhat"}`
	waitFor(t, 60*time.Second, "forecasts written back", func() bool {
		return len(prom.query(t, yhat, time.Now())) == 1
	})
	time.Sleep(3 * step)

	down := time.Now()
	prom.stop(t)
	const outage = 8 * time.Second
	time.Sleep(outage)
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_queue_length", nil),
		"forecasts of the outage wait in the queue")
	prom = prom.restart(t)
	up := time.Now()
	waitFor(t, 30*time.Second, "forecasts after the restart", func() bool {
		v := prom.query(t, "timestamp("+yhat+")", time.Now())
		return len(v) == 1 && float64(v[0].Value) > float64(up.Add(2*step).Unix())
	})

	// Nothing the engine produced was lost: once the queue has drained,
	// every output sample was accepted by Prometheus. (A step without a
	// forecast is possible on a loaded machine: a stalled engine that
	// misses a whole step's tick does not write that step afterwards.)
	waitFor(t, 30*time.Second, "queue drained, every produced sample accepted", func() bool {
		m := adapterMetrics(t, adapterURL)
		return m["train_prometheus_writeback_queue_length"] == 0 &&
			m["train_prometheus_writeback_samples_total"] == m["train_prometheus_engine_output_samples_total"]
	})

	// The forecasts made during the outage are in Prometheus, at their own
	// grid times, in order.
	from, to := down.Add(-3*step).Truncate(step), up.Add(step).Truncate(step)
	window := to.Sub(from)
	ctxQ, cancelQ := context.WithTimeout(context.Background(), promQueryTimeout)
	defer cancelQ()
	val, _, _, err := prom.API.Query(ctxQ, fmt.Sprintf("%s[%ds]", yhat, int(window.Seconds())), to)
	require.NoError(t, err)
	mat, ok := val.(model.Matrix)
	require.True(t, ok)
	require.Len(t, mat, 1)
	var stamps []int64
	during := 0
	for _, p := range mat[0].Values {
		ts := int64(p.Timestamp)
		require.Zero(t, ts%step.Milliseconds(), "stamped on the grid")
		if len(stamps) > 0 {
			require.Greater(t, ts, stamps[len(stamps)-1])
		}
		stamps = append(stamps, ts)
		if ts > down.UnixMilli() && ts < up.UnixMilli() {
			during++
		}
	}
	require.GreaterOrEqual(t, during, int(outage/step)/2, "forecasts of the outage delivered: %v", stamps)
	require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_dropped_total", nil))
	require.Zero(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_failed_total", nil))
	require.Positive(t, adapterMetric(t, adapterURL, "train_prometheus_writeback_samples_retried_total", nil))
}

// adapterMetrics scrapes the adapter's /metrics once and returns the sum of
// the samples of each counter and gauge family, so that several values can
// be compared as of one moment.
func adapterMetrics(t *testing.T, baseURL string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			out[name] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}
