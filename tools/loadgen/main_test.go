package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// fakeReceiver answers the first request 429 and every later one 204, or
// 400 for the part of a request that holds an invalid series, counting
// what it took as the adapter's /metrics would.
type fakeReceiver struct {
	n                 atomic.Int64
	received, dropped atomic.Int64
	status            int // answer every request with this, if set
}

func (f *fakeReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		fmt.Fprintf(w, "# TYPE train_prometheus_received_samples_total counter\ntrain_prometheus_received_samples_total %d\n", f.received.Load())
		fmt.Fprintf(w, "# TYPE train_prometheus_dropped_samples_total counter\ntrain_prometheus_dropped_samples_total{reason=\"invalid\"} %d\n", f.dropped.Load())
		return
	}
	if f.status != 0 {
		http.Error(w, "no", f.status)
		return
	}
	if f.n.Add(1) == 1 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "overloaded", http.StatusTooManyRequests)
		return
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	invalid := 0
	for _, ts := range req.Timeseries {
		if ts.Labels[0].Name != "__name__" {
			invalid += len(ts.Samples)
			f.dropped.Add(int64(len(ts.Samples)))
		} else {
			f.received.Add(int64(len(ts.Samples)))
		}
	}
	if invalid > 0 {
		http.Error(w, fmt.Sprintf("rejected 1 of %d series (%d samples) as invalid, kept the valid ones", len(req.Timeseries), invalid), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestRunCountsAcceptedRejectedAndRetries(t *testing.T) {
	f := &fakeReceiver{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var out bytes.Buffer
	err := run(options{url: srv.URL + "/api/v1/write", metricsURL: srv.URL + "/metrics", rate: 2000, series: 10,
		perRequest: 100, workers: 2, duration: time.Second, drain: 5 * time.Second, invalidEvery: 3, metric: "m"}, &out)
	require.NoError(t, err, out.String())
	report := out.String()
	require.Contains(t, report, "samples_lost=0")
	require.Contains(t, report, "http_429=1")
	require.Contains(t, report, "adapter_lost=0")
	require.Contains(t, report, fmt.Sprintf("samples_rejected=%d", f.dropped.Load()))
	require.Contains(t, report, fmt.Sprintf("samples_accepted=%d", f.received.Load()))
	require.Positive(t, f.dropped.Load())
}

func TestRunReportsLoss(t *testing.T) {
	srv := httptest.NewServer(&fakeReceiver{status: http.StatusRequestEntityTooLarge})
	defer srv.Close()
	var out bytes.Buffer
	err := run(options{url: srv.URL + "/api/v1/write", rate: 1000, series: 5, perRequest: 100, workers: 1,
		duration: 300 * time.Millisecond, drain: time.Second}, &out)
	require.ErrorContains(t, err, "samples lost")
	require.False(t, strings.Contains(out.String(), "samples_lost=0\n"), out.String())
}
