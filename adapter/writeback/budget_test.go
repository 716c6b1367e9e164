package writeback

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/internal/testlog"
)

// waitFailing waits until shard 0 of q has seen the target fail.
func waitFailing(t *testing.T, q *Queue) {
	t.Helper()
	require.True(t, assertEventually(func() bool {
		q.shards[0].mu.Lock()
		defer q.shards[0].mu.Unlock()
		return q.shards[0].failing
	}, 5*time.Second))
}

// queuedTimes returns the timestamps waiting in shard 0, oldest first.
func queuedTimes(q *Queue) []int64 {
	s := q.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []int64
	for i := range s.n {
		ts = append(ts, s.buf[(s.head+i)%len(s.buf)].T)
	}
	return ts
}

// TestQueueByteBudget: while the target is down the queue holds at most
// max_bytes, dropping the oldest samples first.
func TestQueueByteBudget(t *testing.T) {
	rcv := newReceiver(t, func(int) response { return response{status: http.StatusServiceUnavailable} })
	one := sampleBytes(&Sample{Labels: series(0)})
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.Capacity = 1000
		c.QueueConfig.MaxSamplesPerSend = 5
		c.QueueConfig.MaxBytes = 10 * one
	})
	q, _ := newTestQueue(t, cfg, Options{FlushDeadline: 50 * time.Millisecond}, true)
	q.Append(samplesOf(0, 5, 1000)) // the first batch: its send fails
	waitFailing(t, q)

	q.Append(samplesOf(0, 100, 2000))
	require.Equal(t, []int64{2090, 2091, 2092, 2093, 2094, 2095, 2096, 2097, 2098, 2099}, queuedTimes(q), "the newest that fit the budget")
	require.Equal(t, 90.0, testutil.ToFloat64(q.m.droppedFull))
	q.shards[0].mu.Lock()
	require.Equal(t, 10*one, q.shards[0].bytes)
	q.shards[0].mu.Unlock()
	require.Equal(t, 10.0, testutil.ToFloat64(q.m.queueLength))
}

// TestQueueMaxSampleAge: samples that outlive max_sample_age while the
// target is down are dropped and counted, and the queue goes on with the
// fresh ones once the target is back.
func TestQueueMaxSampleAge(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	rcv := newReceiver(t, func(int) response {
		if down.Load() {
			return response{status: http.StatusServiceUnavailable}
		}
		return response{status: http.StatusNoContent}
	})
	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.MaxSamplesPerSend = 10
		c.QueueConfig.MaxSampleAge = model.Duration(time.Minute)
	})
	q, _ := newTestQueue(t, cfg, Options{Now: now, FlushDeadline: 50 * time.Millisecond}, true)
	t0 := now().UnixMilli()
	q.Append(samplesOf(0, 10, t0-10_000)) // the batch being retried
	waitFailing(t, q)
	q.Append(samplesOf(0, 5, t0)) // queued behind it

	clock.Add(int64(2 * time.Minute)) // everything is now too old
	require.True(t, assertEventually(func() bool { return testutil.ToFloat64(q.m.droppedAge) == 10 }, 5*time.Second),
		"the retried batch is dropped once too old: %v", testutil.ToFloat64(q.m.droppedAge))
	fresh := now().UnixMilli()
	q.Append(samplesOf(0, 5, fresh))
	down.Store(false)
	rcv.waitAccepted(t, 5)
	require.Equal(t, 15.0, testutil.ToFloat64(q.m.droppedAge))
	for _, s := range rcv.accepted()[series(0).String()] {
		require.GreaterOrEqual(t, s.Timestamp, fresh)
	}
}

// TestQueueRejectionDoesNotBlock: a batch the target refuses with 400
// because of one sample (as Prometheus refuses a whole request for one
// sample out of order) is halved until the bad sample is alone: it alone is
// dropped and counted, the others are delivered in order, and the next
// batches go through.
func TestQueueRejectionDoesNotBlock(t *testing.T) {
	const bad = 1005
	rcv := newReceiver(t, nil)
	rcv.respondTo = func(series []prompb.TimeSeries) response {
		for _, ts := range series {
			for _, s := range ts.Samples {
				if s.Timestamp == bad {
					return response{status: http.StatusBadRequest, body: "out of order sample"}
				}
			}
		}
		return response{status: http.StatusNoContent}
	}
	cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.MaxSamplesPerSend = 10
	})
	q, _ := newTestQueue(t, cfg, Options{}, true)
	q.Append(samplesOf(0, 10, 1000))
	rcv.waitAccepted(t, 9)
	require.Equal(t, 1.0, testutil.ToFloat64(q.m.failed("http_400")), "only the bad sample is lost")
	require.Positive(t, testutil.ToFloat64(q.m.split))
	q.Append(samplesOf(0, 10, 2000))
	rcv.waitAccepted(t, 19)
	var got []int64
	for _, s := range rcv.accepted()[series(0).String()] {
		got = append(got, s.Timestamp)
	}
	want := []int64{1000, 1001, 1002, 1003, 1004, 1006, 1007, 1008, 1009}
	for i := range 10 {
		want = append(want, int64(2000+i))
	}
	require.Equal(t, want, got, "in order, without the bad sample")

	// A batch with a bad sample in every piece is halved at most
	// maxSplitDepth times.
	rcv2 := newReceiver(t, func(int) response { return response{status: http.StatusBadRequest, body: "out of bounds"} })
	cfg2 := testConfig(t, rcv2.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.MaxSamplesPerSend = 100
	})
	q2, _ := newTestQueue(t, cfg2, Options{}, true)
	q2.Append(samplesOf(0, 100, 1000))
	require.True(t, assertEventually(func() bool { return testutil.ToFloat64(q2.m.failed("http_400")) == 100 }, 5*time.Second))
	require.Len(t, rcv2.requests(), 1<<(maxSplitDepth+1)-1, "one request, then two per split")
}

func TestRejectLogOncePerInterval(t *testing.T) {
	var buf testlog.Buffer
	r := newRejectLog(log.NewLogfmtLogger(&buf), time.Minute)
	t0 := time.Unix(1000, 0)
	err := &statusError{code: 400, status: "400 Bad Request", body: "out of order sample"}
	require.True(t, r.record("out_of_order", 5, err, t0))
	require.False(t, r.record("out_of_order", 7, err, t0.Add(30*time.Second)))
	require.True(t, r.record("too_old", 1, err, t0.Add(30*time.Second)), "another kind is logged on its own")
	require.False(t, r.record("out_of_order", 3, err, t0.Add(50*time.Second)))
	require.True(t, r.record("out_of_order", 1, err, t0.Add(61*time.Second)))
	require.Contains(t, buf.String(), "reason=out_of_order samples=11 batches=3", "the counts since the last line")
}

func TestRejectKind(t *testing.T) {
	for body, want := range map[string]string{
		"out of order sample":      "out_of_order",
		"out of bounds":            "too_old",
		"sample timestamp too old": "too_old",
		"received a sample whose timestamp is too far in the future": "too_far_in_future",
		"duplicate sample for timestamp":                             "duplicate",
		"something else":                                             "http_400",
	} {
		require.Equal(t, want, rejectKind(&statusError{code: 400, body: body}), body)
	}
	require.Equal(t, "request", rejectKind(errors.New("x")))
}
