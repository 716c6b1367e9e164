package receive

import (
	"math"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// decodedSeries is a series as both the hand-written and the generated
// decoders can express it, for comparing them.
type decodedSeries struct {
	Labels     []wireLabel
	Samples    []uint64 // t, bits(v) pairs: NaN payloads compare exactly
	Histograms int
	Exemplars  int
	Type       ring.MetricType
	Refs       []uint32
}

func samplesOf(ss []wireSample) []uint64 {
	var out []uint64
	for _, s := range ss {
		out = append(out, uint64(s.t), math.Float64bits(s.v))
	}
	return out
}

// fromRequest returns the series of req (2.0: before resolving).
func fromRequest(req *writeRequest) []decodedSeries {
	var out []decodedSeries
	for i := range req.series {
		s := &req.series[i]
		out = append(out, decodedSeries{
			Labels:     append([]wireLabel(nil), req.seriesLabels(s)...),
			Samples:    samplesOf(req.seriesSamples(s)),
			Histograms: int(s.histograms),
			Exemplars:  int(s.exemplars),
			Type:       s.typ,
			Refs:       append([]uint32(nil), req.refs[s.refsLo:s.refsHi]...),
		})
	}
	return out
}

func fromV1(gen *prompb.WriteRequest) []decodedSeries {
	var out []decodedSeries
	for _, ts := range gen.Timeseries {
		d := decodedSeries{Histograms: len(ts.Histograms), Exemplars: len(ts.Exemplars)}
		for _, l := range ts.Labels {
			d.Labels = append(d.Labels, wireLabel{l.Name, l.Value})
		}
		for _, s := range ts.Samples {
			d.Samples = append(d.Samples, uint64(s.Timestamp), math.Float64bits(s.Value))
		}
		out = append(out, d)
	}
	return out
}

func fromV2(gen *writev2.Request) []decodedSeries {
	var out []decodedSeries
	for _, ts := range gen.Timeseries {
		d := decodedSeries{Histograms: len(ts.Histograms), Exemplars: len(ts.Exemplars), Type: typeV2(int32(ts.Metadata.Type))}
		d.Refs = append(d.Refs, ts.LabelsRefs...)
		for _, s := range ts.Samples {
			d.Samples = append(d.Samples, uint64(s.Timestamp), math.Float64bits(s.Value))
		}
		out = append(out, d)
	}
	return out
}

// checkSameV1 decodes data with both decoders and requires the same
// outcome: both refuse it, or both return the same series and metadata.
func checkSameV1(t *testing.T, data []byte) {
	var gen prompb.WriteRequest
	genErr := gen.Unmarshal(data)
	req := &writeRequest{buf: data}
	err := req.unmarshalV1(data)
	for i := range req.series {
		if err == nil {
			err = req.parseLabels(&req.series[i])
		}
	}
	if genErr != nil {
		require.Error(t, err, "generated decoder refuses: %v", genErr)
		return
	}
	require.NoError(t, err)
	require.Equal(t, fromV1(&gen), fromRequest(req))
	require.Len(t, req.metadata, len(gen.Metadata))
	for i, md := range gen.Metadata {
		require.Equal(t, familyType{md.MetricFamilyName, typeV1(md.Type)}, req.metadata[i])
	}
	require.Equal(t, len(gen.XXX_unrecognized) > 0, req.unknown)
}

// checkSameV2 is checkSameV1 for 2.0 requests.
func checkSameV2(t *testing.T, data []byte) {
	var gen writev2.Request
	genErr := gen.Unmarshal(data)
	req := &writeRequest{}
	err := req.unmarshalV2(data)
	if genErr != nil {
		require.Error(t, err, "generated decoder refuses: %v", genErr)
		return
	}
	require.NoError(t, err)
	require.Equal(t, fromV2(&gen), fromRequest(req))
	require.Equal(t, len(gen.XXX_unrecognized) > 0, req.unknown)
	require.Equal(t, len(gen.Symbols), len(req.symbols))
	for i := range gen.Symbols {
		require.Equal(t, gen.Symbols[i], req.symbols[i])
	}
}

// v2Seeds returns encoded 2.0 requests covering every field.
func v2Seeds(t testing.TB) [][]byte {
	full := &writev2.Request{
		Symbols: []string{"", "__name__", "sel_a", "job", "x", "help", "seconds"},
		Timeseries: []writev2.TimeSeries{
			{
				LabelsRefs: []uint32{1, 2, 3, 4},
				Samples:    []writev2.Sample{{Value: 1, Timestamp: baseT, StartTimestamp: 5}, {Value: math.NaN(), Timestamp: baseT + 1}},
				Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{3, 4}, Value: 2, Timestamp: baseT}},
				Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 5, UnitRef: 6},
			},
			{
				LabelsRefs: []uint32{1, 2},
				Histograms: []writev2.Histogram{{Count: &writev2.Histogram_CountInt{CountInt: 3}, Sum: 1, Timestamp: baseT}},
				Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM},
			},
			{LabelsRefs: []uint32{1, 9, 3}}, // odd, out of range: decodes, resolves as invalid
		},
	}
	var out [][]byte
	for _, r := range []*writev2.Request{full, {}, {Symbols: []string{"x"}}} {
		b, err := proto.Marshal(r)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// v1Seeds returns the decoded (protobuf) form of the 1.0 fuzz seeds.
func v1Seeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, r := range []*prompb.WriteRequest{
		writeReq(series(lbls("__name__", "sel_a", "job", "x"), samples(0, 3, 1)...)),
		{Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "sel_a", Help: "A.", Unit: "seconds"}}},
		writeReq(prompb.TimeSeries{
			Labels:     lbls("__name__", "sel_h"),
			Histograms: []prompb.Histogram{{Timestamp: baseT, Sum: 1, PositiveDeltas: []int64{1, 2}}},
			Exemplars:  []prompb.Exemplar{{Labels: lbls("trace_id", "a"), Value: 1}},
		}),
	} {
		b, err := proto.Marshal(r)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// TestUnmarshalSameAsGenerated checks the seeds and hand-picked malformed
// bodies; FuzzUnmarshalV1 and FuzzUnmarshalV2 search further.
func TestUnmarshalSameAsGenerated(t *testing.T) {
	malformed := [][]byte{
		{0x0a},                               // length missing
		{0x0a, 0x05, 0x0a},                   // length past the end
		{0x08, 0x01},                         // field 1 as a varint
		{0x00},                               // field 0
		{0x0c},                               // end group
		{0x0b, 0x0c},                         // empty group, unknown field 1 of 1.0? no: field 1 group
		{0x1b, 0x0c},                         // empty group as unknown field 3 (2.0) / metadata (1.0)
		{0x7f},                               // wire type 7
		{0x0a, 0x02, 0x12, 0x00},             // series with an empty sample
		{0x0a, 0x04, 0x12, 0x02, 0x09, 0x00}, // sample value cut
		{0x0a, 0x03, 0x0a, 0x01, 0x0a},       // label name length missing
		{0x2a, 0x04, 0x0a, 0x02, 0x81, 0x01}, // 2.0 packed refs
		{0x2a, 0x04, 0x0a, 0x02, 0x81, 0x81}, // 2.0 packed ref running past its field
		{0x2a, 0x03, 0x0a, 0x01, 0x81, 0x01}, // packed ref past the field, within the series
		{0x2a, 0x02, 0x08, 0x05},             // unpacked ref
		{0x2a, 0x04, 0x2a, 0x02, 0x08, 0x01}, // metadata type
		{0x2a, 0x04, 0x2a, 0x02, 0x10, 0x01}, // metadata unknown field 2
		{0x22, 0x01, 0xff},                   // symbol, invalid UTF-8
		{0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}, // ten-byte tag
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // eleven-byte varint
	}
	for _, b := range append(append(v1Seeds(t), v2Seeds(t)...), malformed...) {
		checkSameV1(t, b)
		checkSameV2(t, b)
	}
}

func FuzzUnmarshalV1(f *testing.F) {
	for _, b := range append(v1Seeds(f), v2Seeds(f)...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxBytes {
			return
		}
		checkSameV1(t, data)
	})
}

func FuzzUnmarshalV2(f *testing.F) {
	for _, b := range append(v2Seeds(f), v1Seeds(f)...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxBytes {
			return
		}
		checkSameV2(t, data)
	})
}
