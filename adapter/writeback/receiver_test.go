package writeback

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
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
	// omitWritten leaves out the written-samples header a 2.0 receiver
	// sets on a 2xx by default (to the number of samples received).
	omitWritten bool
}

// request is what the test receiver got.
type request struct {
	at     time.Time
	header http.Header
	series []prompb.TimeSeries // a 2.0 request's too, its symbols resolved
	v2     *writev2.Request    // nil for 1.0
	status int
}

// Content types of remote-write 1.0 and 2.0, spelled out here rather than
// taken from the code under test.
const (
	testContentTypeV1 = "application/x-protobuf"
	testContentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

// receiver is a remote-write 1.0 and 2.0 endpoint that records the
// requests it decodes, telling them apart by content type as Prometheus
// does (other types: 415). respond picks the answer to the n-th request
// (from 0); nil answers 204.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	respond func(n int) response
	// respondTo, when set, picks the answer from the request's series
	// instead of respond.
	respondTo func(series []prompb.TimeSeries) response
	// only1 makes it a 1.0-only receiver that refuses 2.0 with 415.
	only1 bool

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
	rec := request{at: at, header: req.Header.Clone()}
	switch ct := req.Header.Get("Content-Type"); {
	case ct == testContentTypeV1:
		var wr prompb.WriteRequest
		if err := wr.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.series = wr.Timeseries
	case ct == testContentTypeV2 && !r.only1:
		var wr writev2.Request
		if err := wr.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.v2 = &wr
		b := labels.NewScratchBuilder(0)
		for _, ts := range wr.Timeseries {
			ls, err := ts.ToLabels(&b, wr.Symbols)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			pts := prompb.TimeSeries{Labels: prompb.FromLabels(ls, nil)}
			for _, smp := range ts.Samples {
				pts.Samples = append(pts.Samples, prompb.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
			}
			rec.series = append(rec.series, pts)
		}
	default:
		r.mu.Lock()
		rec.status = http.StatusUnsupportedMediaType
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
		http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
		return
	}

	r.mu.Lock()
	resp := response{status: http.StatusNoContent}
	if r.respond != nil {
		resp = r.respond(len(r.reqs))
	}
	if r.respondTo != nil {
		resp = r.respondTo(rec.series)
	}
	rec.status = resp.status
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	if rec.v2 != nil && resp.status/100 == 2 && !resp.omitWritten {
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(sampleCount(rec)))
		w.Header().Set("X-Prometheus-Remote-Write-Histograms-Written", "0")
		w.Header().Set("X-Prometheus-Remote-Write-Exemplars-Written", "0")
	}

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
