package writeback

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// response is what the test receiver answers to one request.
type response struct {
	status int
	header map[string]string
	body   string
	hangUp bool // close the connection without answering
}

// request is what the test receiver got.
type request struct {
	at     time.Time
	header http.Header
	series []prompb.TimeSeries
	status int
}

// receiver is a remote-write 1.0 endpoint that records the requests it
// decodes. respond picks the answer to the n-th request (from 0); nil
// answers 204.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	respond func(n int) response
	// respondTo, when set, picks the answer from the request's series
	// instead of respond.
	respondTo func(series []prompb.TimeSeries) response

	mu   sync.Mutex
	reqs []request
}

func newReceiver(t testing.TB, respond func(n int) response) *receiver {
	r := &receiver{t: t, respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	r.mu.Lock()
	resp := response{status: http.StatusNoContent}
	if r.respond != nil {
		resp = r.respond(len(r.reqs))
	}
	if r.respondTo != nil {
		resp = r.respondTo(wr.Timeseries)
	}
	r.reqs = append(r.reqs, request{at: at, header: req.Header.Clone(), series: wr.Timeseries, status: resp.status})
	r.mu.Unlock()

	if resp.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

// requests returns a copy of what was received so far.
func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// accepted returns the samples of accepted requests, by series, in the
// order they arrived.
func (r *receiver) accepted() map[string][]prompb.Sample {
	out := map[string][]prompb.Sample{}
	for _, req := range r.requests() {
		if req.status/100 != 2 {
			continue
		}
		for _, ts := range req.series {
			k := labelsOf(ts).String()
			out[k] = append(out[k], ts.Samples...)
		}
	}
	return out
}

// acceptedCount returns how many samples were accepted.
func (r *receiver) acceptedCount() int {
	n := 0
	for _, ss := range r.accepted() {
		n += len(ss)
	}
	return n
}

// waitAccepted waits until n samples were accepted.
func (r *receiver) waitAccepted(t testing.TB, n int) {
	t.Helper()
	if !assertEventually(func() bool { return r.acceptedCount() >= n }, 5*time.Second) {
		statuses := map[int]int{}
		for _, req := range r.requests() {
			statuses[req.status]++
		}
		t.Fatalf("waited for %d samples, got %d; requests by status: %v", n, r.acceptedCount(), statuses)
	}
}

func labelsOf(ts prompb.TimeSeries) labels.Labels {
	b := labels.NewScratchBuilder(len(ts.Labels))
	return ts.ToLabels(&b, nil)
}

// testConfig returns a target config for u with small queues and short
// waits; mod may change it.
func testConfig(t testing.TB, u string, mod func(*config.RemoteWriteConfig)) *config.RemoteWriteConfig {
	t.Helper()
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	cfg := &config.RemoteWriteConfig{
		URL:              &commonconfig.URL{URL: parsed},
		Name:             "test",
		RemoteTimeout:    model.Duration(2 * time.Second),
		HTTPClientConfig: commonconfig.DefaultHTTPClientConfig,
		QueueConfig: config.QueueConfig{
			Capacity:          1000,
			MaxSamplesPerSend: 100,
			BatchSendDeadline: model.Duration(20 * time.Millisecond),
			MinBackoff:        model.Duration(5 * time.Millisecond),
			MaxBackoff:        model.Duration(20 * time.Millisecond),
			MaxShards:         2,
		},
	}
	if mod != nil {
		mod(cfg)
	}
	return cfg
}

// series returns the labels of test series i.
func series(i int) labels.Labels {
	return labels.FromStrings("__name__", "forecast", "horizon", "1h", "series", string(rune('a'+i%26))+string(rune('a'+i/26%26)))
}

// samplesOf returns n samples of series i at times start, start+1, ….
func samplesOf(i, n int, start int64) []Sample {
	out := make([]Sample, n)
	for k := range out {
		out[k] = Sample{Labels: series(i), T: start + int64(k), V: float64(k)}
	}
	return out
}

// assertEventually polls cond until it holds or timeout passes.
func assertEventually(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cond()
}
