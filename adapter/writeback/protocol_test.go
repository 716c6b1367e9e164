package writeback

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/internal/testlog"
)

// v2Config returns a test config for u that sends remote-write 2.0.
func v2Config(t *testing.T, u string, mod func(*config.RemoteWriteConfig)) *config.RemoteWriteConfig {
	return testConfig(t, u, func(c *config.RemoteWriteConfig) {
		c.ProtobufMessage = config.ProtobufMessageV2
		if mod != nil {
			mod(c)
		}
	})
}

func TestQueueSendsV2(t *testing.T) {
	rcv := newReceiver(t, nil)
	q, reg := newTestQueue(t, v2Config(t, rcv.srv.URL, nil), Options{}, true)
	var batch []Sample
	for i := range 3 {
		batch = append(batch, samplesOf(i, 4, 1000)...)
	}
	q.Append(batch)
	rcv.waitAccepted(t, len(batch))
	require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.samples) == float64(len(batch)) }, 5*time.Second, time.Millisecond)

	for _, req := range rcv.requests() {
		require.Equal(t, testContentTypeV2, req.header.Get("Content-Type"))
		require.Equal(t, "2.0.0", req.header.Get("X-Prometheus-Remote-Write-Version"))
		require.Equal(t, "snappy", req.header.Get("Content-Encoding"))
		require.NotNil(t, req.v2, "decoded as io.prometheus.write.v2.Request")
		for _, s := range resolveV2(t, *req.v2) {
			require.Equal(t, writev2.Metadata_METRIC_TYPE_GAUGE, s.typ)
			require.Equal(t, v2Help, s.help)
		}
	}
	got := rcv.accepted()
	require.Len(t, got, 3)
	for i := range 3 {
		ss := got[series(i).String()]
		require.Len(t, ss, 4)
		for k, s := range ss {
			require.Equal(t, int64(1000+k), s.Timestamp)
			require.Equal(t, float64(k), s.Value)
		}
	}
	require.Equal(t, 0, testutil.CollectAndCount(q.m.parent.failedTotal), "nothing failed")
	require.Zero(t, testutil.ToFloat64(q.m.protocolFallbacks))
	st := q.status()
	require.Equal(t, config.ProtobufMessageV2, st.ProtobufMessage)
	require.False(t, st.FellBack)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestQueueV2FallsBackOn415: a target that refuses 2.0 with 415 gets every
// sample as 1.0, the refused batches included; the fallback is logged and
// counted once although both shards hit the 415.
func TestQueueV2FallsBackOn415(t *testing.T) {
	rcv := newReceiver(t, nil)
	rcv.only1 = true
	var buf testlog.Buffer
	cfg := v2Config(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 2
		c.QueueConfig.MaxSamplesPerSend = 10
	})
	q, err := NewQueue(cfg, log.NewLogfmtLogger(&buf), prometheus.NewPedanticRegistry(), Options{})
	require.NoError(t, err)
	t.Cleanup(q.Stop)
	var batch []Sample
	for i := range 8 {
		batch = append(batch, samplesOf(i, 20, 1000)...)
	}
	q.Append(batch) // before Start: every shard starts with a full 2.0 batch
	q.Start()
	rcv.waitAccepted(t, len(batch))
	require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.samples) == float64(len(batch)) }, 5*time.Second, time.Millisecond)

	got := rcv.accepted()
	require.Len(t, got, 8)
	for i := range 8 {
		ss := got[series(i).String()]
		require.Len(t, ss, 20, "series %d: every sample once", i)
		for k, s := range ss {
			require.Equal(t, int64(1000+k), s.Timestamp, "in order")
		}
	}
	refused := 0
	for _, req := range rcv.requests() {
		if req.status == http.StatusUnsupportedMediaType {
			refused++
			require.Equal(t, testContentTypeV2, req.header.Get("Content-Type"))
			continue
		}
		require.Equal(t, testContentTypeV1, req.header.Get("Content-Type"))
		require.Equal(t, "0.1.0", req.header.Get("X-Prometheus-Remote-Write-Version"))
	}
	require.GreaterOrEqual(t, refused, 1)
	require.LessOrEqual(t, refused, 2, "at most one refused 2.0 batch per shard")
	require.Equal(t, 1.0, testutil.ToFloat64(q.m.protocolFallbacks))
	require.Zero(t, testutil.ToFloat64(q.m.retried), "the resend as 1.0 is not a retry")
	require.Equal(t, 0, testutil.CollectAndCount(q.m.parent.failedTotal), "nothing failed")
	require.Equal(t, 1, strings.Count(buf.String(), "refused remote-write 2.0"), buf.String())
	st := q.status()
	require.Equal(t, config.ProtobufMessageV1, st.ProtobufMessage)
	require.True(t, st.FellBack)

	// Later batches go as 1.0 straight away.
	before := len(rcv.requests())
	q.Append(samplesOf(0, 10, 5000))
	rcv.waitAccepted(t, len(batch)+10)
	for _, req := range rcv.requests()[before:] {
		require.Equal(t, http.StatusNoContent, req.status)
	}
}

