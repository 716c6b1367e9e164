package writeback

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/internal/testlog"
)

func TestQueueResponses(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name        string
		retry429    bool
		responses   []response // answers in turn; the last one repeats
		wantReqs    int
		wantDeliver bool
		wantRetried float64
		wantFailed  string // failure reason, "" for none
		minGap      time.Duration
	}{
		{
			name:        "204",
			responses:   []response{{status: 204}},
			wantReqs:    1,
			wantDeliver: true,
		},
		{
			name:        "202 from Mimir",
			responses:   []response{{status: 202}},
			wantReqs:    1,
			wantDeliver: true,
		},
		{
			name:        "500 then 204",
			responses:   []response{{status: 500, body: "try later"}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
		},
		{
			name:        "503 twice then 200",
			responses:   []response{{status: 503}, {status: 503}, {status: 200}},
			wantReqs:    3,
			wantDeliver: true,
			wantRetried: 2 * n,
		},
		{
			name:        "connection closed then 204",
			responses:   []response{{hangUp: true}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
		},
		{
			name:       "404 is not retried",
			responses:  []response{{status: 404, body: "not found"}, {status: 204}},
			wantReqs:   1,
			wantFailed: "http_404",
		},
		{
			name:       "429 without retry_on_http_429",
			responses:  []response{{status: 429, header: map[string]string{"Retry-After": "1"}}, {status: 204}},
			wantReqs:   1,
			wantFailed: "http_429",
		},
		{
			name:        "429 with Retry-After honoured",
			retry429:    true,
			responses:   []response{{status: 429, header: map[string]string{"Retry-After": "1"}}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
			minGap:      time.Second,
		},
		{
			name:        "429 with Retry-After a date in 2100 backs off",
			retry429:    true,
			responses:   []response{{status: 429, header: map[string]string{"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
		},
		{
			name:        "429 with Retry-After over a day in seconds backs off",
			retry429:    true,
			responses:   []response{{status: 429, header: map[string]string{"Retry-After": "2000000000"}}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
		},
		{
			name:        "429 without Retry-After backs off",
			retry429:    true,
			responses:   []response{{status: 429}, {status: 204}},
			wantReqs:    2,
			wantDeliver: true,
			wantRetried: n,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(i int) response {
				return tc.responses[min(i, len(tc.responses)-1)]
			})
			cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
				c.QueueConfig.MaxShards = 1
				c.QueueConfig.RetryOnRateLimit = tc.retry429
			})
			q, _ := newTestQueue(t, cfg, Options{}, true)
			q.Append(samplesOf(0, n, 1000))

			require.Eventually(t, func() bool { return len(rcv.requests()) >= tc.wantReqs }, 5*time.Second, time.Millisecond)
			if tc.wantDeliver {
				require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.samples) == n }, 5*time.Second, time.Millisecond)
			} else {
				require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.failed(tc.wantFailed)) == n }, 5*time.Second, time.Millisecond)
			}
			// Give a wrong retry the time to show up.
			time.Sleep(50 * time.Millisecond)
			q.Stop()

			reqs := rcv.requests()
			require.Len(t, reqs, tc.wantReqs)
			for _, r := range reqs {
				require.Equal(t, n, sampleCount(r), "every attempt carries the whole batch")
			}
			if tc.wantDeliver {
				require.Equal(t, n, rcv.acceptedCount(), "delivered exactly once")
				require.Equal(t, 0.0, testutil.ToFloat64(q.m.failed("http_400")))
			} else {
				require.Zero(t, rcv.acceptedCount())
				require.Equal(t, 0.0, testutil.ToFloat64(q.m.samples))
			}
			require.Equal(t, tc.wantRetried, testutil.ToFloat64(q.m.retried))
			if tc.minGap > 0 {
				require.GreaterOrEqual(t, reqs[1].at.Sub(reqs[0].at), tc.minGap)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 10 ", 10 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"999999999999", 0},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{now.Add(-7 * time.Second).Format(http.TimeFormat), 0},
		// Both forms are capped at a day alike (issue 13: a date in 2100
		// made a target wait 640,599 hours).
		{"86400", 24 * time.Hour},
		{"86401", 0},
		{now.Add(24 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
		{now.Add(24*time.Hour + time.Second).Format(http.TimeFormat), 0},
		{"Fri, 01 Jan 2100 00:00:00 GMT", 0},
		{"Sat, 01 Jan 9999 00:00:00 GMT", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, parseRetryAfter(tc.in, now))
		})
	}
}

func TestFailureReason(t *testing.T) {
	require.Equal(t, "http_404", failureReason(&statusError{code: 404}))
	require.Equal(t, "request", failureReason(recoverableError{err: http.ErrHandlerTimeout}))
	require.True(t, strings.Contains((&statusError{code: 400, status: "400 Bad Request", body: "bad"}).Error(), "bad"))
}

func TestQueueLogsRejectionBody(t *testing.T) {
	long := strings.Repeat("x", 5000)
	rcv := newReceiver(t, func(int) response { return response{status: 400, body: "sample out of bounds " + long} })
	var buf testlog.Buffer
	logger := log.NewLogfmtLogger(&buf)
	q, err := NewQueue(testConfig(t, rcv.srv.URL, nil), logger, nil, Options{})
	require.NoError(t, err)
	q.Start()
	q.Append(samplesOf(0, 2, 1000))
	require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.failed("http_400")) == 2 }, 5*time.Second, time.Millisecond)
	q.Stop()

	var line string
	for l := range strings.SplitSeq(buf.String(), "\n") {
		if strings.Contains(l, "level=warn") && strings.Contains(l, "reason=too_old") {
			line = l
		}
	}
	require.NotEmpty(t, line, "no warning about the rejection in %q", buf.String())
	require.Contains(t, line, "component=writeback")
	require.Contains(t, line, "remote_name=test")
	require.Contains(t, line, "400 Bad Request")
	require.Contains(t, line, "sample out of bounds")
	require.Contains(t, line, strings.Repeat("x", 1024-len("sample out of bounds ")))
	require.NotContains(t, line, strings.Repeat("x", 1024))
}
