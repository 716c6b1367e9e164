package receive

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// newPostV2 returns a remote-write 2.0 POST of req as Prometheus 3 sends it.
func newPostV2(t testing.TB, req *writev2.Request) *http.Request {
	t.Helper()
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	r := newPost(snappy.Encode(nil, b))
	r.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	r.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	return r
}

// written returns the three written headers of a 2.0 answer.
func written(h http.Header) [3]string {
	return [3]string{h.Get(writtenSamplesHeader), h.Get(writtenHistogramsHeader), h.Get(writtenExemplarsHeader)}
}

func TestHandlerV2(t *testing.T) {
	symbols := []string{"", "__name__", "sel_a", "job", "x", "sel_h", "trace_id", "abc", "help", "instance", "other_metric"}
	counter := writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 8}
	good := writev2.TimeSeries{
		LabelsRefs: []uint32{1, 2, 3, 4},
		Samples:    []writev2.Sample{{Value: 1, Timestamp: baseT}, {Value: 2, Timestamp: baseT + 15_000}},
		Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{6, 7}, Value: 1, Timestamp: baseT}},
		Metadata:   counter,
	}
	hist := writev2.TimeSeries{
		LabelsRefs: []uint32{1, 5},
		Histograms: []writev2.Histogram{{Count: &writev2.Histogram_CountInt{CountInt: 2}, Sum: 3, Timestamp: baseT}},
		Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM},
	}
	unselected := writev2.TimeSeries{LabelsRefs: []uint32{1, 10}, Samples: []writev2.Sample{{Value: 5, Timestamp: baseT}}}
	selA := labels.FromStrings("__name__", "sel_a", "job", "x")

	for _, tc := range []struct {
		name     string
		req      *writev2.Request
		wantCode int
		wantBody string
		written  [3]string
		stored   []float64 // of sel_a{job="x"}
		typ      ring.MetricType
	}{
		{
			name:     "samples, histograms and exemplars",
			req:      &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{good, hist, unselected}},
			wantCode: http.StatusNoContent,
			written:  [3]string{"3", "1", "1"},
			stored:   []float64{1, 2},
			typ:      ring.TypeCounter,
		},
		{
			name: "unsorted label references are sorted",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{{
				LabelsRefs: []uint32{3, 4, 1, 2}, Samples: good.Samples,
			}}},
			wantCode: http.StatusNoContent,
			written:  [3]string{"2", "0", "0"},
			stored:   []float64{1, 2},
			typ:      ring.TypeCounter, // by its name? no: sel_a has no suffix
		},
		{
			name: "reference out of range: 400 naming the series, the valid one kept",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{
				{LabelsRefs: []uint32{1, 99}, Samples: good.Samples}, good,
			}},
			wantCode: http.StatusBadRequest,
			wantBody: "rejected 1 of 2 series (2 samples) as invalid, kept the valid ones (2 samples accepted); first: series {}: label reference 99 out of the 11 symbols",
			written:  [3]string{"2", "0", "1"},
			stored:   []float64{1, 2},
			typ:      ring.TypeCounter,
		},
		{
			name: "odd number of references",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{
				{LabelsRefs: []uint32{1, 2, 3}, Samples: good.Samples},
			}},
			wantCode: http.StatusBadRequest,
			wantBody: "odd number",
			written:  [3]string{"0", "0", "0"},
		},
		{
			name: "samples and histograms in one series",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{
				{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: good.Samples, Histograms: hist.Histograms},
			}},
			wantCode: http.StatusBadRequest,
			wantBody: `series {"__name__"="sel_a", "job"="x"}: series has both float samples and native histograms`,
			written:  [3]string{"0", "0", "0"},
		},
		{
			name: "series without samples or histograms (exemplars only)",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{
				{LabelsRefs: []uint32{1, 2, 3, 4}, Exemplars: good.Exemplars},
			}},
			wantCode: http.StatusBadRequest,
			wantBody: "neither float samples nor native histograms",
			written:  [3]string{"0", "0", "0"},
		},
		{
			name: "help reference out of range",
			req: &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{
				{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: good.Samples, Metadata: writev2.Metadata{HelpRef: 50}},
			}},
			wantCode: http.StatusBadRequest,
			wantBody: "metadata reference 50 out of the 11 symbols",
			written:  [3]string{"0", "0", "0"},
		},
		{
			name:     "symbols not starting with the empty string",
			req:      &writev2.Request{Symbols: symbols[1:], Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{0, 1}, Samples: good.Samples}}},
			wantCode: http.StatusBadRequest,
			wantBody: "symbols[0] must be the empty string",
			written:  [3]string{"0", "0", "0"},
		},
		{
			name:     "duplicate label name",
			req:      &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 3, 4, 3, 7}, Samples: good.Samples}}},
			wantCode: http.StatusBadRequest,
			wantBody: `duplicate label name "job"`,
			written:  [3]string{"0", "0", "0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ring.NewStore(0, nil)
			h := NewHandler(nil, prometheus.NewPedanticRegistry(), st, nameRouter{}, 0)
			w := serve(h, newPostV2(t, tc.req))
			require.Equal(t, tc.wantCode, w.Code, "body: %s", w.Body)
			require.Contains(t, w.Body.String(), tc.wantBody)
			require.Equal(t, tc.written, written(w.Header()))
			require.Equal(t, 1.0, testutil.ToFloat64(h.versions[1]))
			require.Zero(t, testutil.ToFloat64(h.versions[0]))
			require.Equal(t, tc.stored, storedValues(t, st, "__name__", "sel_a", "job", "x"))
			if ser := st.Get(selA); ser != nil && tc.name != "unsorted label references are sorted" {
				typ, src := ser.Type()
				require.Equal(t, tc.typ, typ)
				require.Equal(t, "series", src)
			}
		})
	}
}

