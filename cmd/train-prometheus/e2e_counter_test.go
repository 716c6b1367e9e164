package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// The counter the counter end-to-end test scrapes: it counts counterRate
// events per second of wall time, on the adapter's grid of counterStep.
const (
	counterStep = 2 * time.Second
	counterRate = 5.0 // events per second
	// counterTol is how far a forecast rate may be from counterRate. A
	// forecast that models the counter's level, or echoes the reset as a
	// dip, is off by far more.
	counterTol = 0.25 * counterRate
)

// resettingCounter is a counter target that restarts (counts from 0
// again) at a grid time set by reset.
//
// NOTE: its value is the count at the start of the current grid cell,
// exposed with that time as an explicit timestamp. Every scrape within a
// cell then gives the same sample, so the per-cell rate is exactly
// counterRate whatever the scrape jitter on a loaded machine: a
// wall-clock value stamped with Prometheus' scrape time would make the
// rate wobble by the jitter, and a scrape started just before a cell
// boundary but answered after it would put the next cell's count in this
// cell (a rate of 0 then 2R), which the detector rightly flags. For the
// same reason the restart takes effect at a cell boundary: a cell whose
// scrapes disagree would keep its first value (Prometheus refuses a
// second value for a timestamp) and the reset would land a cell late,
// sometimes without the lost count that makes it look like a dip.
type resettingCounter struct {
	mu      sync.Mutex
	startMs int64 // grid time (ms) at which the counter was 0
	resetMs int64 // grid time (ms) from which it counts from 0 again
}

func newResettingCounter(now time.Time) *resettingCounter {
	start := now.Truncate(counterStep).UnixMilli()
	return &resettingCounter{startMs: start, resetMs: math.MaxInt64}
}

// reset restarts the counter at a cell boundary at least half a step
// after now (so that no scrape of that cell can precede the change), which
// it returns: the counter reads 0 in that cell (the restarted process has
// lost what it counted there before the restart) and counts from there.
func (c *resettingCounter) reset(now time.Time) time.Time {
	at := now.Add(counterStep / 2).Truncate(counterStep).Add(counterStep)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetMs = at.UnixMilli()
	return at
}

func (c *resettingCounter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	cell := time.Now().Truncate(counterStep).UnixMilli()
	c.mu.Lock()
	start := c.startMs
	if cell >= c.resetMs {
		start = c.resetMs
	}
	c.mu.Unlock()
	v := counterRate * float64(cell-start) / 1000
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP demo_requests_total Requests served.\n# TYPE demo_requests_total counter\ndemo_requests_total %g %d\n", v, cell)
}

