package receive_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/receive"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// The shape Prometheus' queue manager sends: one sample per TimeSeries (the
// full label set repeated for every sample), max_samples_per_send 2000.
const (
	realSeries     = 20_000 // distinct series, sent in rounds
	realPerRequest = 2_000
	realRounds     = 8 // scrapes of every series the benchmark cycles through
)

// realLabels returns the label set of series i: eight labels, as a
// node-exporter or HTTP-server series carries them.
func realLabels(name string, i int) []prompb.Label {
	return []prompb.Label{
		{Name: "__name__", Value: name},
		{Name: "code", Value: []string{"200", "404", "500", "503"}[i%4]},
		{Name: "handler", Value: fmt.Sprintf("/api/v1/resource/%d", i/4%250)},
		{Name: "instance", Value: fmt.Sprintf("10.1.%d.%d:9100", i/1000%250, i/20%50)},
		{Name: "job", Value: "api-server"},
		{Name: "method", Value: []string{"GET", "POST", "PUT", "DELETE", "PATCH"}[i/1000%5]},
		{Name: "namespace", Value: "production"},
		{Name: "pod", Value: fmt.Sprintf("api-server-7d9f8b6c5-%05d", i/20)},
	}
}

// realBodies returns the snappy-encoded requests of realRounds scrapes of
// realSeries series, 15 s apart, realPerRequest samples per request.
func realBodies(b *testing.B, name string, start int64) [][]byte {
	var bodies [][]byte
	for r := range realRounds {
		for lo := 0; lo < realSeries; lo += realPerRequest {
			req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, realPerRequest)}
			for i := lo; i < lo+realPerRequest; i++ {
				req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
					Labels:  realLabels(name, i),
					Samples: []prompb.Sample{{Timestamp: start + int64(r)*15_000 + int64(i%1000), Value: float64(r*i%977) + 0.5}},
				})
			}
			raw, err := proto.Marshal(req)
			require.NoError(b, err)
			bodies = append(bodies, snappy.Encode(nil, raw))
		}
	}
	return bodies
}

// realBodiesV2 is realBodies in remote-write 2.0, as Prometheus 3 sends it
// with protobuf_message: io.prometheus.write.v2.Request (a symbols table
// per request, counter metadata on every series).
func realBodiesV2(b *testing.B, name string, start int64) [][]byte {
	var bodies [][]byte
	for r := range realRounds {
		for lo := 0; lo < realSeries; lo += realPerRequest {
			st := writev2.NewSymbolTable()
			req := &writev2.Request{Timeseries: make([]writev2.TimeSeries, 0, realPerRequest)}
			var refs []uint32
			for i := lo; i < lo+realPerRequest; i++ {
				refs = refs[:0]
				for _, l := range realLabels(name, i) {
					refs = append(refs, st.Symbolize(l.Name), st.Symbolize(l.Value))
				}
				req.Timeseries = append(req.Timeseries, writev2.TimeSeries{
					LabelsRefs: append([]uint32(nil), refs...),
					Samples:    []writev2.Sample{{Timestamp: start + int64(r)*15_000 + int64(i%1000), Value: float64(r*i%977) + 0.5}},
					Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER},
				})
			}
			req.Symbols = st.Symbols()
			raw, err := proto.Marshal(req)
			require.NoError(b, err)
			bodies = append(bodies, snappy.Encode(nil, raw))
		}
	}
	return bodies
}

// realEngine returns an engine routing by the configuration's selectors,
// the receiver's router in the adapter.
func realEngine(b *testing.B, store *ring.Store, match string) *engine.Engine {
	cfg, err := config.Load(fmt.Sprintf(`
forecasts:
  - name: api
    match: [%q]
    step: 1m
    window: 1d
`, match))
	require.NoError(b, err)
	e := engine.New(nil, nil, store, nil, engine.Options{Workers: 1})
	require.NoError(b, e.ApplyConfig(cfg))
	return e
}

// BenchmarkHandlerRealShape measures one remote-write 1.0 request of 2,000
// samples as Prometheus sends them (one sample per series, eight labels),
// through the engine's router, in steady state: every series already exists
// and each request brings the next scrape.
//
//   - selected: every series is selected and appended to its ring.
//   - unselected: the selectors match none of the series (the common case
//     of a Prometheus that sends everything).
//   - v2-selected: selected, sent in remote-write 2.0.
func BenchmarkHandlerRealShape(b *testing.B) {
	start := time.Now().Add(-time.Hour).UnixMilli() / 60_000 * 60_000
	for _, c := range []struct {
		name, match string
		v2          bool
	}{
		{"selected", `{job="api-server"}`, false},
		{"unselected", `{job="other"}`, false},
		{"v2-selected", `{job="api-server"}`, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			bodies, contentType := realBodies(b, "http_requests_total", start), "application/x-protobuf"
			if c.v2 {
				bodies, contentType = realBodiesV2(b, "http_requests_total", start), "application/x-protobuf;proto=io.prometheus.write.v2.Request"
			}
			store := ring.NewStore(0, nil)
			h := receive.NewHandler(nil, nil, store, realEngine(b, store, c.match), 0)
			post := func(body []byte) {
				r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
				r.Header.Set("Content-Encoding", "snappy")
				r.Header.Set("Content-Type", contentType)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent {
					b.Fatalf("code %d: %s", w.Code, w.Body)
				}
			}
			// Warm up: the first round creates the series.
			perRound := realSeries / realPerRequest
			for _, body := range bodies[:perRound] {
				post(body)
			}
			if c.match != `{job="other"}` {
				require.Equal(b, realSeries, store.Len())
				store.Range(func(s *ring.Series) bool {
					require.Equal(b, 1, s.Count(math.MaxInt64), s.Labels())
					return true
				})
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bodies[perRound])))
			i := 0
			for b.Loop() {
				post(bodies[perRound+i%(len(bodies)-perRound)])
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*realPerRequest), "ns/sample")
			b.ReportMetric(0, "ns/op")
		})
	}
}