// TestManagerReloadTriesV2Again: the fallback lasts until the next config
// reload, which keeps the queue but tries 2.0 again.
func TestManagerReloadTriesV2Again(t *testing.T) {
	rcv := newReceiver(t, nil)
	rcv.only1 = true
	m := NewManager(nil, prometheus.NewPedanticRegistry(), Options{})
	t.Cleanup(m.Stop)
	cfg := func() []*config.RemoteWriteConfig { return []*config.RemoteWriteConfig{v2Config(t, rcv.srv.URL, nil)} }
	require.NoError(t, m.ApplyConfig(cfg()))
	q := queueOf(m, "test")
	m.Append(samplesOf(0, 5, 1000))
	rcv.waitAccepted(t, 5)
	require.Equal(t, 1.0, testutil.ToFloat64(q.m.protocolFallbacks))
	require.True(t, m.Status()[0].FellBack)

	require.NoError(t, m.ApplyConfig(cfg()))
	require.Same(t, q, queueOf(m, "test"), "unchanged config keeps the queue")
	require.False(t, m.Status()[0].FellBack)
	require.Equal(t, config.ProtobufMessageV2, m.Status()[0].ProtobufMessage)
	m.Append(samplesOf(0, 5, 2000))
	rcv.waitAccepted(t, 10)
	require.Equal(t, 2.0, testutil.ToFloat64(q.m.protocolFallbacks), "2.0 tried again, refused again")
}

// TestQueueV2WrittenHeader: a 2xx to a 2.0 request is checked against
// X-Prometheus-Remote-Write-Samples-Written as Prometheus 3 does: without
// it (or with 0) nothing counts as written, with fewer the rest counts as
// failed; neither is retried.
func TestQueueV2WrittenHeader(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name        string
		resp        response
		wantWritten float64
		wantKind    string
	}{
		{name: "header missing", resp: response{status: 204, omitWritten: true}, wantKind: "reason=not_written"},
		{name: "200 without header", resp: response{status: 200, omitWritten: true}, wantKind: "reason=not_written"},
		{name: "zero written", resp: response{status: 204, header: map[string]string{"X-Prometheus-Remote-Write-Samples-Written": "0"}}, wantKind: "reason=not_written"},
		{name: "unparsable", resp: response{status: 204, header: map[string]string{"X-Prometheus-Remote-Write-Samples-Written": "many"}}, wantKind: "reason=not_written"},
		{name: "fewer written", resp: response{status: 204, header: map[string]string{"X-Prometheus-Remote-Write-Samples-Written": "3"}}, wantWritten: 3, wantKind: "reason=partially_written"},
		{name: "all written", resp: response{status: 204}, wantWritten: n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(int) response { return tc.resp })
			var buf testlog.Buffer
			q, err := NewQueue(v2Config(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) { c.QueueConfig.MaxShards = 1 }),
				log.NewLogfmtLogger(&buf), nil, Options{})
			require.NoError(t, err)
			q.Start()
			q.Append(samplesOf(0, n, 1000))
			require.Eventually(t, func() bool {
				return testutil.ToFloat64(q.m.samples)+testutil.ToFloat64(q.m.failed(reasonNotWritten)) == n
			}, 5*time.Second, time.Millisecond)
			time.Sleep(50 * time.Millisecond) // give a wrong retry the time to show up
			require.Equal(t, tc.wantWritten, testutil.ToFloat64(q.m.samples))
			require.Equal(t, n-tc.wantWritten, testutil.ToFloat64(q.m.failed(reasonNotWritten)))
			q.Stop() // deletes the failure counter's label values

			require.Len(t, rcv.requests(), 1, "not retried")
			require.Zero(t, testutil.ToFloat64(q.m.retried))
			if tc.wantKind == "" {
				require.NotContains(t, buf.String(), "level=warn")
				return
			}
			require.Contains(t, buf.String(), tc.wantKind)
			require.Contains(t, buf.String(), "X-Prometheus-Remote-Write-Samples-Written")
		})
	}
}