// TestEndToEndCounterReset runs the loop on a counter against a real
// Prometheus: Prometheus scrapes a counter that grows at a known rate and
// restarts from zero partway through, remote-writes it to the adapter, and
// the adapter writes back its forecast of the counter's per-second rate.
// The forecast tracks the rate before and after the restart, the restart
// raises no anomaly, and the adapter knows the series as a counter.
func TestEndToEndCounterReset(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	testStart := time.Now()
	counter := newResettingCounter(testStart)
	target := httptest.NewServer(counter)
	defer target.Close()

	adapterAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	prom := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: counter
    static_configs: [{targets: ['%s']}]
remote_write:
  - url: http://%s/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
    metadata_config: {send_interval: 5s}
`, strings.TrimPrefix(target.URL, "http://"), adapterAddr))
	// The warm-up is short so that the detector can flag before the reset:
	// otherwise "no anomaly at the reset" would hold trivially.
	adapterURL := startAdapter(t, adapterAddr, fmt.Sprintf(`
global:
  step: %s
  window: 10m
  retrain_interval: 10s
  min_history: 16s
  evaluation_delay: 1500ms
  staleness: 10s
forecasts:
  - name: requests
    match: ['demo_requests_total']
    models: [auto, seasonal_naive]
    anomaly_warm_up: 10s
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 1s}
`, model.Duration(counterStep), prom.URL))

	const (
		yhat    = `demo_requests_total:rate_forecast{value_type="yhat"}`
		flag    = `demo_requests_total:rate_anomaly`
		score   = `demo_requests_total:rate_anomaly_score`
		warmUp  = 5 // anomaly_warm_up / step
		nModels = 2
	)
	waitFor(t, 60*time.Second, "rate forecasts written back into Prometheus", func() bool {
		return len(prom.query(t, yhat, time.Now())) == nModels
	})
	for _, s := range prom.query(t, yhat, time.Now()) {
		require.Equal(t, model.LabelValue("counter"), s.Metric["job"], s.Metric.String())
		require.Contains(t, []model.LabelValue{"auto", "seasonal_naive"}, s.Metric["model"])
	}
	require.Empty(t, prom.query(t, `{__name__=~"demo_requests_total_(forecast|anomaly.*)"}`, time.Now()),
		"a counter's outputs carry the :rate names only")

	// The adapter knows the series as a counter, from the family metadata
	// Prometheus sends (every 5s here), and models it as its rate.
	waitFor(t, 20*time.Second, "status page showing a counter from metadata", func() bool {
		return strings.Contains(httpGet(t, adapterURL+"/"),
			`<td class="type">counter <span class="muted">(family metadata)</span><br>as rate/s</td>`)
	})
	require.Contains(t, httpGet(t, adapterURL+"/forecasts"), "# TYPE demo_requests_total:rate_forecast gauge")

	// Before the reset: every model past its warm-up (it could flag now),
	// and a few forecasts to compare with the rate.
	scored := func(m string) float64 {
		return adapterMetric(t, adapterURL, "train_prometheus_engine_band_scored_points_total",
			map[string]string{"forecast": "requests", "model": m})
	}
	waitFor(t, 30*time.Second, "anomaly detectors past their warm-up", func() bool {
		return scored("auto") >= warmUp+3 && scored("seasonal_naive") >= warmUp+3
	})
	checkRate(t, prom, "before the reset", time.Now().Add(-6*counterStep), time.Now())
	anomaliesBefore := adapterMetric(t, adapterURL, "train_prometheus_engine_anomalies_total", nil)
	require.Empty(t, prom.query(t, `max_over_time(`+flag+`[1h]) > 0`, time.Now()), "anomalies flagged before the reset")

	// The process restarts: the counter drops to 0 and counts from there.
	// The reset cell's rate counted from zero is 0/s, a dip of counterRate
	// that would be flagged if it were scored.
	resetAt := counter.reset(time.Now())
	t.Logf("counter reset at %s (%.0fs into the test)", resetAt.Format(time.RFC3339), resetAt.Sub(testStart).Seconds())
	waitFor(t, 15*time.Second, "Prometheus to see the reset", func() bool {
		return len(prom.query(t, `resets(demo_requests_total[30s]) > 0`, time.Now())) == 1
	})
	atReset := prom.query(t, `demo_requests_total`, resetAt)
	require.Len(t, atReset, 1)
	require.Zero(t, float64(atReset[0].Value), "the counter stored for the reset cell")

	// After the reset: a retrain pass on data holding the reset, then
	// enough cells scored after it, the reset cell among them.
	scoredAtReset := scored("auto")
	waitFor(t, 40*time.Second, "steps scored after the reset", func() bool {
		return time.Since(resetAt) > 22*time.Second && scored("auto") >= scoredAtReset+8
	})
	end := time.Now()

	// The forecasts track the rate: all of them, through the reset cell.
	checkRate(t, prom, "across the reset", resetAt.Add(-3*counterStep), end)
	// PromQL's rate agrees (the reset counted as PromQL does).
	promRate := prom.query(t, `rate(demo_requests_total[10s])`, end)
	require.Len(t, promRate, 1)
	require.InDelta(t, counterRate, float64(promRate[0].Value), counterTol, "PromQL rate after the reset")

	// No anomaly at the reset: the flags written back around it are all 0,
	// and the adapter flagged nothing.
	window := fmt.Sprintf("[%ds]", int(end.Sub(resetAt.Add(-2*counterStep)).Seconds()))
	flags := prom.query(t, `count_over_time(`+flag+window+`)`, end)
	require.Len(t, flags, nModels, "anomaly flags written back around the reset")
	for _, s := range flags {
		require.GreaterOrEqual(t, float64(s.Value), 6.0, "flags around the reset for %s", s.Metric)
	}
	for _, q := range []string{`max_over_time(` + flag + window + `)`, `max_over_time(` + score + window + `)`} {
		for _, s := range prom.query(t, q, end) {
			t.Logf("%s: %s = %g", q, s.Metric["model"], s.Value)
			if strings.HasPrefix(q, "max_over_time("+flag) {
				require.Zero(t, float64(s.Value), "anomaly flagged at the reset by %s", s.Metric["model"])
			} else {
				require.Less(t, float64(s.Value), 1.0, "anomaly score at the reset by %s", s.Metric["model"])
			}
		}
	}
	require.Equal(t, anomaliesBefore, adapterMetric(t, adapterURL, "train_prometheus_engine_anomalies_total", nil),
		"train_prometheus_engine_anomalies_total rose across the reset")
	// The reset cell itself is never scored (README, Counters): no score
	// is written back stamped with its grid time, while its neighbours
	// have one.
	for _, s := range rawSamples(t, prom, score+window, end) {
		var stamps []string
		for _, p := range s.Values {
			stamps = append(stamps, p.Timestamp.Time().Format("15:04:05"))
			require.NotEqual(t, resetAt.UnixMilli(), int64(p.Timestamp), "%s: a score for the reset cell", s.Metric["model"])
		}
		t.Logf("%s: scores stamped %s", s.Metric["model"], strings.Join(stamps, " "))
		require.GreaterOrEqual(t, len(s.Values), 6, "%s: scores around the reset", s.Metric["model"])
	}
	t.Logf("done %.0fs into the test", time.Since(testStart).Seconds())
}

// checkRate requires the yhat written back for every model in [from, to]
// to be within counterTol of counterRate, with at least a few points each.
func checkRate(t *testing.T, prom *promServer, what string, from, to time.Time) {
	t.Helper()
	r := v1.Range{Start: from.Truncate(counterStep), End: to, Step: counterStep}
	series := prom.queryRange(t, `demo_requests_total:rate_forecast{value_type="yhat"}`, r)
	require.Len(t, series, 2, what)
	rate := prom.queryRange(t, `rate(demo_requests_total[10s])`, r)
	for _, s := range series {
		var got []string
		worst := 0.0
		for _, p := range s.Values {
			got = append(got, fmt.Sprintf("%s=%g", p.Timestamp.Time().Format("15:04:05"), p.Value))
			worst = math.Max(worst, math.Abs(float64(p.Value)-counterRate))
		}
		t.Logf("%s: %s yhat %s", what, s.Metric["model"], strings.Join(got, " "))
		require.GreaterOrEqual(t, len(s.Values), 4, "%s: %s: too few forecasts", what, s.Metric["model"])
		require.LessOrEqual(t, worst, counterTol, "%s: %s: yhat does not track the rate %g/s", what, s.Metric["model"], counterRate)
	}
	if len(rate) == 1 {
		var got []string
		for _, p := range rate[0].Values {
			got = append(got, fmt.Sprintf("%g", p.Value))
		}
		t.Logf("%s: rate(demo_requests_total[10s]) %s", what, strings.Join(got, " "))
	}
}

// rawSamples returns the samples of the range-vector selector sel as
// Prometheus stores them, at the time end.
func rawSamples(t *testing.T, prom *promServer, sel string, end time.Time) model.Matrix {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promQueryTimeout)
	defer cancel()
	val, _, _, err := prom.API.Query(ctx, sel, end)
	require.NoError(t, err, sel)
	m, ok := val.(model.Matrix)
	require.True(t, ok, "query %q returned %s, want matrix", sel, val.Type())
	return m
}

// httpGet returns the body of a GET of url, requiring a 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	return string(body)
}
