package remoteread

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// countingForecaster offers n forecasts of metric "other_forecast" and
// counts how many it handed out; onVisit runs before each.
type countingForecaster struct {
	n       int
	onVisit func(i int)
	mu      sync.Mutex
	calls   int
	visited int
}

func (c *countingForecaster) Forecasts(_ func(labels.Labels) bool, f func(output.Forecast) bool) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	for i := range c.n {
		if c.onVisit != nil {
			c.onVisit(i)
		}
		c.mu.Lock()
		c.visited++
		c.mu.Unlock()
		var fc output.Forecast
		for vt := range fc.Labels {
			fc.Labels[vt] = labels.FromStrings("__name__", "other_forecast", "i", fmt.Sprint(i), "vt", fmt.Sprint(vt))
		}
		fc.Step = minute
		if !f(fc) {
			return
		}
	}
}

func readBody(t *testing.T, queries int, name string) []byte {
	t.Helper()
	req := &prompb.ReadRequest{}
	for range queries {
		req.Queries = append(req.Queries, query(t0, t0+minute, eq("__name__", name)))
	}
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func TestServerQueriesPerRequest(t *testing.T) {
	f := fitted(t)
	for _, tc := range []struct {
		name       string
		maxQueries int
		status     int
		msg        string
	}{
		{"refused above max_queries", 0, http.StatusBadRequest, "more than remote_read_server.max_queries 100"},
		{"cheap when allowed", 20000, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.maxQueries > 0 {
				f.cfg.RemoteReadServer.MaxQueries = tc.maxQueries
			}
			s, ts := f.server(nil)
			start := time.Now()
			resp, err := http.Post(ts.URL, "application/x-protobuf", bytes.NewReader(readBody(t, 20000, "nothing_forecast")))
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			require.Contains(t, string(body), tc.msg)
			if tc.status == http.StatusOK {
				// One pass over the forecasts for the whole request, and
				// each query looks up its name.
				require.Equal(t, 1.0, testutil.ToFloat64(s.indexBuilds))
				require.Less(t, time.Since(start), 5*time.Second)
			}
		})
	}
}

func TestServerIndexByName(t *testing.T) {
	f := newFixture(t, testConfig, t0)
	fc := &countingForecaster{n: 1000}
	s := NewServer(nil, nil, f.store, fc, f.clock)
	require.NoError(t, s.ApplyConfig(f.cfg))
	for range 3 {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 10, "sine_forecast"))))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	require.Equal(t, 1, fc.calls, "three requests of ten queries share one pass over the forecasts")
	require.Equal(t, 1.0, testutil.ToFloat64(s.indexBuilds))

	// A reload and a change of the series set each invalidate it.
	require.NoError(t, s.ApplyConfig(f.cfg))
	f.feed(labels.FromStrings("__name__", "sine"), t0, t0+minute, sine)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 1, "sine_forecast"))))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, 2, fc.calls)
}

func TestServerStopsWhenClientGoes(t *testing.T) {
	f := newFixture(t, testConfig, t0)
	ctx, cancel := context.WithCancel(t.Context())
	fc := &countingForecaster{n: 1_000_000, onVisit: func(i int) {
		if i == 10 {
			cancel()
		}
	}}
	s := NewServer(nil, nil, f.store, fc, f.clock)
	require.NoError(t, s.ApplyConfig(f.cfg))
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 50, "other_forecast")))
	s.ServeHTTP(rec, req)
	require.Equal(t, statusClientClosed, rec.Code)
	require.LessOrEqual(t, fc.visited, 10+ctxCheckEvery+1, "work stops soon after the client goes")
	require.Equal(t, 1.0, testutil.ToFloat64(s.requests.WithLabelValues("499")))

	// A request whose client is already gone does no work at all.
	fc.visited = 0
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 50, "other_forecast"))))
	require.Equal(t, 0, fc.visited)
}

func TestServerConcurrencyGate(t *testing.T) {
	f := newFixture(t, testConfig, t0)
	f.cfg.RemoteReadServer.MaxConcurrentRequests = 1
	inside, release := make(chan struct{}), make(chan struct{})
	fc := &countingForecaster{n: 1, onVisit: func(int) {
		close(inside)
		<-release
	}}
	s := NewServer(nil, nil, f.store, fc, f.clock)
	require.NoError(t, s.ApplyConfig(f.cfg))

	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 1, "x"))))
		done <- rec.Code
	}()
	<-inside

	// The only slot is taken: a second request waits, and is answered 503
	// when its client gives up.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 1, "x"))))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, 1, fc.calls, "the waiting request did no work")

	close(release)
	require.Equal(t, http.StatusOK, <-done)
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(readBody(t, 1, "x"))))
	require.Equal(t, http.StatusOK, rec.Code, "the slot is given back")
}

var _ Forecaster = (*countingForecaster)(nil)