// TestQueueV1IgnoresWrittenHeader: a 1.0 request is written when answered
// 2xx, headers or not (the 1.0 spec defines none).
func TestQueueV1IgnoresWrittenHeader(t *testing.T) {
	rcv := newReceiver(t, nil)
	q, _ := newTestQueue(t, testConfig(t, rcv.srv.URL, nil), Options{}, true)
	q.Append(samplesOf(0, 5, 1000))
	rcv.waitAccepted(t, 5)
	require.Eventually(t, func() bool { return testutil.ToFloat64(q.m.samples) == 5 }, 5*time.Second, time.Millisecond)
	require.Equal(t, testContentTypeV1, rcv.requests()[0].header.Get("Content-Type"))
	require.Equal(t, "0.1.0", rcv.requests()[0].header.Get("X-Prometheus-Remote-Write-Version"))
	require.Equal(t, config.ProtobufMessageV1, q.status().ProtobufMessage)
}

func TestWrittenV2(t *testing.T) {
	for _, tc := range []struct {
		name    string
		header  map[string]string
		sent    int
		want    int
		wantErr bool
	}{
		{name: "none", sent: 5, wantErr: true},
		{name: "all", header: map[string]string{writtenSamplesHeader: "5"}, sent: 5, want: 5},
		{name: "more than sent", header: map[string]string{writtenSamplesHeader: "9"}, sent: 5, want: 5},
		{name: "negative", header: map[string]string{writtenSamplesHeader: "-1"}, sent: 5, wantErr: true},
		{name: "only exemplars", header: map[string]string{writtenExemplarsHeader: "2"}, sent: 5, want: 0},
		{name: "nothing sent", sent: 0, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{Status: "204 No Content", Header: http.Header{}}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			got, err := writtenV2(resp, tc.sent)
			if tc.wantErr {
				require.ErrorContains(t, err, "assuming nothing was written")
				require.Equal(t, reasonNotWritten, failureReason(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestV2SeriesMatchInput checks a 2.0 request end to end against the input
// labels, tenant split included.
func TestV2SeriesMatchInput(t *testing.T) {
	rcv := newReceiver(t, nil)
	q, _ := newTestQueue(t, v2Config(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) { c.QueueConfig.MaxShards = 1 }), Options{}, true)
	withTenant := labels.FromStrings("__name__", "x_forecast", config.TenantLabel, "team-a", "value_type", "yhat")
	q.Append([]Sample{{Labels: withTenant, T: 1000, V: 1.5}})
	rcv.waitAccepted(t, 1)
	req := rcv.requests()[0]
	require.Equal(t, "team-a", req.header.Get("X-Scope-OrgID"))
	got := resolveV2(t, *req.v2)
	require.Len(t, got, 1)
	require.Equal(t, labels.FromStrings("__name__", "x_forecast", "value_type", "yhat"), got[0].labels, "the tenant label is not sent")
	require.Equal(t, []writev2.Sample{{Timestamp: 1000, Value: 1.5}}, got[0].samples)
	for _, sym := range req.v2.Symbols {
		require.NotEqual(t, "team-a", sym)
	}
}
