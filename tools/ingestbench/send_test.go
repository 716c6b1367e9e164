package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 0.5, want: 0},
		{name: "one", sorted: ms(7), p: 0.99, want: 7 * time.Millisecond},
		{name: "median of odd", sorted: ms(1, 2, 3), p: 0.5, want: 2 * time.Millisecond},
		{name: "median of even is the lower middle", sorted: ms(1, 2, 3, 4), p: 0.5, want: 2 * time.Millisecond},
		{name: "p99 of 1..100", sorted: ms(hundred...), p: 0.99, want: 99 * time.Millisecond},
		{name: "p50 of 1..100", sorted: ms(hundred...), p: 0.5, want: 50 * time.Millisecond},
		{name: "max", sorted: ms(hundred...), p: 1, want: 100 * time.Millisecond},
		{name: "tiny p is the minimum", sorted: ms(hundred...), p: 0.0001, want: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, percentile(tc.sorted, tc.p))
		})
	}
}

func TestMedian(t *testing.T) {
	require.Equal(t, 0.0, median(nil))
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestParseOnly(t *testing.T) {
	got, err := parseOnly("")
	require.NoError(t, err)
	require.Equal(t, []string{nameAdapter, namePrometheus, nameVM}, got)
	got, err = parseOnly("vm, adapter")
	require.NoError(t, err)
	require.Equal(t, []string{nameAdapter, nameVM}, got, "trial order, whatever the flag's order")
	_, err = parseOnly("thanos")
	require.ErrorContains(t, err, `unknown receiver "thanos"`)
}

func TestDriveCounts(t *testing.T) {
	l, err := buildLoad(loadSpec{series: 100, rounds: 2, perRequest: 30, senders: 3, protocol: protocolV1, end: time.Now()})
	require.NoError(t, err)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	res, err := drive(context.Background(), newClient(3), srv.URL, protocolV1, l)
	require.NoError(t, err)
	require.Equal(t, 200, res.samples)
	require.Equal(t, int64(l.requests), requests.Load())
	require.Len(t, res.latencies, l.requests)
	require.Positive(t, res.rate())
}

func TestDriveFailsLoudly(t *testing.T) {
	v1, err := buildLoad(loadSpec{series: 100, rounds: 2, perRequest: 30, senders: 2, protocol: protocolV1, end: time.Now()})
	require.NoError(t, err)
	v2, err := buildLoad(loadSpec{series: 100, rounds: 2, perRequest: 30, senders: 2, protocol: protocolV2, end: time.Now()})
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		protocol string
		l        *load
		handler  http.HandlerFunc
		want     string
	}{
		{
			name: "400 with its body", protocol: protocolV1, l: v1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "out of order sample", http.StatusBadRequest)
			},
			want: `400 Bad Request to a request of 30 samples: "out of order sample"`,
		},
		{
			name: "2.0 answered without the written header", protocol: protocolV2, l: v2,
			handler: func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "2.0.0", r.Header.Get("X-Prometheus-Remote-Write-Version"))
				require.Equal(t, "application/x-protobuf;proto=io.prometheus.write.v2.Request", r.Header.Get("Content-Type"))
				w.WriteHeader(http.StatusNoContent)
			},
			want: "without a valid X-Prometheus-Remote-Write-Samples-Written header",
		},
		{
			name: "2.0 with fewer samples written", protocol: protocolV2, l: v2,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(samplesWrittenHeader, strconv.Itoa(3))
				w.WriteHeader(http.StatusNoContent)
			},
			want: "receiver wrote 3 of 30 samples",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := drive(context.Background(), newClient(2), srv.URL, tc.protocol, tc.l)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
