package writeback

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// newTestQueue returns a started queue and its registry; Stop is cleanup.
func newTestQueue(t *testing.T, cfg *config.RemoteWriteConfig, opts Options, start bool) (*Queue, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	q, err := NewQueue(cfg, nil, reg, opts)
	require.NoError(t, err)
	t.Cleanup(q.Stop)
	if start {
		q.Start()
	}
	return q, reg
}

func TestQueueDeliversEverySampleOnceInOrder(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rcv := newReceiver(t, nil)
			cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
				c.QueueConfig.MaxShards = shards
				c.QueueConfig.MaxSamplesPerSend = 37
				c.QueueConfig.Capacity = 10000
			})
			q, reg := newTestQueue(t, cfg, Options{}, true)

			const nSeries, perSeries = 50, 20
			for k := range perSeries {
				var batch []Sample
				for i := range nSeries {
					batch = append(batch, Sample{Labels: series(i), T: int64(1000 + k), V: float64(k)})
				}
				q.Append(batch)
			}
			rcv.waitAccepted(t, nSeries*perSeries)

			got := rcv.accepted()
			require.Len(t, got, nSeries)
			for i := range nSeries {
				ss := got[series(i).String()]
				require.Len(t, ss, perSeries, "series %d", i)
				for k, s := range ss {
					require.Equal(t, int64(1000+k), s.Timestamp, "series %d sample %d", i, k)
					require.Equal(t, float64(k), s.Value)
				}
			}
			for _, req := range rcv.requests() {
				require.LessOrEqual(t, sampleCount(req), 37)
				seen := map[string]bool{}
				for _, ts := range req.series {
					ls := labelsOf(ts)
					require.False(t, seen[ls.String()], "series repeated within one request")
					seen[ls.String()] = true
					require.True(t, slices.IsSortedFunc(ts.Labels, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) }))
				}
			}

			// The receiver records a request before the sender reads the answer.
			require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.samples) == nSeries*perSeries },
				5*time.Second, time.Millisecond)
			require.Equal(t, 0.0, testutil.ToFloat64(q.m.queueLength))
			require.Equal(t, 0.0, testutil.ToFloat64(q.m.droppedFull))
			require.Positive(t, testutil.ToFloat64(q.m.lastSuccess))
			require.Positive(t, testutil.ToFloat64(q.m.sentBytes))
			problems, err := testutil.GatherAndLint(reg)
			require.NoError(t, err)
			require.Empty(t, problems)
		})
	}
}

func TestQueueBatching(t *testing.T) {
	t.Run("by size", func(t *testing.T) {
		rcv := newReceiver(t, nil)
		cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
			c.QueueConfig.MaxShards = 1
			c.QueueConfig.MaxSamplesPerSend = 10
			c.QueueConfig.BatchSendDeadline = model.Duration(time.Hour)
		})
		q, _ := newTestQueue(t, cfg, Options{}, true)
		q.Append(samplesOf(0, 35, 1000))
		rcv.waitAccepted(t, 30)
		time.Sleep(50 * time.Millisecond)
		reqs := rcv.requests()
		require.Len(t, reqs, 3, "the last 5 samples must wait for a full batch or the deadline")
		for _, r := range reqs {
			require.Equal(t, 10, sampleCount(r))
		}
		require.Equal(t, 5, q.Len())
	})
	t.Run("by deadline", func(t *testing.T) {
		rcv := newReceiver(t, nil)
		const deadline = 60 * time.Millisecond
		cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
			c.QueueConfig.MaxShards = 1
			c.QueueConfig.MaxSamplesPerSend = 1000
			c.QueueConfig.BatchSendDeadline = model.Duration(deadline)
		})
		q, _ := newTestQueue(t, cfg, Options{}, true)
		start := time.Now()
		q.Append(samplesOf(0, 3, 1000))
		q.Append(samplesOf(1, 2, 1000))
		rcv.waitAccepted(t, 5)
		reqs := rcv.requests()
		require.Len(t, reqs, 1)
		require.Equal(t, 5, sampleCount(reqs[0]))
		require.Len(t, reqs[0].series, 2)
		require.GreaterOrEqual(t, reqs[0].at.Sub(start), deadline)
	})
}

