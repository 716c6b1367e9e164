package main

import (
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

// decoded is one sample read back from an encoded body.
type decoded struct {
	lset labels.Labels
	t    int64
	v    float64
}

// decodeBody reverses snappy and the protobuf encoding of protocol.
func decodeBody(t *testing.T, protocol string, b body) []decoded {
	t.Helper()
	raw, err := snappy.Decode(nil, b.data)
	require.NoError(t, err)
	require.Len(t, raw, b.decoded)
	var out []decoded
	switch protocol {
	case protocolV1:
		var req prompb.WriteRequest
		require.NoError(t, req.Unmarshal(raw))
		for _, ts := range req.Timeseries {
			require.Len(t, ts.Samples, 1, "one sample per TimeSeries")
			var bld labels.ScratchBuilder
			for k, l := range ts.Labels {
				require.NotEmpty(t, l.Value)
				if k > 0 {
					require.Less(t, ts.Labels[k-1].Name, l.Name, "labels sorted by name, unique")
				}
				bld.Add(l.Name, l.Value)
			}
			out = append(out, decoded{lset: bld.Labels(), t: ts.Samples[0].Timestamp, v: ts.Samples[0].Value})
		}
	case protocolV2:
		var req writev2.Request
		require.NoError(t, req.Unmarshal(raw))
		require.Equal(t, "", req.Symbols[0], "symbols[0] must be empty")
		for _, ts := range req.Timeseries {
			require.Len(t, ts.Samples, 1, "one sample per TimeSeries")
			require.Equal(t, writev2.Metadata_METRIC_TYPE_COUNTER, ts.Metadata.Type)
			var bld labels.ScratchBuilder
			lset, err := ts.ToLabels(&bld, req.Symbols)
			require.NoError(t, err)
			out = append(out, decoded{lset: lset, t: ts.Samples[0].Timestamp, v: ts.Samples[0].Value})
		}
	}
	require.Len(t, out, b.samples)
	return out
}

func TestBuildLoadRoundTrips(t *testing.T) {
	end := time.Date(2026, 12, 3, 12, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		spec loadSpec
	}{
		{name: "1.0", spec: loadSpec{series: 1003, rounds: 3, perRequest: 200, senders: 4, protocol: protocolV1, end: end}},
		{name: "2.0", spec: loadSpec{series: 1003, rounds: 3, perRequest: 200, senders: 4, protocol: protocolV2, end: end}},
		{name: "one sender, requests larger than a round", spec: loadSpec{series: 50, rounds: 4, perRequest: 120, senders: 1, protocol: protocolV1, end: end}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			l, err := buildLoad(spec)
			require.NoError(t, err)
			require.Equal(t, spec.series*spec.rounds, l.samples)
			require.Len(t, l.perSender, spec.senders)

			sender := map[string]int{}       // series → the one sender that sends it
			last := map[string]int64{}       // series → last timestamp seen
			samples := map[string]int{}      // series → samples seen
			values := map[string][]float64{} // series → values in order
			requests := 0
			for s, bodies := range l.perSender {
				for _, b := range bodies {
					requests++
					require.LessOrEqual(t, b.samples, spec.perRequest)
					for _, d := range decodeBody(t, spec.protocol, b) {
						require.NotEmpty(t, d.lset.Get(model.MetricNameLabel))
						require.GreaterOrEqual(t, d.lset.Len(), 6)
						require.LessOrEqual(t, d.lset.Len(), 10)
						key := d.lset.String()
						if prev, ok := sender[key]; ok {
							require.Equal(t, prev, s, "series %s sent by two senders", key)
						}
						sender[key] = s
						require.Greater(t, d.t, last[key], "series %s: timestamps must increase", key)
						require.LessOrEqual(t, d.t, end.UnixMilli())
						require.Greater(t, d.t, end.Add(-time.Duration(spec.rounds+1)*scrapeInterval).UnixMilli())
						last[key] = d.t
						samples[key]++
						values[key] = append(values[key], d.v)
					}
				}
			}
			require.Equal(t, l.requests, requests)
			require.Len(t, samples, spec.series, "distinct label sets")
			for key, n := range samples {
				require.Equal(t, spec.rounds, n, key)
				require.IsNonDecreasing(t, values[key], "%s is a counter", key)
			}
		})
	}
}

func TestBuildLoadRejects(t *testing.T) {
	_, err := buildLoad(loadSpec{series: 10, rounds: 1, perRequest: 5, senders: 1, protocol: "3.0"})
	require.ErrorContains(t, err, "unknown protocol")
	_, err = buildLoad(loadSpec{series: 0, rounds: 1, perRequest: 5, senders: 1, protocol: protocolV1})
	require.Error(t, err)
}

func TestSeriesLabelsDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := range 50_000 {
		k := seriesLabels(i).String()
		prev, dup := seen[k]
		require.False(t, dup, "series %d and %d share %s", prev, i, k)
		seen[k] = i
	}
}
