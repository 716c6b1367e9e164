package receive

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// baseT is a grid-aligned timestamp (ms) the test samples start at.
const baseT = int64(1_700_000_000_000) / 15_000 * 15_000

// testOpts are the ring options the test routers give: 15s steps over 1h.
var testOpts = ring.Options{Step: 15 * time.Second, Window: time.Hour, Aggregate: ring.AggLast}

// nameRouter selects the series whose metric name starts with "sel_".
type nameRouter struct{}

func (nameRouter) Route(lset labels.Labels) (ring.Options, bool) {
	return testOpts, strings.HasPrefix(lset.Get(model.MetricNameLabel), "sel_")
}

// allRouter selects every series.
type allRouter struct{}

func (allRouter) Route(labels.Labels) (ring.Options, bool) { return testOpts, true }

// encode marshals req and snappy-encodes it, as a remote-write sender does.
func encode(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// lbls returns prompb labels from name/value pairs, in the given order.
func lbls(kv ...string) []prompb.Label {
	ls := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

// samples returns n samples 15s apart from baseT+offset ms with values
// first, first+1, ...
func samples(offset int64, n int, first float64) []prompb.Sample {
	ss := make([]prompb.Sample, n)
	for i := range ss {
		ss[i] = prompb.Sample{Timestamp: baseT + offset + int64(i)*15_000, Value: first + float64(i)}
	}
	return ss
}

// series returns a time series with the given labels and samples.
func series(ls []prompb.Label, ss ...prompb.Sample) prompb.TimeSeries {
	return prompb.TimeSeries{Labels: ls, Samples: ss}
}

// writeReq returns a request holding the series.
func writeReq(ts ...prompb.TimeSeries) *prompb.WriteRequest {
	return &prompb.WriteRequest{Timeseries: ts}
}

// newPost returns a remote-write 1.0 POST of body with the headers a
// Prometheus sender sets.
func newPost(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	return r
}

// post returns a function making newPost(body).
func post(body []byte) func() *http.Request {
	return func() *http.Request { return newPost(body) }
}

// withHeader returns a function making newPost(body) with header k set to
// v, or removed if v is empty.
func withHeader(body []byte, k, v string) func() *http.Request {
	return func() *http.Request {
		r := newPost(body)
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
		return r
	}
}

// serve sends r to h and returns the recorded response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// stored is a series expected in the store: vals nil means absent.
type stored struct {
	lset []string
	vals []float64
}

// storedValues returns the buffered values of the series with the labels
// kv, or nil if the store does not hold it.
func storedValues(t testing.TB, st *ring.Store, kv ...string) []float64 {
	t.Helper()
	ser := st.Get(labels.FromStrings(kv...))
	if ser == nil {
		return nil
	}
	_, vals := ser.Values(math.MaxInt64, nil)
	return vals
}

// benchLabels returns a realistic label set of six labels for series i.
func benchLabels(i int) []prompb.Label {
	return lbls(
		"__name__", "sel_http_requests_total",
		"code", []string{"200", "404", "500"}[i%3],
		"handler", "/api/v1/query_range/"+string(rune('a'+i%26)),
		"instance", "10.0.0."+string(rune('0'+i/26%10))+":9090",
		"job", "prometheus",
		"method", []string{"get", "post"}[i/260%2],
	)
}

// badRouter selects every series with options the store refuses.
type badRouter struct{}

func (badRouter) Route(labels.Labels) (ring.Options, bool) { return ring.Options{}, true }

// encodeV2 returns a snappy-encoded remote-write 2.0 request of one series.
func encodeV2(t testing.TB) []byte {
	t.Helper()
	b, err := proto.Marshal(&writev2.Request{
		Symbols: []string{"", "__name__", "sel_a"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2},
			Samples:    []writev2.Sample{{Value: 1, Timestamp: baseT}},
		}},
	})
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}
