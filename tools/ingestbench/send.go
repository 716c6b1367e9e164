package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// samplesWrittenHeader is the header a remote-write 2.0 receiver answers
// with the number of samples it stored.
const samplesWrittenHeader = "X-Prometheus-Remote-Write-Samples-Written"

// driveResult is what one receiver did with the whole load.
type driveResult struct {
	samples   int
	wall      time.Duration   // first request sent to last answer read
	latencies []time.Duration // one per request, unsorted
}

// rate is the samples per second of the run.
func (r driveResult) rate() float64 { return float64(r.samples) / r.wall.Seconds() }

// newClient returns an HTTP client that keeps one connection per sender.
func newClient(senders int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = senders
	t.MaxConnsPerHost = senders
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// drive sends every sender's bodies to url, one goroutine per sender, each
// waiting for an answer before its next request. Any answer other than 2xx
// (or, for 2.0, one that does not confirm every sample) stops the run and is
// returned with its body.
func drive(ctx context.Context, client *http.Client, url, protocol string, l *load) (driveResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([][]time.Duration, len(l.perSender))
	var wg sync.WaitGroup
	start := time.Now()
	for i, bodies := range l.perSender {
		lat[i] = make([]time.Duration, 0, len(bodies))
		wg.Go(func() {
			for _, b := range bodies {
				t0 := time.Now()
				if err := post(ctx, client, url, protocol, b); err != nil {
					cancel(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return driveResult{}, err
	}
	return driveResult{samples: l.samples, wall: wall, latencies: slices.Concat(lat...)}, nil
}

// post sends one request and checks its answer.
func post(ctx context.Context, client *http.Client, url, protocol string, b body) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.data))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("User-Agent", "ingestbench")
	if protocol == protocolV2 {
		req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	} else {
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s to a request of %d samples: %q", resp.Status, b.samples, bytes.TrimSpace(text))
	}
	if protocol == protocolV2 {
		h := resp.Header.Get(samplesWrittenHeader)
		n, err := strconv.Atoi(h)
		if err != nil {
			return fmt.Errorf("receiver answered %s without a valid %s header (%q): it does not store remote-write 2.0", resp.Status, samplesWrittenHeader, h)
		}
		if n != b.samples {
			return fmt.Errorf("receiver wrote %d of %d samples (%s)", n, b.samples, samplesWrittenHeader)
		}
	}
	return nil
}

// percentile returns the p-quantile (0 < p <= 1) of sorted by the
// nearest-rank method: the smallest value with at least p of the values at
// or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps 0.99*100 = 99.00000000000001 at rank 99.
	rank := int(math.Ceil(p*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
