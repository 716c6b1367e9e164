package receive

import (
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestHandler(t *testing.T) {
	sel := func(kv ...string) []string { return append([]string{"__name__", "sel_a"}, kv...) }
	valid := series(lbls("__name__", "sel_a", "job", "x"), samples(0, 3, 1)...)
	validStored := stored{sel("job", "x"), []float64{1, 2, 3}}
	// invalid pairs valid with an invalid series of 2 samples.
	invalid := func(ls ...prompb.Label) []byte {
		return encode(t, writeReq(valid, series(ls, samples(0, 2, 1)...)))
	}
	validBody := encode(t, writeReq(valid))
	// 100 KiB of zeros compresses to about 5 KiB.
	compressible := snappy.Encode(nil, make([]byte, 100<<10))
	require.Less(t, len(compressible), 8<<10)

	for _, tc := range []struct {
		name      string
		maxSeries int
		maxBytes  int
		router    Router // nameRouter if nil, unless nilRouter.
		nilRouter bool
		pre       [][]byte // Sent first, each must answer 204.
		req       func() *http.Request
		wantCode  int
		wantBody  string
		accepted  float64
		dropped   map[reason]float64
		stored    []stored
		storeLen  int
	}{
		{
			name:     "valid",
			req:      post(validBody),
			wantCode: http.StatusNoContent,
			accepted: 3,
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			name:     "valid without version header",
			req:      withHeader(validBody, "X-Prometheus-Remote-Write-Version", ""),
			wantCode: http.StatusNoContent,
			accepted: 3,
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			// A web page can make a browser POST across origins without
			// asking only with a "simple" content type and no
			// Content-Encoding: both are required.
			name:     "without content type",
			req:      withHeader(validBody, "Content-Type", ""),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: "check content type: none given",
		},
		{
			name:     "a browser's form content type",
			req:      withHeader(validBody, "Content-Type", "text/plain"),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: `"text/plain" is not supported`,
		},
		{
			name:     "valid with 1.0 proto parameter",
			req:      withHeader(validBody, "Content-Type", "application/x-protobuf; proto=prometheus.WriteRequest"),
			wantCode: http.StatusNoContent,
			accepted: 3,
			storeLen: 1,
		},
		{
			name:     "without content encoding",
			req:      withHeader(validBody, "Content-Encoding", ""),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: "check content encoding: none given",
		},
		{
			name: "metadata only",
			req: post(encode(t, &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
				{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "sel_a", Help: "A."},
			}})),
			wantCode: http.StatusNoContent,
		},
		{
			name:     "empty request",
			req:      post(snappy.Encode(nil, nil)),
			wantCode: http.StatusNoContent,
		},
		{
			name:     "zero-length body is not snappy",
			req:      post(nil),
			wantCode: http.StatusBadRequest,
			wantBody: "snappy",
		},
		{
			name: "get",
			req: func() *http.Request {
				r := newPost(nil)
				r.Method = http.MethodGet
				return r
			},
			wantCode: http.StatusMethodNotAllowed,
		},
		{
			name: "nil body",
			req: func() *http.Request {
				r := newPost(nil)
				r.Body = nil
				return r
			},
			wantCode: http.StatusBadRequest,
		},
		{
			name:     "bad snappy",
			req:      post([]byte("\xff\xff\xff\x0fnot snappy")),
			wantCode: http.StatusBadRequest,
			wantBody: "snappy",
		},
		{
			name:     "bad protobuf",
			req:      post(snappy.Encode(nil, []byte("\x0a\xffnot protobuf"))),
			wantCode: http.StatusBadRequest,
			wantBody: "unmarshal",
		},
		{
			name:     "remote-write 2.0 body as 1.0",
			req:      post(encodeV2(t)),
			wantCode: http.StatusBadRequest,
			wantBody: "2.0",
		},
		{
			name:     "encoded body over the limit with content length",
			maxBytes: len(validBody) - 1,
			req:      post(validBody),
			wantCode: http.StatusRequestEntityTooLarge,
			wantBody: "content length",
		},
		{
			name:     "encoded body over the limit without content length",
			maxBytes: len(validBody) - 1,
			req: func() *http.Request {
				r := newPost(validBody)
				r.ContentLength = -1
				return r
			},
			wantCode: http.StatusRequestEntityTooLarge,
			wantBody: "body exceeds",
		},
		{
			name:     "decoded length over the limit",
			maxBytes: 8 << 10,
			req:      post(compressible),
			wantCode: http.StatusRequestEntityTooLarge,
			wantBody: "decoded length 102400",
		},
		{
			name:     "announced decoded length over the limit",
			maxBytes: 8 << 10,
			req:      post([]byte("\x80\x80\x80\x80\x04garbage")), // 1 GiB.
			wantCode: http.StatusRequestEntityTooLarge,
			wantBody: "decoded length 1073741824",
		},
		{
			name:     "wrong content type",
			req:      withHeader(validBody, "Content-Type", "text/plain"),
			wantCode: http.StatusUnsupportedMediaType,
		},
		{
			name:     "malformed content type",
			req:      withHeader(validBody, "Content-Type", "application/x-protobuf; proto"),
			wantCode: http.StatusUnsupportedMediaType,
		},
		{
			name:     "unknown protobuf message",
			req:      withHeader(validBody, "Content-Type", "application/x-protobuf;proto=foo.Bar"),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: "foo.Bar",
		},
		{
			name:     "remote-write 1.0 body as 2.0",
			req:      withHeader(validBody, "Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"),
			wantCode: http.StatusBadRequest,
			wantBody: "1.0 body sent as 2.0",
		},
		{
			name:     "unknown protobuf message",
			req:      withHeader(validBody, "Content-Type", "application/x-protobuf;proto=io.prometheus.write.v3.Request"),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: "io.prometheus.write.v3.Request",
		},
		{
			name:     "wrong content encoding",
			req:      withHeader(validBody, "Content-Encoding", "gzip"),
			wantCode: http.StatusUnsupportedMediaType,
			wantBody: "gzip",
		},
		{
			name:     "unsorted labels are sorted",
			req:      post(encode(t, writeReq(series(lbls("job", "x", "__name__", "sel_a"), samples(0, 3, 1)...)))),
			wantCode: http.StatusNoContent,
			accepted: 3,
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			name:     "unsorted labels with a duplicate",
			req:      post(invalid(lbls("job", "x", "__name__", "sel_b", "job", "y")...)),
			wantBody: `duplicate label name "job"`,
		},
		{
			name:     "duplicate label name",
			req:      post(invalid(lbls("__name__", "sel_b", "job", "x", "job", "y")...)),
			wantBody: `duplicate label name "job"`,
		},
		{
			name:     "empty label name",
			req:      post(invalid(lbls("", "x", "__name__", "sel_b")...)),
			wantBody: "empty label name",
		},
		{
			name:     "invalid UTF-8 label name",
			req:      post(invalid(lbls("__name__", "sel_b", "jo\xffb", "x")...)),
			wantBody: "invalid label name",
		},
		{
			name:     "missing metric name",
			req:      post(invalid(lbls("job", "x")...)),
			wantBody: "no metric name",
		},
		{
			name:     "empty metric name",
			req:      post(invalid(lbls("__name__", "", "job", "x")...)),
			wantBody: "empty metric name",
		},
		{
			name:     "invalid UTF-8 label value",
			req:      post(invalid(lbls("__name__", "sel_b", "job", "\xc3\x28")...)),
			wantBody: "not valid UTF-8",
		},
		{
			name:     "no labels",
			req:      post(invalid()),
			wantBody: "no labels",
		},
		{
			name: "samples out of order",
			req: post(encode(t, writeReq(valid, series(lbls("__name__", "sel_b"),
				prompb.Sample{Timestamp: baseT + 15_000, Value: 1}, prompb.Sample{Timestamp: baseT, Value: 2})))),
			wantBody: "samples out of order",
		},
		{
			name: "duplicate timestamps",
			req: post(encode(t, writeReq(valid, series(lbls("__name__", "sel_b"),
				prompb.Sample{Timestamp: baseT, Value: 1}, prompb.Sample{Timestamp: baseT, Value: 2})))),
			wantBody: "samples out of order",
		},
		{
			name: "unselected",
			req: post(encode(t, writeReq(
				series(lbls("__name__", "other", "job", "x"), samples(0, 4, 1)...), valid))),
			wantCode: http.StatusNoContent,
			accepted: 3,
			dropped:  map[reason]float64{reasonUnselected: 4},
			stored:   []stored{validStored, {[]string{"__name__", "other", "job", "x"}, nil}},
			storeLen: 1,
		},
		{
			name:      "nil router selects nothing",
			nilRouter: true,
			req:       post(validBody),
			wantCode:  http.StatusNoContent,
			dropped:   map[reason]float64{reasonUnselected: 3},
		},
		{
			name:      "max series",
			maxSeries: 1,
			req: post(encode(t, writeReq(valid,
				series(lbls("__name__", "sel_b"), samples(0, 2, 1)...)))),
			wantCode: http.StatusBadRequest,
			wantBody: "refused 2 samples of new series: the store holds limits.max_series series; kept the known ones (3 samples accepted)",
			accepted: 3,
			dropped:  map[reason]float64{reasonMaxSeries: 2},
			stored:   []stored{validStored, {[]string{"__name__", "sel_b"}, nil}},
			storeLen: 1,
		},
		{
			name:     "resent duplicates leave the buffer unchanged",
			pre:      [][]byte{validBody},
			req:      post(encode(t, writeReq(series(valid.Labels, samples(0, 3, 10)...)))),
			wantCode: http.StatusNoContent,
			dropped:  map[reason]float64{reasonDuplicate: 3},
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			name:     "too old",
			pre:      [][]byte{encode(t, writeReq(series(valid.Labels, samples(2*3600_000, 1, 5)...)))},
			req:      post(validBody),
			wantCode: http.StatusNoContent,
			dropped:  map[reason]float64{reasonTooOld: 3},
			stored:   []stored{{sel("job", "x"), []float64{5}}},
			storeLen: 1,
		},
		{
			name: "NaN and stale markers",
			req: post(encode(t, writeReq(series(valid.Labels,
				prompb.Sample{Timestamp: baseT, Value: 1},
				prompb.Sample{Timestamp: baseT + 15_000, Value: math.NaN()},
				prompb.Sample{Timestamp: baseT + 30_000, Value: 3},
				prompb.Sample{Timestamp: baseT + 45_000, Value: math.Float64frombits(value.StaleNaN)},
			)))),
			wantCode: http.StatusNoContent,
			accepted: 2,
			dropped:  map[reason]float64{reasonNaN: 2},
			stored:   []stored{{sel("job", "x"), []float64{1, math.NaN(), 3}}},
			storeLen: 1,
		},
		{
			name: "infinities are gaps",
			req: post(encode(t, writeReq(series(valid.Labels,
				prompb.Sample{Timestamp: baseT, Value: 1},
				prompb.Sample{Timestamp: baseT + 15_000, Value: math.Inf(1)},
				prompb.Sample{Timestamp: baseT + 30_000, Value: math.Inf(-1)},
				prompb.Sample{Timestamp: baseT + 45_000, Value: 4},
			)))),
			wantCode: http.StatusNoContent,
			accepted: 2,
			dropped:  map[reason]float64{reasonInf: 2},
			stored:   []stored{{sel("job", "x"), []float64{1, math.NaN(), math.NaN(), 4}}},
			storeLen: 1,
		},
		{
			name: "only infinities create no series",
			req: post(encode(t, writeReq(series(valid.Labels,
				prompb.Sample{Timestamp: baseT, Value: math.Inf(1)})))),
			wantCode: http.StatusNoContent,
			dropped:  map[reason]float64{reasonInf: 1},
		},
		{
			name: "timestamps out of bounds",
			req: post(encode(t, writeReq(series(valid.Labels,
				prompb.Sample{Timestamp: -15_000, Value: 1},
				prompb.Sample{Timestamp: baseT, Value: 2},
				prompb.Sample{Timestamp: math.MaxInt64, Value: 3},
			)))),
			wantCode: http.StatusNoContent,
			accepted: 1,
			dropped:  map[reason]float64{reasonOutOfBounds: 2},
			stored:   []stored{{sel("job", "x"), []float64{2}}},
			storeLen: 1,
		},
		{
			name: "only stale markers create no series",
			req: post(encode(t, writeReq(series(valid.Labels,
				prompb.Sample{Timestamp: baseT, Value: math.Float64frombits(value.StaleNaN)})))),
			wantCode: http.StatusNoContent,
			dropped:  map[reason]float64{reasonNaN: 1},
		},
		{
			name: "histograms dropped and exemplars ignored",
			req: post(encode(t, writeReq(prompb.TimeSeries{
				Labels:     valid.Labels,
				Samples:    valid.Samples,
				Histograms: []prompb.Histogram{{Timestamp: baseT, Sum: 1}, {Timestamp: baseT + 1, Sum: 2}},
				Exemplars:  []prompb.Exemplar{{Labels: lbls("trace_id", "abc"), Value: 1, Timestamp: baseT}},
			}))),
			wantCode: http.StatusNoContent,
			accepted: 3,
			dropped:  map[reason]float64{reasonHistogram: 2},
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			name: "empty label values are left out",
			req: post(encode(t, writeReq(series(lbls("__name__", "sel_a", "env", "", "job", "x"),
				samples(0, 3, 1)...)))),
			wantCode: http.StatusNoContent,
			accepted: 3,
			stored:   []stored{validStored},
			storeLen: 1,
		},
		{
			name:     "invalid options from the router",
			router:   badRouter{},
			req:      post(validBody),
			wantCode: http.StatusNoContent,
			dropped:  map[reason]float64{reasonError: 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ring.NewStore(tc.maxSeries, nil)
			router := Router(nameRouter{})
			if tc.router != nil || tc.nilRouter {
				router = tc.router
			}
			h := NewHandler(nil, prometheus.NewRegistry(), st, router, tc.maxBytes)
			// The test data is years old: idle series must not be evicted.
			h.Configure(router, Limits{MaxRequestBytes: tc.maxBytes, EvictIdleAfter: -1})
			for _, body := range tc.pre {
				require.Equal(t, http.StatusNoContent, serve(h, newPost(body)).Code)
			}
			preAccepted := testutil.ToFloat64(h.samples)

			w := serve(h, tc.req())

			wantCode := tc.wantCode
			if wantCode == 0 {
				// Invalid series: the valid one is kept, the other counted.
				wantCode = http.StatusBadRequest
				require.Contains(t, w.Body.String(), "rejected 1 of 2 series (2 samples) as invalid, kept the valid ones (3 samples accepted); first: series {")
				tc.accepted = 3
				tc.dropped = map[reason]float64{reasonInvalid: 2}
				tc.stored = []stored{validStored}
				tc.storeLen = 1
			}
			require.Equal(t, wantCode, w.Code, "body: %s", w.Body)
			require.Contains(t, w.Body.String(), tc.wantBody)
			if wantCode == http.StatusMethodNotAllowed {
				require.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
			wantRequests := 1
			if wantCode == http.StatusNoContent {
				wantRequests += len(tc.pre)
			}
			require.Equal(t, float64(wantRequests), testutil.ToFloat64(h.requests.WithLabelValues(fmt.Sprint(wantCode))))
			require.Equal(t, tc.accepted, testutil.ToFloat64(h.samples)-preAccepted)
			for r := range numReasons {
				require.Equal(t, tc.dropped[r], testutil.ToFloat64(h.dropped[r]), "reason %s", r)
			}
			for _, s := range tc.stored {
				got := storedValues(t, st, s.lset...)
				require.Equal(t, fmt.Sprint(s.vals), fmt.Sprint(got), "series %v", s.lset)
			}
			require.Equal(t, tc.storeLen, st.Len())
		})
	}
}
