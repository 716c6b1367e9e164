package remoteread

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// fuzzLimit caps inputs and frames, so that the fuzzers explore structure
// rather than allocation.
const fuzzLimit = 1 << 16

var fuzzQueries = []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 1 << 62}, {StartTimestampMs: 1000, EndTimestampMs: 2000}}

// validStream returns a well-formed streamed response of two series.
func validStream(t testing.TB) []byte {
	var out []byte
	for qi, name := range []string{"a", "b"} {
		sr := &series{lset: labels.FromStrings("__name__", name, "job", "x"), raw: []prompb.Sample{{Timestamp: 1000, Value: 1}, {Timestamp: 2000, Value: 2}, {Timestamp: 3000, Value: 3}}}
		chunks, _ := encodeChunks(sr)
		msg, err := proto.Marshal(&prompb.ChunkedReadResponse{
			ChunkedSeries: []*prompb.ChunkedSeries{{Labels: toProtoLabels(sr.lset), Chunks: chunks}},
			QueryIndex:    int64(qi),
		})
		require.NoError(t, err)
		out = appendFrame(out, msg)
	}
	return out
}

func validSamples(t testing.TB) []byte {
	raw, err := proto.Marshal(&prompb.ReadResponse{Results: []*prompb.QueryResult{{Timeseries: []*prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "a"}},
		Samples: []prompb.Sample{{Timestamp: 1, Value: 1}, {Timestamp: 2, Value: 2}},
	}}}}})
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func TestDecodeStreamedMalformed(t *testing.T) {
	valid := validStream(t)
	count := func(data []byte, limit int) (int, error) {
		n := 0
		err := DecodeStreamed(bytes.NewReader(data), limit, fuzzQueries, func(int, labels.Labels, int64, float64) error { n++; return nil })
		return n, err
	}
	n, err := count(valid, fuzzLimit)
	require.NoError(t, err)
	require.Equal(t, 3+2, n, "all of the first series, the second cut to its query's range")

	corrupt := bytes.Clone(valid)
	corrupt[3] ^= 0xff // inside the first checksum
	badQuery := appendFrame(nil, mustMarshal(t, &prompb.ChunkedReadResponse{QueryIndex: 9}))
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"truncated inside a frame", valid[:len(valid)-3], "unexpected EOF"},
		{"truncated inside the checksum", valid[:3], "unexpected EOF"},
		{"checksum mismatch", corrupt, "checksum mismatch"},
		{"frame over the limit", binaryFrameHeader(fuzzLimit + 1), "exceeds the size limit"},
		{"length overflows", bytes.Repeat([]byte{0xff}, 11), "read frame length"},
		{"not a message", appendFrame(nil, []byte{0x0a, 0xff, 0xff}), "unmarshal response frame"},
		{"unknown query index", badQuery, "response frame for query 9 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := count(tc.data, fuzzLimit)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	_, err = count(nil, fuzzLimit)
	require.NoError(t, err, "an empty stream is an empty answer")
}

func TestDecodeSamplesMalformed(t *testing.T) {
	valid := validSamples(t)
	for _, tc := range []struct {
		name  string
		data  []byte
		limit int
		msg   string
	}{
		{"over the limit", valid, 4, "exceeds max_response_bytes 4"},
		{"decoded over the limit", snappy.Encode(nil, make([]byte, 5000)), 2000, "decoded response of 5000 bytes exceeds"},
		{"truncated", valid[:len(valid)-2], fuzzLimit, "decode response"},
		{"not snappy", []byte{0xff, 0xff, 0xff}, fuzzLimit, "decode response"},
		{"not a message", snappy.Encode(nil, []byte{0x0a, 0xff}), fuzzLimit, "unmarshal read response"},
		{"no metric name", snappy.Encode(nil, mustMarshal(t, &prompb.ReadResponse{Results: []*prompb.QueryResult{{Timeseries: []*prompb.TimeSeries{{Labels: []prompb.Label{{Name: "a", Value: "b"}}}}}}})), fuzzLimit, "has no metric name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := DecodeSamples(bytes.NewReader(tc.data), tc.limit, func(int, labels.Labels, int64, float64) error { return nil })
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

func binaryFrameHeader(size uint64) []byte {
	return appendFrame(nil, make([]byte, size))[:8]
}

// FuzzDecodeStreamed: any byte stream decodes or fails with an error;
// nothing panics and no frame beyond the limit is allocated.
func FuzzDecodeStreamed(f *testing.F) {
	f.Add(validStream(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzLimit {
			return
		}
		n := 0
		err := DecodeStreamed(bytes.NewReader(data), fuzzLimit, fuzzQueries, func(_ int, lset labels.Labels, _ int64, _ float64) error {
			if lset.Get(model.MetricNameLabel) == "" {
				return errors.New("series without a name passed on")
			}
			n++
			return nil
		})
		if err != nil && err.Error() == "series without a name passed on" {
			t.Fatal(err)
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("a clean end must not be an error: %v", err)
		}
	})
}

// FuzzDecodeSamples: as FuzzDecodeStreamed, for SAMPLES bodies.
func FuzzDecodeSamples(f *testing.F) {
	f.Add(validSamples(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzLimit {
			return
		}
		_ = DecodeSamples(bytes.NewReader(data), fuzzLimit, func(_ int, lset labels.Labels, _ int64, _ float64) error {
			if lset.Get(model.MetricNameLabel) == "" {
				t.Fatal("series without a name passed on")
			}
			return nil
		})
	})
}

// FuzzDecodeReadRequest: the server's request decoder never panics, and a
// request it accepts gives the same request when encoded again.
func FuzzDecodeReadRequest(f *testing.F) {
	f.Add(snappy.Encode(nil, mustMarshal(f, &prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: 1, EndTimestampMs: 2, Matchers: []*prompb.LabelMatcher{{Name: "__name__", Value: "a"}}}}})))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzLimit {
			return
		}
		req, err := DecodeReadRequest(bytes.NewReader(data), fuzzLimit)
		if err != nil {
			return
		}
		for qi, q := range req.Queries {
			if q == nil {
				continue
			}
			_, _ = toMatchers(qi, q.Matchers)
		}
	})
}

// FuzzDecodeStreamedFrame fuzzes the message inside a frame with a valid
// checksum: protobuf and XOR chunk decoding.
func FuzzDecodeStreamedFrame(f *testing.F) {
	valid := validStream(f)
	msg, err := newFrameReader(bytes.NewReader(valid), fuzzLimit).next()
	require.NoError(f, err)
	f.Add(bytes.Clone(msg))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > fuzzLimit {
			return
		}
		_ = DecodeStreamed(bytes.NewReader(appendFrame(nil, msg)), fuzzLimit, fuzzQueries, func(_ int, lset labels.Labels, _ int64, _ float64) error {
			if lset.Get(model.MetricNameLabel) == "" {
				t.Fatal("series without a name passed on")
			}
			return nil
		})
	})
}
