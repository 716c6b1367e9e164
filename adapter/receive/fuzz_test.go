package receive

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// fuzzMaxBytes is the request limit of the fuzz targets: small, so that
// the fuzzer reaches it.
const fuzzMaxBytes = 1 << 16

// fuzzSeeds returns encoded requests covering the paths of the handler.
// testdata/fuzz/FuzzDecodeWriteRequest holds the same requests.
func fuzzSeeds(t testing.TB) [][]byte {
	return [][]byte{
		snappy.Encode(nil, nil),
		encode(t, writeReq(
			series(lbls("__name__", "sel_a", "job", "x"), samples(0, 3, 1)...),
			series(lbls("__name__", "ms_b", "instance", "h:9090"),
				prompb.Sample{Timestamp: math.MinInt64, Value: 1},
				prompb.Sample{Timestamp: 0, Value: math.Float64frombits(value.StaleNaN)},
				prompb.Sample{Timestamp: math.MaxInt64, Value: 2}),
			series(lbls("__name__", "ms_c"), prompb.Sample{Timestamp: 0, Value: 1},
				prompb.Sample{Timestamp: baseT, Value: 2}, prompb.Sample{Timestamp: baseT + 1, Value: 3}),
		)),
		encode(t, &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
			{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "sel_a", Help: "A.", Unit: "seconds"},
		}}),
		encode(t, writeReq(
			series(lbls("job", "x", "__name__", "sel_a"), samples(0, 2, 1)...),
			prompb.TimeSeries{
				Labels:     lbls("__name__", "sel_h"),
				Histograms: []prompb.Histogram{{Timestamp: baseT, Sum: 1, PositiveDeltas: []int64{1, 2}}},
				Exemplars:  []prompb.Exemplar{{Labels: lbls("trace_id", "a"), Value: 1}},
			},
		)),
		encodeV2(t),
	}
}

func FuzzDecodeWriteRequest(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeWriteRequest(bytes.NewReader(data), fuzzMaxBytes)
		if err != nil {
			var he *HTTPError
			require.ErrorAs(t, err, &he)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, he.Status)
			if len(data) > fuzzMaxBytes {
				require.Equal(t, http.StatusRequestEntityTooLarge, he.Status)
			}
			return
		}
		require.LessOrEqual(t, len(data), fuzzMaxBytes)

		// What was decoded encodes and decodes to the same request.
		raw, err := proto.Marshal(req)
		require.NoError(t, err)
		again, err := DecodeWriteRequest(bytes.NewReader(snappy.Encode(nil, raw)), 0)
		require.NoError(t, err)
		rawAgain, err := proto.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, raw, rawAgain)
	})
}

// fuzzRouter selects every series: those named ms_* on a 1ms grid, to
// reach the extremes of the ring arithmetic, the others on testOpts.
type fuzzRouter struct{}

func (fuzzRouter) Route(lset labels.Labels) (ring.Options, bool) {
	if strings.HasPrefix(lset.Get(model.MetricNameLabel), "ms_") {
		return ring.Options{Step: time.Millisecond, Window: 100 * time.Millisecond, Aggregate: ring.AggMean}, true
	}
	return testOpts, true
}

func FuzzHandler(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxSeries = 8
		st := ring.NewStore(maxSeries, nil)
		h := NewHandler(nil, nil, st, fuzzRouter{}, fuzzMaxBytes)
		// Tight limits and tenancy, so that fuzzing reaches their checks.
		h.Configure(fuzzRouter{}, Limits{MaxRequestBytes: fuzzMaxBytes, MaxSeriesPerRequest: 16,
			MaxLabelsPerSeries: 8, MaxLabelNameLength: 32, MaxLabelValueLength: 64, TenantHeader: "X-Scope-OrgID"})
		r := newPost(body)
		if len(body)%2 == 0 {
			r.Header.Set("X-Scope-OrgID", "tenant")
		}

		w := serve(h, r)

		require.Contains(t, []int{http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge}, w.Code)
		require.LessOrEqual(t, st.Len(), maxSeries)
		req, err := DecodeWriteRequest(bytes.NewReader(body), fuzzMaxBytes)
		if err != nil {
			require.NotEqual(t, http.StatusNoContent, w.Code)
			return
		}
		if w.Code == http.StatusRequestEntityTooLarge {
			require.Greater(t, len(req.Timeseries), 16, w.Body.String())
			return
		}
		// Every sample of a decoded request is accounted for exactly once,
		// also when it comes again and its series are in the route cache.
		total := 0
		for _, ts := range req.Timeseries {
			total += len(ts.Samples) + len(ts.Histograms)
		}
		require.Equal(t, float64(total), countedSamples(h))
		again := newPost(body)
		again.Header = r.Header
		require.Equal(t, w.Code, serve(h, again).Code)
		require.Equal(t, float64(2*total), countedSamples(h))
	})
}

// countedSamples returns the samples h accepted or dropped.
func countedSamples(h *Handler) float64 {
	counted := testutil.ToFloat64(h.samples)
	for r := range numReasons {
		counted += testutil.ToFloat64(h.dropped[r])
	}
	return counted
}

// FuzzHandlerV2 is FuzzHandler for remote-write 2.0 bodies, checked
// against the generated decoder: a body it refuses is refused, and every
// sample and histogram of one it accepts is accounted for; the written
// headers never claim more than was sent.
func FuzzHandlerV2(f *testing.F) {
	for _, b := range v2Seeds(f) {
		f.Add(snappy.Encode(nil, b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxSeries = 8
		st := ring.NewStore(maxSeries, nil)
		h := NewHandler(nil, nil, st, fuzzRouter{}, fuzzMaxBytes)
		h.Configure(fuzzRouter{}, Limits{MaxRequestBytes: fuzzMaxBytes, MaxSeriesPerRequest: 16,
			MaxLabelsPerSeries: 8, MaxLabelNameLength: 32, MaxLabelValueLength: 64})
		post := func() *http.Request {
			r := newPost(body)
			r.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
			return r
		}
		w := serve(h, post())
		require.Contains(t, []int{http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge}, w.Code)
		require.LessOrEqual(t, st.Len(), maxSeries)
		require.NotEmpty(t, w.Header().Get(writtenSamplesHeader))

		decoded, err := snappy.Decode(nil, body)
		var gen writev2.Request
		if err == nil && len(body) <= fuzzMaxBytes {
			err = gen.Unmarshal(decoded)
		}
		if err != nil {
			require.NotEqual(t, http.StatusNoContent, w.Code)
			return
		}
		if w.Code == http.StatusRequestEntityTooLarge {
			return
		}
		total, exemplars := 0, 0
		for _, ts := range gen.Timeseries {
			total += len(ts.Samples) + len(ts.Histograms)
			exemplars += len(ts.Exemplars)
		}
		if w.Code == http.StatusNoContent || countedSamples(h) > 0 {
			require.Equal(t, float64(total), countedSamples(h))
		}
		n, err := strconv.Atoi(w.Header().Get(writtenSamplesHeader))
		require.NoError(t, err)
		require.LessOrEqual(t, n, total)
		n, err = strconv.Atoi(w.Header().Get(writtenExemplarsHeader))
		require.NoError(t, err)
		require.LessOrEqual(t, n, exemplars)
		require.Equal(t, w.Code, serve(h, post()).Code)
	})
}
