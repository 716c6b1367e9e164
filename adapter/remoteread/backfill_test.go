package remoteread

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"github.com/train-prometheus/train-prometheus/internal/testlog"
)

// source is a remote-read endpoint over fixed raw samples, speaking the
// protocol with this package's own encoders: SAMPLES, or
// STREAMED_XOR_CHUNKS when accepted and streamed is set.
type testSource struct {
	streamed bool
	mu       sync.Mutex
	series   map[string]*rawSeries
	requests []*prompb.ReadRequest
	tenants  []string     // X-Scope-OrgID of each request
	fail     atomic.Int32 // answer this many requests with failStatus first
	failCode int
}

type rawSeries struct {
	lset    labels.Labels
	samples []prompb.Sample
}

func newTestSource(streamed bool) *testSource {
	return &testSource{streamed: streamed, series: map[string]*rawSeries{}, failCode: http.StatusServiceUnavailable}
}

// add adds samples every `every` ms in [from, to).
func (s *testSource) add(lset labels.Labels, from, to, every int64, fn func(int64) float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.series[lset.String()]
	if rs == nil {
		rs = &rawSeries{lset: lset}
		s.series[lset.String()] = rs
	}
	for t := from; t < to; t += every {
		rs.samples = append(rs.samples, prompb.Sample{Timestamp: t, Value: fn(t)})
	}
}

func (s *testSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeReadRequest(r.Body, 1<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.tenants = append(s.tenants, r.Header.Get("X-Scope-OrgID"))
	s.mu.Unlock()
	if s.fail.Add(-1) >= 0 {
		http.Error(w, "try later", s.failCode)
		return
	}
	answer := make([][]*series, len(req.Queries))
	s.mu.Lock()
	for qi, q := range req.Queries {
		ms, err := toMatchers(qi, q.Matchers)
		if err != nil {
			s.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range s.series {
			if !matchesAll(ms, rs.lset) {
				continue
			}
			sr := &series{lset: rs.lset, raw: []prompb.Sample{}}
			for _, smp := range rs.samples {
				if smp.Timestamp >= q.StartTimestampMs && smp.Timestamp <= q.EndTimestampMs {
					sr.raw = append(sr.raw, smp)
				}
			}
			answer[qi] = append(answer[qi], sr)
		}
	}
	s.mu.Unlock()
	rt := prompb.ReadRequest_SAMPLES
	if s.streamed && len(req.AcceptedResponseTypes) > 0 {
		rt = req.AcceptedResponseTypes[0]
	}
	_ = (&Server{served: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"response_type"})}).respond(r.Context(), w, rt, answer)
}

func (s *testSource) queries() []*prompb.Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*prompb.Query
	for _, r := range s.requests {
		out = append(out, r.Queries...)
	}
	return out
}

// backfillFixture is an empty adapter store and engine that backfill from src.
type backfillFixture struct {
	*fixture
	bf  *Backfiller
	reg *prometheus.Registry
}

