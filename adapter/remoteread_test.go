package adapter

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/adapter/shard"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// TestAdapterBackfillsFromAdapter wires two adapters together: the first
// receives three hours of history by remote write and serves its buffers
// over remote read (serve_raw); the second starts empty, backfills from it
// in its Run and fits right away.
func TestAdapterBackfillsFromAdapter(t *testing.T) {
	src := applied(t, baseConfig+"remote_read_server: {serve_raw: true}\n", Options{})
	now := time.Now().Truncate(time.Minute)
	var samples []prompb.Sample
	for ts := now.Add(-3 * time.Hour); ts.Before(now); ts = ts.Add(time.Minute) {
		samples = append(samples, prompb.Sample{Timestamp: ts.UnixMilli(), Value: 10 + math.Sin(float64(ts.Unix())/600)})
	}
	body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: promLabels("__name__", "sine", "job", "a"), Samples: samples}}})
	require.Equal(t, http.StatusNoContent, src.do(t, http.MethodPost, "/api/v1/write", body, writeHeader()).Code)
	srv := httptest.NewServer(src.h)
	defer srv.Close()

	dst := applied(t, baseConfig+"remote_read: [{url: '"+srv.URL+"/api/v1/read'}]\n", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dst.a.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	deadline := time.Now().Add(10 * time.Second)
	fits := 0
	for fits == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		dst.a.Engine().Forecasts(nil, func(output.Forecast) bool { fits++; return true })
	}
	require.Equal(t, 2, fits, "both models fitted on backfilled history, without waiting for min_history")
	ser := dst.a.Store().Get(labels.FromStrings("__name__", "sine", "job", "a"))
	require.NotNil(t, ser)
	require.GreaterOrEqual(t, ser.Count(math.MaxInt64), 179)
	problems, err := testutil.GatherAndLint(dst.reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	// The remote-read route answers malformed requests with 400.
	rec := dst.do(t, http.MethodPost, "/api/v1/read", []byte("not snappy"), nil)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
}

// TestShardedAdapterBackfillsOwnedSeriesOnly checks that a sharded replica
// backfills only the series it owns: the selectors match every series, the
// shard keeps its share.
func TestShardedAdapterBackfillsOwnedSeriesOnly(t *testing.T) {
	src := applied(t, baseConfig+"remote_read_server: {serve_raw: true}\n", Options{})
	now := time.Now().Truncate(time.Minute)
	var series []prompb.TimeSeries
	const n = 20
	for i := range n {
		var samples []prompb.Sample
		for ts := now.Add(-time.Hour); ts.Before(now); ts = ts.Add(time.Minute) {
			samples = append(samples, prompb.Sample{Timestamp: ts.UnixMilli(), Value: float64(i)})
		}
		series = append(series, prompb.TimeSeries{Labels: promLabels("__name__", "sine", "job", fmt.Sprintf("j%02d", i)), Samples: samples})
	}
	body := encodeWrite(t, &prompb.WriteRequest{Timeseries: series})
	require.Equal(t, http.StatusNoContent, src.do(t, http.MethodPost, "/api/v1/write", body, writeHeader()).Code)
	srv := httptest.NewServer(src.h)
	defer srv.Close()

	sh, err := shard.New(0, 2, nil, "")
	require.NoError(t, err)
	dst := applied(t, baseConfig+"remote_read: [{url: '"+srv.URL+"/api/v1/read'}]\n", Options{Shard: sh})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dst.a.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	owned := 0
	for _, ts := range series {
		if sh.Owns(labelsFromProto(ts.Labels)) {
			owned++
		}
	}
	require.Greater(t, owned, 0)
	require.Less(t, owned, n)
	require.Eventually(t, func() bool { return dst.a.Store().Len() == owned }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // nothing more arrives
	require.Equal(t, owned, dst.a.Store().Len())
	dst.a.Store().Range(func(ser *ring.Series) bool {
		require.True(t, sh.Owns(ser.Labels()), "%s is not owned by shard 0", ser.Labels())
		return true
	})
}

func labelsFromProto(ls []prompb.Label) labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}
