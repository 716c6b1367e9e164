package receive

import (
	"net/http"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

const (
	benchSeries  = 200
	benchSamples = 10
	// benchBodies is how many requests with advancing timestamps the
	// "append" case cycles through before it starts on a fresh store.
	benchBodies = 64
)

// benchBody returns a request of benchSeries series of benchSamples
// samples 15s apart, starting batch*benchSamples steps after baseT, as
// Prometheus sends them (max_samples_per_send 2000).
func benchBody(b *testing.B, batch int) []byte {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, benchSeries)}
	for i := range req.Timeseries {
		req.Timeseries[i] = series(benchLabels(i), samples(int64(batch*benchSamples)*15_000, benchSamples, float64(i))...)
	}
	return encode(b, req)
}

// BenchmarkHandler measures decode, validation, routing and append of one
// request of 2000 samples (200 series of 6 labels, 10 samples each).
//
//   - append: every request brings new samples to existing series. It
//     cycles through benchBodies requests and then starts over on a fresh
//     store, whose series creation is included, amortised.
//   - resend: the same request again: every sample is a duplicate.
//   - unselected: the router selects nothing (decode and validation only).
func BenchmarkHandler(b *testing.B) {
	bodies := make([][]byte, benchBodies)
	for i := range bodies {
		bodies[i] = benchBody(b, i)
	}
	b.Logf("encoded request: %d bytes", len(bodies[0]))

	run := func(b *testing.B, h *Handler, body func(i int) []byte) {
		b.ReportAllocs()
		b.SetBytes(int64(len(bodies[0])))
		i := 0
		for b.Loop() {
			w := serve(h, newPost(body(i)))
			if w.Code != http.StatusNoContent {
				b.Fatalf("code %d: %s", w.Code, w.Body)
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*benchSeries*benchSamples), "ns/sample")
	}

	b.Run("append", func(b *testing.B) {
		h := NewHandler(nil, nil, ring.NewStore(0, nil), nameRouter{}, 0)
		run(b, h, func(i int) []byte {
			if i%benchBodies == 0 {
				// A fresh store, and a fresh route cache with it.
				h.store = ring.NewStore(0, nil)
				h.Configure(nameRouter{}, Limits{})
			}
			return bodies[i%benchBodies]
		})
		require.Equal(b, benchSeries, h.store.Len())
	})
	b.Run("resend", func(b *testing.B) {
		h := NewHandler(nil, nil, ring.NewStore(0, nil), nameRouter{}, 0)
		require.Equal(b, http.StatusNoContent, serve(h, newPost(bodies[0])).Code)
		run(b, h, func(int) []byte { return bodies[0] })
	})
	b.Run("unselected", func(b *testing.B) {
		h := NewHandler(nil, nil, ring.NewStore(0, nil), nil, 0)
		run(b, h, func(int) []byte { return bodies[0] })
	})
}