func startBackfill(t *testing.T, f *fixture, url, extra string) *backfillFixture {
	t.Helper()
	cfg, err := loadWith(f.yaml + fmt.Sprintf(`
remote_read:
  - url: %s
    name: src
    min_backoff: 10ms
    max_backoff: 20ms
%s`, url, extra))
	require.NoError(t, err)
	f.cfg = cfg
	require.NoError(t, f.eng.ApplyConfig(cfg))
	b := &backfillFixture{fixture: f, reg: prometheus.NewPedanticRegistry()}
	b.bf = NewBackfiller(nil, b.reg, f.store, f.eng, BackfillOptions{Now: f.clock})
	require.NoError(t, b.bf.ApplyConfig(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.bf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

func (b *backfillFixture) metric(name string) float64 {
	m := map[string]*prometheus.CounterVec{
		"series": b.bf.metrics.series, "samples": b.bf.metrics.samples,
		"cells": b.bf.metrics.cells, "failures": b.bf.metrics.failures,
	}[name]
	return testutil.ToFloat64(m.WithLabelValues("src"))
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var (
	sineA   = labels.FromStrings("__name__", "sine", "job", "a")
	summedA = labels.FromStrings("__name__", "summed", "job", "a")
	otherA  = labels.FromStrings("__name__", "other", "job", "a")
	outputA = labels.FromStrings("__name__", "sine_forecast", "job", "a", "model", "fourier", "value_type", "yhat")
)

func TestBackfillAtStart(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("streamed=%v", streamed), func(t *testing.T) {
			now := t0 + 8*60*minute + 30000 // mid-cell
			src := newTestSource(streamed)
			src.add(sineA, t0, now, 15000, sine)
			src.add(summedA, t0, now, 15000, func(int64) float64 { return 1 })
			src.add(otherA, t0, now, 15000, sine)
			src.add(outputA, t0, now, 15000, sine)
			ts := httptest.NewServer(src)
			defer ts.Close()

			b := startBackfill(t, newFixture(t, testConfig, now), ts.URL, "")
			waitUntil(t, "two series backfilled", func() bool { return b.metric("series") == 2 })
			require.Equal(t, 2, b.store.Len(), "unselected and output-looking series are not buffered")

			open := t0 + 8*60*minute
			for _, tc := range []struct {
				lset labels.Labels
				want func(cell int64) float64
			}{
				{sineA, func(c int64) float64 { return sine(c + 45000) }}, // last of the cell
				{summedA, func(int64) float64 { return 4 }},               // four samples summed
			} {
				ser := b.store.Get(tc.lset)
				require.NotNil(t, ser, tc.lset.String())
				start, vals := ser.Values(math.MaxInt64, nil)
				require.Equal(t, open-6*60*minute, start, "the window (6h) of closed cells")
				require.Len(t, vals, 360, "up to the open cell, which live samples fill")
				for i, v := range vals {
					require.InDelta(t, tc.want(start+int64(i)*minute), v, 1e-9, "%s cell %d", tc.lset, i)
				}
			}
			// Two-and-a-half hours of the four series were read, less what
			// the queries' ranges cut off.
			require.Equal(t, 2*360*4.0, b.metric("samples"))
			require.Equal(t, 720.0, b.metric("cells"))
			require.Zero(t, b.metric("failures"))
			require.Len(t, src.queries(), 2, "one query per forecasts entry selector")

			// Woken: both series are fitted on the next pass, long before
			// min_history could have accumulated live.
			require.Equal(t, 2, b.eng.RetrainDue(t.Context(), b.clock()))
		})
	}
}

func TestBackfillMergesWithLive(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(summedA, t0, now, 15000, func(int64) float64 { return 1 })
	ts := httptest.NewServer(src)
	defer ts.Close()

	f := newFixture(t, testConfig, now)
	// Live samples came first for the last two closed cells, the second
	// only partly (a live sample wins over the backfill for its cell).
	ser := f.feed(summedA, now-2*minute, now-minute, func(int64) float64 { return 1 })
	require.NoError(t, ser.Append(now-minute, 1))
	b := startBackfill(t, f, ts.URL, "    read_recent: true\n")
	waitUntil(t, "backfill", func() bool { return b.metric("series") == 1 })
	_, vals := ser.Values(math.MaxInt64, nil)
	require.Len(t, vals, 360)
	for i, v := range vals[:358] {
		require.Equal(t, 4.0, v, "backfilled cell %d", i)
	}
	require.Equal(t, []float64{4, 1}, vals[358:], "live cells kept")
	require.Equal(t, 358.0, b.metric("cells"))

	// Live samples for cells the backfill filled are refused, not added.
	require.Error(t, ser.Append(now-10*minute+15000, 1))
}

func TestBackfillNewSeries(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(false)
	fresh := labels.FromStrings("__name__", "sine", "job", "late")
	src.add(fresh, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()

	b := startBackfill(t, newFixture(t, testConfig, now), ts.URL, "")
	waitUntil(t, "start-up queries", func() bool { return b.metric("series") == 1 })

	// A series arrives through remote write after the start: it is read on
	// its own, up to its oldest live cell (read_recent is false).
	src.add(sineA, t0, now, 15000, sine)
	ser := b.feed(sineA, now-5*minute, now, sine)
	waitUntil(t, "the new series backfilled", func() bool { return b.metric("series") == 2 })
	qs := src.queries()
	last := qs[len(qs)-1]
	require.Equal(t, now-5*minute-1, last.EndTimestampMs)
	require.Len(t, last.Matchers, 2, "one equality matcher per label")
	_, vals := ser.Values(math.MaxInt64, nil)
	require.Len(t, vals, 360)
	for i, v := range vals {
		require.False(t, math.IsNaN(v), "cell %d", i)
	}
}

func TestBackfillRetries(t *testing.T) {
	now := t0 + 8*60*minute
	for _, tc := range []struct {
		name     string
		code     int
		fail     int32
		requests int
		series   float64
	}{
		{"5xx is retried with backoff", http.StatusServiceUnavailable, 2, 3, 1},
		{"429 is retried", http.StatusTooManyRequests, 1, 2, 1},
		{"other 4xx is not retried", http.StatusBadRequest, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newTestSource(true)
			src.add(sineA, t0, now, 15000, sine)
			src.failCode = tc.code
			src.fail.Store(tc.fail)
			ts := httptest.NewServer(src)
			defer ts.Close()
			f := newFixture(t, `
global: {step: 1m, window: 6h, min_history: 2h}
forecasts:
  - {name: sine, match: ['sine']}
`, now)
			b := startBackfill(t, f, ts.URL, "")
			waitUntil(t, "requests", func() bool { return len(src.queries()) >= tc.requests })
			waitUntil(t, "failures counted", func() bool { return b.metric("failures") == float64(tc.fail) })
			time.Sleep(100 * time.Millisecond)
			require.Len(t, src.queries(), tc.requests)
			require.Equal(t, tc.series, b.metric("series"))
		})
	}
}

func TestBackfillReadRecentFalse(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(summedA, t0, now, 15000, func(int64) float64 { return 1 })
	ts := httptest.NewServer(src)
	defer ts.Close()

	f := newFixture(t, testConfig, now)
	// Live data with a gap: without read_recent only the cells before the
	// oldest live cell are read, the gap stays.
	ser := f.feed(summedA, now-10*minute, now-5*minute, func(int64) float64 { return 1 })
	require.NoError(t, ser.Append(now-minute, 1))
	b := startBackfill(t, f, ts.URL, "")
	waitUntil(t, "backfill", func() bool { return b.metric("series") == 1 })
	_, vals := ser.Values(math.MaxInt64, nil)
	require.Len(t, vals, 360)
	require.Equal(t, 350.0, b.metric("cells"))
	for i, v := range vals[:350] {
		require.Equal(t, 4.0, v, "cell %d", i)
	}
	require.True(t, math.IsNaN(vals[356]), "the gap in the live data is not read")
}

func TestBackfillOverlappingSelectors(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(sineA, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()
	f := newFixture(t, `
global: {step: 1m, window: 6h, min_history: 2h}
forecasts:
  - {name: sine, match: ['sine', '{job="a"}']}
`, now)
	b := startBackfill(t, f, ts.URL, "")
	waitUntil(t, "backfill", func() bool { return b.metric("series") == 1 })
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, 1.0, b.metric("series"), "filled once")
	require.Equal(t, 360.0, b.metric("cells"))
	require.Len(t, src.queries(), 2, "one request, one query per selector")
	src.mu.Lock()
	require.Len(t, src.requests, 1)
	src.mu.Unlock()
}

func TestBackfillReload(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(sineA, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()
	b := startBackfill(t, newFixture(t, testConfig, now), ts.URL, "")
	waitUntil(t, "backfill", func() bool { return len(src.queries()) == 2 })

	// The same file loaded again: nothing is read again.
	same, err := loadWith(b.yaml + fmt.Sprintf("remote_read:\n  - {url: %s, name: src, min_backoff: 10ms, max_backoff: 20ms}\n", ts.URL))
	require.NoError(t, err)
	require.NoError(t, b.bf.ApplyConfig(same))
	time.Sleep(100 * time.Millisecond)
	require.Len(t, src.queries(), 2)

	// A changed source starts over.
	changed, err := loadWith(b.yaml + fmt.Sprintf("remote_read:\n  - {url: %s, name: src, backfill_history: 1h}\n", ts.URL))
	require.NoError(t, err)
	require.NoError(t, b.bf.ApplyConfig(changed))
	waitUntil(t, "read again", func() bool { return len(src.queries()) == 4 })
	q := src.queries()[3]
	require.Equal(t, int64(60*minute-1), q.EndTimestampMs-q.StartTimestampMs)
}

func TestBackfillSkipsEndedSeries(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	ended := labels.FromStrings("__name__", "sine", "job", "ended")
	src.add(ended, t0, now-10*minute, 15000, sine) // silent for longer than staleness (5m)
	src.add(sineA, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()
	b := startBackfill(t, newFixture(t, testConfig, now), ts.URL, "")
	waitUntil(t, "backfill", func() bool { return b.metric("series") == 1 })
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, 1, b.store.Len())
	require.Nil(t, b.store.Get(ended), "a series that ended is not buffered")
}

func TestBackfillMaxSeries(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	for i := range 5 {
		src.add(labels.FromStrings("__name__", "sine", "i", fmt.Sprint(i)), t0, now, 60000, sine)
	}
	ts := httptest.NewServer(src)
	defer ts.Close()
	f := newFixture(t, testConfig, now)
	f.store.SetMaxSeries(3)
	b := startBackfill(t, f, ts.URL, "")
	waitUntil(t, "backfill", func() bool { return b.metric("series") == 3 && b.metric("failures") == 2 })
	require.Equal(t, 3, f.store.Len())
	require.Len(t, src.queries(), 2, "refused series are not retried")
}

// TestBackfillGapAfterRestore: series restored from a snapshot are read only
// from where they end, and filled there even without read_recent; a series
// the snapshot did not hold is read over its whole window.
func TestBackfillGapAfterRestore(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	fresh := labels.FromStrings("__name__", "sine", "job", "new")
	src.add(sineA, t0, now, 15000, sine)
	src.add(fresh, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()

	f := newFixture(t, testConfig, now)
	restoredEnd := now - 30*minute
	ser := f.feed(sineA, now-6*60*minute, restoredEnd, sine) // as restored from a snapshot
	cfg, err := loadWith(f.yaml + "remote_read: [{url: '" + ts.URL + "', name: src, min_backoff: 10ms, max_backoff: 20ms}]\n")
	require.NoError(t, err)
	require.NoError(t, f.eng.ApplyConfig(cfg))
	bf := NewBackfiller(nil, prometheus.NewPedanticRegistry(), f.store, f.eng, BackfillOptions{Now: f.clock})
	require.NoError(t, bf.ApplyConfig(cfg))
	bf.NoteRestored(f.store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "both series filled", func() bool {
		n := f.store.Get(fresh)
		return n != nil && n.Count(math.MaxInt64) == 360 && ser.Count(math.MaxInt64) == 360
	})
	qs := src.queries()
	var entryQ *prompb.Query // the sine entry's query (the summed entry's runs beside it)
	for _, q := range qs {
		if len(q.Matchers) == 1 && q.Matchers[0].Value == "sine" {
			entryQ = q
		}
	}
	require.NotNil(t, entryQ)
	require.Equal(t, restoredEnd-minute, entryQ.StartTimestampMs, "the entry query reads only the gap since the restored data")
	last := qs[len(qs)-1]
	require.Len(t, last.Matchers, 2, "the series the snapshot did not hold is read on its own")
	require.Equal(t, now-6*60*minute, last.StartTimestampMs, "over its whole window")
	_, vals := ser.Values(math.MaxInt64, nil)
	for i, v := range vals {
		require.InDelta(t, sine(now-6*60*minute+int64(i)*minute+45000), v, 1e-9, "cell %d", i)
	}
}

// TestBackfillLogsProgress: an entry's start-up backfill, long work, says
// when it is done, with what it filled and how long it took.
func TestBackfillLogsProgress(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(sineA, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()

	f := newFixture(t, testConfig, now)
	cfg, err := loadWith(f.yaml + "remote_read: [{url: '" + ts.URL + "', name: src}]\n")
	require.NoError(t, err)
	var logs testlog.Buffer
	bf := NewBackfiller(log.NewLogfmtLogger(&logs), nil, f.store, f.eng, BackfillOptions{Now: f.clock})
	require.NoError(t, bf.ApplyConfig(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the log line", func() bool {
		return strings.Contains(logs.String(), `msg="Backfill done" remote_name=src entry=0 gap_only=false queries=1 series_filled=1 samples=1440`)
	})
	require.Contains(t, logs.String(), "took=")
}

// TestBackfillUnreachableIsQuiet: a source nothing listens on (the default
// configuration without Prometheus) is one info line, however many jobs
// and retries, then debug lines; once it answers, one line says so and the
// history is read.
func TestBackfillUnreachableIsQuiet(t *testing.T) {
	now := t0 + 8*60*minute
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // connection refused from now on

	f := newFixture(t, `
global: {step: 1m, window: 6h, min_history: 2h}
forecasts:
  - {name: sine, match: ['sine']}
  - {name: other, match: ['other']}
`, now)
	cfg, err := loadWith(f.yaml + "remote_read: [{url: 'http://" + addr + "/api/v1/read', name: src, min_backoff: 10ms, max_backoff: 20ms}]\n")
	require.NoError(t, err)
	var logs testlog.Buffer
	reg := prometheus.NewPedanticRegistry()
	bf := NewBackfiller(log.NewLogfmtLogger(&logs), reg, f.store, f.eng, BackfillOptions{Now: f.clock})
	require.NoError(t, bf.ApplyConfig(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	failures := func() float64 { return testutil.ToFloat64(bf.metrics.failures.WithLabelValues("src")) }
	waitUntil(t, "ten failed reads", func() bool { return failures() >= 10 })
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "Backfill source not reachable"), out)
	require.Contains(t, out, `level=info component=backfill msg="Backfill source not reachable; forecasts start after min_history`)
	require.NotContains(t, out, "level=warn")
	require.NotContains(t, out, "level=error")
	require.Contains(t, out, `level=debug component=backfill msg="Backfill source still not reachable, retrying"`)

	// The source comes up on that address: read, and said once.
	src := newTestSource(true)
	src.add(sineA, t0, now, 15000, sine)
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("address %s taken meanwhile: %v", addr, err)
	}
	ts := httptest.NewUnstartedServer(src)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	defer ts.Close()
	waitUntil(t, "the history read", func() bool { return strings.Contains(logs.String(), `msg="Backfill done" remote_name=src entry=0`) })
	waitUntil(t, "both entries read", func() bool { return strings.Contains(logs.String(), `msg="Backfill done" remote_name=src entry=1`) })
	require.Equal(t, 1, strings.Count(logs.String(), "Backfill source reachable again"), logs.String())
}