// TestHandlerV2WrittenHeadersOnRefusal: a 2.0 request refused before it is
// decoded still gets the written headers (all zero).
func TestHandlerV2WrittenHeadersOnRefusal(t *testing.T) {
	h := NewHandler(nil, nil, ring.NewStore(0, nil), nameRouter{}, 16)
	w := serve(h, newPostV2(t, &writev2.Request{Symbols: []string{"", "__name__", "sel_a_long_enough_to_be_over_the_limit"}}))
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	require.Equal(t, [3]string{"0", "0", "0"}, written(w.Header()))

	// A 1.0 answer has none.
	w = serve(h, newPost(encode(t, writeReq())))
	require.Equal(t, [3]string{"", "", ""}, written(w.Header()))
}

// TestHandlerMetadataV1: the metric types of a 1.0 metadata request are kept
// per family and resolve the type of the family's series, the _total series
// of an OpenMetrics family included.
func TestHandlerMetadataV1(t *testing.T) {
	st := ring.NewStore(0, nil)
	reg := prometheus.NewPedanticRegistry()
	h := NewHandler(nil, reg, st, nameRouter{}, 0)
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(
		series(lbls("__name__", "sel_queue"), samples(0, 1, 1)...),
		series(lbls("__name__", "sel_requests_total"), samples(0, 1, 1)...),
	)))).Code)
	queue := st.Get(labels.FromStrings("__name__", "sel_queue"))
	reqs := st.Get(labels.FromStrings("__name__", "sel_requests_total"))
	typ, src := queue.Type()
	require.Equal(t, ring.TypeUnknown, typ)
	require.Empty(t, src)
	typ, src = reqs.Type()
	require.Equal(t, ring.TypeCounter, typ)
	require.Equal(t, "name", src)

	md := &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "sel_queue", Help: "Queue length."},
		{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "sel_requests", Help: "Requests."},
	}}
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, md))).Code)
	typ, src = queue.Type()
	require.Equal(t, ring.TypeGauge, typ)
	require.Equal(t, "family", src)
	typ, src = reqs.Type()
	require.Equal(t, ring.TypeCounter, typ)
	require.Equal(t, "family", src)
	require.Equal(t, 2.0, testutil.ToFloat64(h.metadata))

	// The family name was copied: the pooled buffer it came from is reused
	// by the next request without changing it.
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(
		series(lbls("__name__", "sel_xxxxx"), samples(0, 1, 1)...),
	)))).Code)
	typ, ok := st.FamilyType("sel_queue")
	require.True(t, ok)
	require.Equal(t, ring.TypeGauge, typ)
}

// TestRouteCacheReload: a configuration change starts a new route cache, so
// a series cached as unselected is selected after a reload that selects it.
func TestRouteCacheReload(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, nil, st, nameRouter{}, 0)
	body := func(i int) []byte {
		return encode(t, writeReq(series(lbls("__name__", "other", "job", "x"), samples(int64(i)*15_000, 1, float64(i))...)))
	}
	require.Equal(t, http.StatusNoContent, serve(h, newPost(body(0))).Code)
	require.Equal(t, 0, st.Len())
	require.Equal(t, 1.0, testutil.ToFloat64(h.dropped[reasonUnselected]))

	h.Configure(allRouter{}, Limits{})
	require.Equal(t, http.StatusNoContent, serve(h, newPost(body(1))).Code)
	require.Equal(t, []float64{1}, storedValues(t, st, "__name__", "other", "job", "x"))
}

// TestRouteCacheTenants: the same label bytes from two tenants are two
// series, each cached under its tenant.
func TestRouteCacheTenants(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, nil, st, allRouter{}, 0)
	h.Configure(allRouter{}, Limits{TenantHeader: "X-Scope-OrgID"})
	for i, tenant := range []string{"a", "b", "a", "b"} {
		r := newPost(encode(t, writeReq(series(lbls("__name__", "m"), samples(int64(i)*15_000, 1, float64(i))...))))
		r.Header.Set("X-Scope-OrgID", tenant)
		require.Equal(t, http.StatusNoContent, serve(h, r).Code)
	}
	// One sample every other step: a gap (NaN) between the two.
	require.Equal(t, "[0 NaN 2]", fmt.Sprint(storedValues(t, st, "__name__", "m", "__tenant__", "a")))
	require.Equal(t, "[1 NaN 3]", fmt.Sprint(storedValues(t, st, "__name__", "m", "__tenant__", "b")))
}
