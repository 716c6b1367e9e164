package remoteread

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// BenchmarkDecodeStreamed decodes a streamed answer of 100 series holding a
// day at 1m (1440 samples each, 12 XOR chunks per frame) and aggregates it
// into cells as a backfill does; allocations stay per frame, not per answer.
func BenchmarkDecodeStreamed(b *testing.B) {
	const nSeries, nSamples = 100, 1440
	var stream []byte
	for i := range nSeries {
		sr := &series{lset: labels.FromStrings("__name__", "bench", "instance", fmt.Sprint(i))}
		for j := range nSamples {
			sr.raw = append(sr.raw, prompb.Sample{Timestamp: t0 + int64(j)*minute, Value: sine(int64(j) * minute)})
		}
		chunks, _ := encodeChunks(sr)
		msg, err := proto.Marshal(&prompb.ChunkedReadResponse{ChunkedSeries: []*prompb.ChunkedSeries{{Labels: toProtoLabels(sr.lset), Chunks: chunks}}})
		require.NoError(b, err)
		stream = appendFrame(stream, msg)
	}
	queries := []*prompb.Query{{StartTimestampMs: t0, EndTimestampMs: t0 + nSamples*minute}}
	var acc accumulator
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := DecodeStreamed(bytes.NewReader(stream), 1<<20, queries, func(_ int, lset labels.Labels, t int64, v float64) error {
			if !acc.active || !labels.Equal(acc.lset, lset) {
				acc.reset(0, lset, ringOpts, t0, t0+nSamples*minute)
			}
			acc.add(t, v)
			n++
			return nil
		})
		require.NoError(b, err)
		require.Equal(b, nSeries*nSamples, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nSeries*nSamples), "ns/sample")
}

// BenchmarkServeForecast answers one query for the yhat of one model of
// every fitted series, two hours ahead on a 1m grid, in each response type.
func BenchmarkServeForecast(b *testing.B) {
	for _, rt := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS} {
		b.Run(rt.String(), func(b *testing.B) {
			f := benchFitted(b, 100)
			s := NewServer(nil, nil, f.store, f.eng, f.clock)
			require.NoError(b, s.ApplyConfig(f.cfg))
			q := query(f.now, f.now+120*minute, eq("__name__", "sine_forecast"), eq("model", "seasonal_naive"), eq("value_type", "yhat"))
			raw, err := proto.Marshal(&prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{rt}})
			require.NoError(b, err)
			body := snappy.Encode(nil, raw)
			for _, rebuild := range []bool{false, true} {
				b.Run(fmt.Sprintf("rebuild=%d", map[bool]int{false: 0, true: 1}[rebuild]), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if rebuild {
							s.gen.Add(1)
						}
						rec := httptest.NewRecorder()
						s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/read", bytes.NewReader(body)))
						if rec.Code != 200 {
							b.Fatal(rec.Body.String())
						}
					}
				})
			}
		})
	}
}

const benchIndexConfig = `
global:
  step: 1m
  window: 2h
  retrain_interval: 15m
  min_history: 1h
  evaluation_delay: 10s
forecasts:
  - name: many
    match: ['{__name__=~"m_.+"}']
    models: [seasonal_naive]
    seasonal_period: 30m
remote_read_server:
  max_horizon: 1h
`

// BenchmarkServeOneMetric answers a query for one metric (10 series, yhat
// only, 10 minutes ahead) among n fitted series of 1000 other metrics: the
// cost should follow the answer, not n. rebuild=1 rebuilds the server's
// index of forecasts on every request, which happens at most once a second.
func BenchmarkServeOneMetric(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			now := t0 + 2*60*minute
			f := newFixture(b, benchIndexConfig, now)
			f.store.SetMaxSeries(0)
			for i := range n {
				name := fmt.Sprintf("m_%d", i%1000)
				if i < 10 {
					name = "m_wanted"
				}
				lset := labels.FromStrings("__name__", name, "instance", fmt.Sprint(i))
				opts, ok := f.eng.Route(lset)
				require.True(b, ok)
				ser, _, err := f.store.GetOrCreate(lset, opts)
				require.NoError(b, err)
				for ts := t0; ts < now; ts += minute {
					require.NoError(b, ser.Append(ts, sine(ts)))
				}
			}
			require.Equal(b, n, f.eng.RetrainDue(b.Context(), f.clock()))
			s := NewServer(nil, nil, f.store, f.eng, f.clock)
			require.NoError(b, s.ApplyConfig(f.cfg))
			q := query(f.now, f.now+10*minute, eq("__name__", "m_wanted_forecast"), eq("value_type", "yhat"))
			raw, err := proto.Marshal(&prompb.ReadRequest{Queries: []*prompb.Query{q}})
			require.NoError(b, err)
			body := snappy.Encode(nil, raw)
			for _, rebuild := range []bool{false, true} {
				b.Run(fmt.Sprintf("rebuild=%d", map[bool]int{false: 0, true: 1}[rebuild]), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if rebuild {
							s.gen.Add(1)
						}
						rec := httptest.NewRecorder()
						s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/read", bytes.NewReader(body)))
						if rec.Code != 200 {
							b.Fatal(rec.Body.String())
						}
					}
				})
			}
		})
	}
}