func TestQueueHeaders(t *testing.T) {
	rcv := newReceiver(t, nil)
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		// Validate rejects the reserved ones; the sender must still win.
		c.Headers = map[string]string{
			"Content-Type":                      "text/plain",
			"content-encoding":                  "gzip",
			"X-Prometheus-Remote-Write-Version": "2.0.0",
			"User-Agent":                        "someone-else",
			"X-Scope-OrgID":                     "tenant-1",
			"THANOS-TENANT":                     "tenant-2",
		}
	})
	q, _ := newTestQueue(t, cfg, Options{UserAgent: "train-prometheus/1.2.3"}, true)
	q.Append(samplesOf(0, 1, 1000))
	rcv.waitAccepted(t, 1)
	h := rcv.requests()[0].header

	for name, want := range map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "train-prometheus/1.2.3",
		"X-Scope-Orgid":                     "tenant-1",
		"Thanos-Tenant":                     "tenant-2",
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, []string{want}, h.Values(name))
		})
	}
}

func TestQueueDropsOldestWhenFull(t *testing.T) {
	rcv := newReceiver(t, nil)
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.Capacity = 10
	})
	q, _ := newTestQueue(t, cfg, Options{}, false)

	q.Append(samplesOf(0, 15, 1000))
	require.Equal(t, 10, q.Len())
	require.Equal(t, 5.0, testutil.ToFloat64(q.m.droppedFull))
	require.Equal(t, 10.0, testutil.ToFloat64(q.m.queueLength))

	q.Start()
	rcv.waitAccepted(t, 10)
	got := rcv.accepted()[series(0).String()]
	require.Len(t, got, 10)
	for k, s := range got {
		require.Equal(t, int64(1005+k), s.Timestamp, "the newest samples are kept")
	}
	require.Equal(t, 0.0, testutil.ToFloat64(q.m.queueLength))
}

func TestQueueDropsFutureSamples(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	rcv := newReceiver(t, nil)
	cfg := testConfig(t, rcv.srv.URL, nil)
	q, _ := newTestQueue(t, cfg, Options{Now: func() time.Time { return now }, MaxFuture: time.Minute}, true)

	limit := now.Add(time.Minute).UnixMilli()
	q.Append([]Sample{
		{Labels: series(0), T: now.UnixMilli(), V: 1},
		{Labels: series(0), T: limit, V: 2},
		{Labels: series(0), T: limit + 1, V: 3},
		{Labels: series(1), T: now.Add(time.Hour).UnixMilli(), V: 4},
	})
	rcv.waitAccepted(t, 2)
	q.Stop()

	require.Equal(t, 2.0, testutil.ToFloat64(q.m.droppedFuture))
	got := rcv.accepted()
	require.Len(t, got, 1)
	require.Len(t, got[series(0).String()], 2)
	require.Equal(t, limit, got[series(0).String()][1].Timestamp)
}

func TestQueueStop(t *testing.T) {
	t.Run("flushes what is queued", func(t *testing.T) {
		rcv := newReceiver(t, nil)
		cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
			c.QueueConfig.BatchSendDeadline = model.Duration(time.Hour)
			c.QueueConfig.MaxSamplesPerSend = 1000
		})
		q, reg := newTestQueue(t, cfg, Options{}, true)
		for i := range 10 {
			q.Append(samplesOf(i, 3, 1000))
		}
		require.Empty(t, rcv.requests())

		q.Stop()
		require.Equal(t, 30, rcv.acceptedCount())
		require.Equal(t, 30.0, testutil.ToFloat64(q.m.samples))
		require.Equal(t, 0.0, testutil.ToFloat64(q.m.droppedShutdown))

		// Label values are gone, a second Stop is harmless and Append
		// does nothing.
		n, err := testutil.GatherAndCount(reg)
		require.NoError(t, err)
		require.Zero(t, n)
		q.Stop()
		q.Append(samplesOf(0, 1, 2000))
		require.Zero(t, q.Len())
		require.Equal(t, 30, rcv.acceptedCount())
	})
	t.Run("gives up at the flush deadline", func(t *testing.T) {
		rcv := newReceiver(t, func(int) response { return response{status: 503} })
		cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
			c.QueueConfig.MaxShards = 1
			c.QueueConfig.MaxSamplesPerSend = 4
		})
		const flush = 100 * time.Millisecond
		q, _ := newTestQueue(t, cfg, Options{FlushDeadline: flush}, true)
		q.Append(samplesOf(0, 10, 1000))
		require.Eventually(t, func() bool { return len(rcv.requests()) > 0 }, 5*time.Second, time.Millisecond)

		start := time.Now()
		q.Stop()
		elapsed := time.Since(start)
		require.Less(t, elapsed, flush+time.Second)
		require.Equal(t, 10.0, testutil.ToFloat64(q.m.droppedShutdown), "the batch being retried and the rest")
		require.Zero(t, q.Len())
		require.Zero(t, rcv.acceptedCount())
	})
	t.Run("before start", func(t *testing.T) {
		rcv := newReceiver(t, nil)
		q, _ := newTestQueue(t, testConfig(t, rcv.srv.URL, nil), Options{}, false)
		q.Append(samplesOf(0, 3, 1000))
		q.Stop()
		q.Start()
		require.Equal(t, 3.0, testutil.ToFloat64(q.m.droppedShutdown))
		require.Empty(t, rcv.requests())
	})
}

func TestNewQueueRejectsBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*config.RemoteWriteConfig){
		"no name":      func(c *config.RemoteWriteConfig) { c.Name = "" },
		"no url":       func(c *config.RemoteWriteConfig) { c.URL = nil },
		"no timeout":   func(c *config.RemoteWriteConfig) { c.RemoteTimeout = 0 },
		"no shards":    func(c *config.RemoteWriteConfig) { c.QueueConfig.MaxShards = 0 },
		"bad tls file": func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.TLSConfig.CAFile = "/nonexistent/ca.pem" },
	} {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			_, err := NewQueue(testConfig(t, "http://127.0.0.1:1/write", mod), nil, reg, Options{})
			require.Error(t, err)
		})
	}
}

func sampleCount(r request) int {
	n := 0
	for _, ts := range r.series {
		n += len(ts.Samples)
	}
	return n
}

// TestQueueBackpressure checks that a working but slower target makes
// Append wait instead of dropping: a burst many times the capacity is
// delivered whole.
func TestQueueBackpressure(t *testing.T) {
	rcv := newReceiver(t, func(int) response {
		time.Sleep(5 * time.Millisecond)
		return response{status: http.StatusNoContent}
	})
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 2
		c.QueueConfig.Capacity = 20
		c.QueueConfig.MaxSamplesPerSend = 10
	})
	q, _ := newTestQueue(t, cfg, Options{}, true)
	var burst []Sample
	for i := range 4 {
		burst = append(burst, samplesOf(i, 100, 1000)...)
	}
	q.Append(burst)
	rcv.waitAccepted(t, len(burst))
	require.Zero(t, testutil.ToFloat64(q.m.droppedFull))
	for i := range 4 {
		got := rcv.accepted()[series(i).String()]
		require.Len(t, got, 100)
		for k, s := range got {
			require.Equal(t, int64(1000+k), s.Timestamp, "in order")
		}
	}
}

// TestQueueDropsWhileTargetFails checks that a failing target never blocks
// Append: past the capacity the oldest samples are dropped at once.
func TestQueueDropsWhileTargetFails(t *testing.T) {
	rcv := newReceiver(t, func(int) response { return response{status: http.StatusServiceUnavailable} })
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.Capacity = 20
		c.QueueConfig.MaxSamplesPerSend = 10
	})
	q, _ := newTestQueue(t, cfg, Options{FlushDeadline: 50 * time.Millisecond}, true)
	q.Append(samplesOf(0, 10, 1000)) // the first batch: its send fails
	require.True(t, assertEventually(func() bool { return len(rcv.requests()) > 0 }, 5*time.Second))
	require.True(t, assertEventually(func() bool {
		q.shards[0].mu.Lock()
		defer q.shards[0].mu.Unlock()
		return q.shards[0].failing
	}, 5*time.Second))

	done := make(chan struct{})
	go func() {
		q.Append(samplesOf(0, 1000, 2000))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Append blocked while the target fails")
	}
	require.Equal(t, 20, q.Len(), "the queue holds its capacity")
	require.GreaterOrEqual(t, testutil.ToFloat64(q.m.droppedFull), 980.0)
}

// TestQueueStopReleasesWaitingAppend checks that Stop never deadlocks with
// an Append waiting for room.
func TestQueueStopReleasesWaitingAppend(t *testing.T) {
	// A target that accepts the connection and never answers.
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.Capacity = 10
		c.QueueConfig.MaxSamplesPerSend = 10
		c.RemoteTimeout = model.Duration(time.Minute)
	})
	q, _ := newTestQueue(t, cfg, Options{FlushDeadline: 50 * time.Millisecond}, true)
	done := make(chan struct{})
	go func() {
		q.Append(samplesOf(0, 100, 1000)) // waits for room: the target hangs
		close(done)
	}()
	require.True(t, assertEventually(func() bool { return hits.Load() > 0 }, 5*time.Second))
	stopped := make(chan struct{})
	go func() {
		q.Stop()
		close(stopped)
	}()
	for _, ch := range []chan struct{}{done, stopped} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("Stop and a waiting Append deadlocked")
		}
	}
}
