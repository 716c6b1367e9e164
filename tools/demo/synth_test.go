package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func TestSynth(t *testing.T) {
	live := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	day := 10 * time.Minute
	s := newSynth(live, day, live.Add(-7*day))

	// The demo clock: the live start is Wednesday 10:00, a day later
	// Thursday 10:00, and Saturday is quieter than Wednesday.
	require.Equal(t, time.Wednesday, s.demoTime(live).Weekday())
	require.Equal(t, 10, s.demoTime(live).Hour())
	require.Equal(t, time.Thursday, s.demoTime(live.Add(day)).Weekday())
	require.Less(t, s.load(live.Add(-4*day)), s.load(live)) // Saturday 10:00
	require.Less(t, s.load(live.Add(-day/2)), s.load(live)) // 22:00

	// The counter never decreases, history and live alike.
	prev := -1.0
	for ts := live.Add(-7 * day); ts.Before(live.Add(day)); ts = ts.Add(700 * time.Millisecond) {
		v := s.value(metricRequests, ts)
		require.GreaterOrEqual(t, v, prev, "at %v", ts)
		prev = v
	}

	// The schedule: clean history, the request spike 40 s into every day.
	_, ok := s.active(metricRequests, live.Add(40*time.Second-day))
	require.False(t, ok, "no injection in the history")
	in, ok := s.active(metricRequests, live.Add(45*time.Second))
	require.True(t, ok)
	require.Equal(t, "spike", in.Kind)
	_, ok = s.active(metricRequests, live.Add(day+45*time.Second))
	require.True(t, ok, "again the next day")
	ws := s.windows(live, live.Add(day))
	require.Len(t, ws, len(schedule))
	require.Equal(t, live.Add(40*time.Second), ws[0].Start)
	require.Equal(t, live.Add(55*time.Second), ws[0].End)
	require.Equal(t, 4.0, s.value(metricWorkers, live.Add(7*time.Minute+time.Second)))
	require.Greater(t, s.value(metricQueue, live.Add(4*time.Minute)), s.value(metricQueue, live.Add(4*time.Minute-day))+25)
}

func TestSynthHandler(t *testing.T) {
	s := newSynth(time.Now(), 10*time.Minute, time.Now().Add(-time.Hour))
	ready := make(chan struct{})
	srv := httptest.NewServer(s.handler(ready))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "no scrape before the history is written")

	close(ready)
	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		"# TYPE demo_http_requests_total counter\ndemo_http_requests_total ",
		"# TYPE demo_queue_length gauge\n",
		`demo_injected_anomaly{metric="demo_workers_active"} 0`,
	} {
		require.Contains(t, string(body), want)
	}
	require.Equal(t, len(modelled)+1, strings.Count(string(body), "# TYPE"))
}

func TestGraphURL(t *testing.T) {
	u := graphURL("http://127.0.0.1:9090", "1h", `a{b="c"}`, "d")
	require.Equal(t, `http://127.0.0.1:9090/graph?g0.expr=a%7Bb%3D%22c%22%7D&g0.range_input=1h&g0.tab=0&g1.expr=d&g1.range_input=1h&g1.tab=0`, u)
}

func TestAdapterConfigValid(t *testing.T) {
	cfg, err := config.Load(adapterConfig("http://127.0.0.1:9090", 10*time.Minute, 2*time.Hour))
	require.NoError(t, err)
	require.Empty(t, cfg.Warnings())
	require.Len(t, cfg.RemoteRead, 1)
	require.Equal(t, 120*step, time.Duration(cfg.Forecasts[0].SeasonalPeriod))
}
