package writeback

import (
	"fmt"
	"math"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func decode(t testing.TB, body []byte) prompb.WriteRequest {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err)
	var req prompb.WriteRequest
	require.NoError(t, req.Unmarshal(raw))
	return req
}

func TestEncodeGroupsBySeries(t *testing.T) {
	a := labels.FromStrings("__name__", "x", "model", "fourier")
	b := labels.FromStrings("__name__", "x", "model", "seasonal_naive")
	stale := math.Float64frombits(value.StaleNaN)
	e := newEncoder()

	for _, tc := range []struct {
		name  string
		batch []Sample
		want  []prompb.TimeSeries
	}{
		{
			name: "interleaved, one series out of time order",
			batch: []Sample{
				{Labels: a, T: 3, V: 3}, {Labels: b, T: 1, V: 10}, {Labels: a, T: 1, V: 1},
				{Labels: b, T: 2, V: 20}, {Labels: a, T: 2, V: 2},
			},
			want: []prompb.TimeSeries{
				{Labels: []prompb.Label{{Name: "__name__", Value: "x"}, {Name: "model", Value: "fourier"}},
					Samples: []prompb.Sample{{Timestamp: 1, Value: 1}, {Timestamp: 2, Value: 2}, {Timestamp: 3, Value: 3}}},
				{Labels: []prompb.Label{{Name: "__name__", Value: "x"}, {Name: "model", Value: "seasonal_naive"}},
					Samples: []prompb.Sample{{Timestamp: 1, Value: 10}, {Timestamp: 2, Value: 20}}},
			},
		},
		{
			name:  "buffers reused: nothing left from the batch before",
			batch: []Sample{{Labels: b, T: 5, V: 5}},
			want: []prompb.TimeSeries{
				{Labels: []prompb.Label{{Name: "__name__", Value: "x"}, {Name: "model", Value: "seasonal_naive"}},
					Samples: []prompb.Sample{{Timestamp: 5, Value: 5}}},
			},
		},
		{
			name:  "empty batch",
			batch: nil,
			want:  nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := e.encode(tc.batch, config.ProtobufMessageV1)
			require.NoError(t, err)
			require.Equal(t, tc.want, decode(t, body).Timeseries)
		})
	}

	t.Run("stale marker keeps its bits", func(t *testing.T) {
		body, err := e.encode([]Sample{{Labels: a, T: 9, V: stale}}, config.ProtobufMessageV1)
		require.NoError(t, err)
		got := decode(t, body).Timeseries
		require.Len(t, got, 1)
		require.Equal(t, value.StaleNaN, math.Float64bits(got[0].Samples[0].Value))
	})
}

func TestEncoderHashCollision(t *testing.T) {
	a := labels.FromStrings("__name__", "x", "i", "1")
	b := labels.FromStrings("__name__", "x", "i", "2")
	e := newEncoder()
	require.Equal(t, int32(0), e.seriesOf(a))
	// Make b's hash slot lead to a, as if both hashed alike.
	e.index[b.Hash()] = 0
	require.Equal(t, int32(1), e.seriesOf(b), "a colliding series gets its own entry")
	require.Equal(t, int32(1), e.seriesOf(b))
	require.Equal(t, int32(0), e.seriesOf(a))
	require.Equal(t, []int32{2, 2}, e.counts)
	require.Equal(t, []int32{1, -1}, e.next, "a chains to b")
}

// benchBatch returns n samples over nSeries series of realistic labels.
func benchBatch(n, nSeries int) []Sample {
	out := make([]Sample, 0, n)
	ls := make([]labels.Labels, nSeries)
	for i := range ls {
		ls[i] = labels.FromStrings(
			"__name__", "train_prometheus_forecast",
			"forecast", "http_requests",
			"horizon", "1h",
			"instance", fmt.Sprintf("10.0.%d.%d:9090", i/256, i%256),
			"job", "api",
			"model", "fourier",
			"quantile", "0.5",
		)
	}
	for k := range n {
		out = append(out, Sample{Labels: ls[k%nSeries], T: 1_700_000_000_000 + int64(k/nSeries)*60_000, V: float64(k)})
	}
	return out
}

func BenchmarkEncodeBatch(b *testing.B) {
	for _, msg := range []config.ProtobufMessage{config.ProtobufMessageV1, config.ProtobufMessageV2} {
		b.Run(string(msg), func(b *testing.B) {
			batch := benchBatch(2000, 200)
			e := newEncoder()
			var size int
			b.ReportAllocs()
			for b.Loop() {
				body, err := e.encode(batch, msg)
				if err != nil {
					b.Fatal(err)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes/req")
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	cfg := testConfig(b, "http://127.0.0.1:1/api/v1/write", func(c *config.RemoteWriteConfig) {
		c.QueueConfig.Capacity = 10000
		c.QueueConfig.MaxShards = 4
	})
	q, err := NewQueue(cfg, nil, nil, Options{})
	require.NoError(b, err)
	defer q.Stop()
	batch := benchBatch(2000, 200)
	b.ReportAllocs()
	for b.Loop() {
		q.Append(batch)
	}
	b.ReportMetric(float64(len(batch)), "samples/op")
}
