package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// writeHistory remote-writes the modelled series from `from` up to (not
// including) `to`, one sample per interval, into Prometheus at promURL,
// labelled as the scrapes of the demo target at instance will be, so that
// the history and the live samples are one series. Prometheus 2.42 on an
// empty TSDB accepts days of in-order history for new series in one request.
func writeHistory(ctx context.Context, client *http.Client, promURL, instance string, s *synth, from, to time.Time, interval time.Duration) (int, error) {
	// One request: Prometheus refuses samples more than an hour older than
	// its newest as out of bounds, and the first request of an empty TSDB
	// is checked against no newest sample.
	var req prompb.WriteRequest
	total := 0
	for _, m := range modelled {
		ts := prompb.TimeSeries{Labels: []prompb.Label{ // sorted by name
			{Name: "__name__", Value: m},
			{Name: "instance", Value: instance},
			{Name: "job", Value: jobName},
		}}
		for t := from; t.Before(to); t = t.Add(interval) {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t.UnixMilli(), Value: s.value(m, t)})
		}
		req.Timeseries = append(req.Timeseries, ts)
		total += len(ts.Samples)
	}
	raw, err := req.Marshal()
	if err != nil {
		return 0, fmt.Errorf("encode history: %w", err)
	}
	if err := post(ctx, client, promURL+"/api/v1/write", snappy.Encode(nil, raw)); err != nil {
		return 0, fmt.Errorf("write history: %w", err)
	}
	return total, nil
}

// post sends one remote-write 1.0 request.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "train-prometheus-demo")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
