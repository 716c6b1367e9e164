package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// TestSlowClientsCannotStarveWriters opens more stalled remote-write
// connections than there are decode slots (max_inflight_requests, 64 by
// default): each sends its headers and a little of its body, then stops.
// A healthy writer is still answered at once (stalled bodies hold no slot),
// and --web.read-timeout closes every stalled request with a 408, counted
// in train_prometheus_received_requests_total{code="408"}.
func TestSlowClientsCannotStarveWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("opens real connections and waits for the read timeout; skipped with -short")
	}
	const stalled = 80
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfgFile := filepath.Join(t.TempDir(), "train-prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`
global: {step: 1m, window: 1h}
forecasts:
  - name: a
    match: ['{__name__="slow_test"}']
`), 0o600))
	url := startAdapterFlags(t, addr, cfgFile, func(f *flags) {
		f.readTimeout = 2 * time.Second
		f.maxConnections = 512
	})

	conns := make([]net.Conn, 0, stalled)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range stalled {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = fmt.Fprintf(c, "POST /api/v1/write HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\n"+
			"Content-Encoding: snappy\r\nContent-Length: 100000\r\n\r\nsome bytes", addr)
		require.NoError(t, err)
	}
	time.Sleep(200 * time.Millisecond) // every stalled request is in its handler

	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "slow_test"}},
		Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 1}},
	}}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Less(t, time.Since(start), time.Second, "the healthy writer waited behind stalled ones")

	// The read timeout ends every stalled request with a 408.
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		status, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err, "connection %d", i)
		require.True(t, strings.HasPrefix(status, "HTTP/1.1 408"), "connection %d: %q", i, status)
	}
	require.Equal(t, float64(stalled), adapterMetric(t, url, "train_prometheus_received_requests_total", map[string]string{"code": "408"}))
}
