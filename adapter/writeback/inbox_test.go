package writeback

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// newHangingTarget returns the URL of a target that accepts connections
// and never answers, and a counter of the requests it got.
func newHangingTarget(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL, &hits
}

// within fails the test when f does not return within d. f runs in another
// goroutine, so it must not call t.FailNow (no require).
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
	t.Logf("%s took %v", what, time.Since(start))
}

// TestManagerHangingTargetIsolated: a target that never answers delays
// neither the other target, nor Append, nor ApplyConfig, nor Status, and
// Stop ends within the flush deadline, well before its remote_timeout.
// The bounds leave room for a loaded machine: without isolation each of
// these waits for the hanging request's remote_timeout, a minute.
func TestManagerHangingTargetIsolated(t *testing.T) {
	hangURL, hits := newHangingTarget(t)
	good := newReceiver(t, nil)
	const flushDeadline = 300 * time.Millisecond
	m := NewManager(nil, prometheus.NewPedanticRegistry(), Options{FlushDeadline: flushDeadline})
	t.Cleanup(m.Stop)

	cfgs := func() []*config.RemoteWriteConfig {
		return []*config.RemoteWriteConfig{
			testConfig(t, hangURL, func(c *config.RemoteWriteConfig) {
				c.Name = "hang"
				c.RemoteTimeout = model.Duration(time.Minute)
				c.QueueConfig.MaxShards = 1
				c.QueueConfig.Capacity = 10
				c.QueueConfig.MaxSamplesPerSend = 10
			}),
			testConfig(t, good.srv.URL, func(c *config.RemoteWriteConfig) {
				c.Name = "good"
				c.QueueConfig.Capacity = 10000
			}),
		}
	}
	require.NoError(t, m.ApplyConfig(cfgs()))

	// The first batch fills the hanging target's shard and is sent; from
	// then on its queue is full while its target neither accepts nor fails,
	// which made Queue.Append wait, and Manager.Append with it.
	const batches, perBatch = 20, 50
	within(t, 5*time.Second, "Append", func() {
		for k := range batches {
			var batch []Sample
			for i := range perBatch {
				batch = append(batch, Sample{Labels: series(i), T: int64(1000 + k), V: float64(k)})
			}
			m.Append(batch)
		}
	})
	require.True(t, assertEventually(func() bool { return hits.Load() > 0 }, 5*time.Second))
	good.waitAccepted(t, batches*perBatch) // within 5s
	got := good.accepted()
	require.Len(t, got, perBatch)
	for i := range perBatch {
		ss := got[series(i).String()]
		require.Len(t, ss, batches)
		for k, s := range ss {
			require.Equal(t, int64(1000+k), s.Timestamp, "in order")
		}
	}

	var st []TargetStatus
	within(t, 5*time.Second, "Status", func() { st = m.Status() })
	require.Len(t, st, 2)
	require.Equal(t, "hang", st[1].Name)
	require.Positive(t, st[1].Queued)
	var err error
	within(t, 5*time.Second, "ApplyConfig (unchanged)", func() { err = m.ApplyConfig(cfgs()) })
	require.NoError(t, err)
	within(t, 5*time.Second, "Append", func() { m.Append(samplesOf(0, 100, 5000)) })
	good.waitAccepted(t, batches*perBatch+100)
	within(t, flushDeadline+3*time.Second, "Stop", m.Stop)
}

// TestManagerHangingTargetRemoved: removing a hanging target from the
// config returns within its flush deadline.
func TestManagerHangingTargetRemoved(t *testing.T) {
	hangURL, hits := newHangingTarget(t)
	m := NewManager(nil, prometheus.NewPedanticRegistry(), Options{FlushDeadline: 200 * time.Millisecond})
	t.Cleanup(m.Stop)
	require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{testConfig(t, hangURL, func(c *config.RemoteWriteConfig) {
		c.RemoteTimeout = model.Duration(time.Minute)
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.Capacity = 10
		c.QueueConfig.MaxSamplesPerSend = 10
	})}))
	q := queueOf(m, "test")
	for k := range 10 {
		m.Append(samplesOf(0, 10, int64(1000+10*k)))
	}
	require.True(t, assertEventually(func() bool { return hits.Load() > 0 }, 5*time.Second))
	var err error
	within(t, 3*time.Second, "ApplyConfig (target removed)", func() { err = m.ApplyConfig(nil) })
	require.NoError(t, err)
	// Every sample is accounted for: the one batch in flight and whatever
	// was queued or handed over were dropped at shutdown or when full.
	dropped := testutil.ToFloat64(q.m.droppedShutdown) + testutil.ToFloat64(q.m.droppedFull)
	require.Equal(t, 100.0, dropped)
}

func TestInboxBound(t *testing.T) {
	one := sampleBytes(&Sample{Labels: series(0)})
	for _, tc := range []struct {
		name        string
		maxBytes    int64
		capacity    int
		batches     []int // sizes, oldest first
		wantSizes   []int // pending batch sizes afterwards
		wantDropped int
	}{
		{name: "within samples", capacity: 10, batches: []int{4, 6}, wantSizes: []int{4, 6}},
		{name: "oldest batch trimmed", capacity: 10, batches: []int{4, 6, 3}, wantSizes: []int{1, 6, 3}, wantDropped: 3},
		{name: "oldest batches dropped", capacity: 10, batches: []int{4, 6, 8}, wantSizes: []int{2, 8}, wantDropped: 8},
		{name: "newest kept whole", capacity: 10, batches: []int{4, 25}, wantSizes: []int{25}, wantDropped: 4},
		{name: "bytes bound", maxBytes: 10 * one, capacity: 1, batches: []int{4, 6, 3}, wantSizes: []int{1, 6, 3}, wantDropped: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			cfg := testConfig(t, "http://localhost:1", func(c *config.RemoteWriteConfig) {
				c.QueueConfig.Capacity = tc.capacity
				c.QueueConfig.MaxBytes = tc.maxBytes
			})
			q, err := NewQueue(cfg, nil, reg, Options{})
			require.NoError(t, err)
			t.Cleanup(q.Stop)
			// Not started: put only, run is not running.
			b := &inbox{q: q, maxBytes: tc.maxBytes, maxSamples: tc.capacity, done: make(chan struct{})}
			b.cond.L = &b.mu
			for k, n := range tc.batches {
				s := samplesOf(0, n, int64(1000*k))
				b.put(s, batchBytes(s))
			}
			var sizes []int
			total := 0
			for _, p := range b.pending {
				sizes = append(sizes, len(p.samples))
				total += len(p.samples)
				require.Equal(t, batchBytes(p.samples), p.bytes)
			}
			require.Equal(t, tc.wantSizes, sizes)
			require.Equal(t, total, b.len())
			require.Equal(t, float64(tc.wantDropped), testutil.ToFloat64(q.m.droppedFull))
			require.Equal(t, float64(total), testutil.ToFloat64(q.m.queueLength))
			// The newest samples are the ones kept.
			last := b.pending[len(b.pending)-1].samples
			require.Equal(t, int64(1000*(len(tc.batches)-1)+len(last)-1), last[len(last)-1].T)
		})
	}
}
