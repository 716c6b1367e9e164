package writeback

import (
	"math"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// decodeV2 decodes a snappy-compressed io.prometheus.write.v2.Request with
// the generated types.
func decodeV2(t testing.TB, body []byte) writev2.Request {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err)
	var req writev2.Request
	require.NoError(t, req.Unmarshal(raw))
	return req
}

// v2Series is a decoded 2.0 series, symbols resolved.
type v2Series struct {
	labels  labels.Labels
	samples []writev2.Sample
	typ     writev2.Metadata_MetricType
	help    string
	unit    string
}

// resolveV2 checks the symbols table and resolves every series of req.
func resolveV2(t testing.TB, req writev2.Request) []v2Series {
	t.Helper()
	require.NotEmpty(t, req.Symbols)
	require.Empty(t, req.Symbols[0], `symbols[0] must be ""`)
	seen := map[string]bool{}
	for _, sym := range req.Symbols {
		require.False(t, seen[sym], "symbol %q listed twice", sym)
		seen[sym] = true
	}
	var out []v2Series
	b := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		require.Zero(t, len(ts.LabelsRefs)%2)
		ls, err := ts.ToLabels(&b, req.Symbols)
		require.NoError(t, err)
		require.Empty(t, ts.Histograms, "a series has samples or histograms")
		require.Less(t, int(ts.Metadata.HelpRef), len(req.Symbols))
		require.Less(t, int(ts.Metadata.UnitRef), len(req.Symbols))
		out = append(out, v2Series{
			labels:  ls,
			samples: ts.Samples,
			typ:     ts.Metadata.Type,
			help:    req.Symbols[ts.Metadata.HelpRef],
			unit:    req.Symbols[ts.Metadata.UnitRef],
		})
	}
	return out
}

func TestEncodeV2(t *testing.T) {
	a := labels.FromStrings("__name__", "x_forecast", "model", "fourier", "value_type", "yhat")
	b := labels.FromStrings("__name__", "x_anomaly_score", "model", "fourier")
	stale := math.Float64frombits(value.StaleNaN)
	e := newEncoder()

	body, err := e.encode([]Sample{
		{Labels: a, T: 3, V: 3}, {Labels: b, T: 1, V: 10}, {Labels: a, T: 1, V: 1},
		{Labels: b, T: 2, V: stale}, {Labels: a, T: 2, V: 2},
	}, config.ProtobufMessageV2)
	require.NoError(t, err)
	req := decodeV2(t, body)
	got := resolveV2(t, req)
	require.Len(t, got, 2)

	require.Equal(t, a, got[0].labels)
	require.Equal(t, []writev2.Sample{{Timestamp: 1, Value: 1}, {Timestamp: 2, Value: 2}, {Timestamp: 3, Value: 3}}, got[0].samples)
	require.Equal(t, b, got[1].labels)
	require.Len(t, got[1].samples, 2)
	require.Equal(t, writev2.Sample{Timestamp: 1, Value: 10}, got[1].samples[0])
	require.Equal(t, value.StaleNaN, math.Float64bits(got[1].samples[1].Value), "the stale marker keeps its bits")
	for _, s := range got {
		require.Equal(t, writev2.Metadata_METRIC_TYPE_GAUGE, s.typ)
		require.Equal(t, v2Help, s.help)
		require.Empty(t, s.unit)
	}
	// "model" and "fourier" are shared: one symbol each.
	require.Len(t, req.Symbols, 1+len([]string{"__name__", "x_forecast", "model", "fourier", "value_type", "yhat", "x_anomaly_score", v2Help}))

	t.Run("buffers reused: nothing left from the batch before", func(t *testing.T) {
		body, err := e.encode([]Sample{{Labels: b, T: 5, V: 5}}, config.ProtobufMessageV2)
		require.NoError(t, err)
		req := decodeV2(t, body)
		require.Equal(t, []string{"", v2Help, "__name__", "x_anomaly_score", "model", "fourier"}, req.Symbols)
		got := resolveV2(t, req)
		require.Len(t, got, 1)
		require.Equal(t, b, got[0].labels)
		require.Equal(t, []writev2.Sample{{Timestamp: 5, Value: 5}}, got[0].samples)
	})

	t.Run("1.0 and 2.0 alternate on one encoder", func(t *testing.T) {
		batch := []Sample{{Labels: a, T: 7, V: 7}, {Labels: b, T: 7, V: 8}}
		body, err := e.encode(batch, config.ProtobufMessageV1)
		require.NoError(t, err)
		v1 := decode(t, body).Timeseries
		require.Len(t, v1, 2)
		require.Equal(t, a, labelsOf(v1[0]))

		body, err = e.encode(batch, config.ProtobufMessageV2)
		require.NoError(t, err)
		got := resolveV2(t, decodeV2(t, body))
		require.Len(t, got, 2)
		require.Equal(t, a, got[0].labels)
		require.Equal(t, b, got[1].labels)
		require.Equal(t, 8.0, got[1].samples[0].Value)
	})

	t.Run("empty batch", func(t *testing.T) {
		body, err := e.encode(nil, config.ProtobufMessageV2)
		require.NoError(t, err)
		req := decodeV2(t, body)
		require.Empty(t, req.Timeseries)
	})
}
