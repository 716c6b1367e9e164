package snapshot

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// goldenSeries are fixed series of each kind a snapshot holds: decimal
// values with gaps, values only the XOR scheme keeps, an open mean cell,
// an empty buffer, with and without the caller's blob.
func goldenSeries() []struct {
	st    ring.SeriesState
	extra []byte
} {
	minute := time.Minute
	xor := make([]float64, 50)
	for i := range xor {
		xor[i] = math.Sqrt(float64(i)) * math.Pi
	}
	return []struct {
		st    ring.SeriesState
		extra []byte
	}{
		{ring.SeriesState{
			Labels:  labels.FromStrings("__name__", "requests_total", "job", "api"),
			Options: ring.Options{Step: minute, Window: 24 * time.Hour, Aggregate: ring.AggLast},
			Start:   1_700_000_040_000, Values: []float64{1, 2, math.NaN(), 4.5, 4.5, 7},
			LastT: 1_700_000_040_000 + 5*60_000 + 1234, OpenSum: 7, OpenCount: 1,
		}, []byte("engine state")},
		{ring.SeriesState{
			Labels:  labels.FromStrings("__name__", "temperature", "room", "ü"),
			Options: ring.Options{Step: 5 * minute, Window: 7 * 24 * time.Hour, Aggregate: ring.AggMean},
			Start:   1_700_000_100_000, Values: xor,
			LastT: 1_700_000_100_000 + 49*300_000 + 299_999, OpenSum: 3 * xor[49], OpenCount: 3,
		}, nil},
		{ring.SeriesState{
			Labels:  labels.FromStrings("__name__", "idle"),
			Options: ring.Options{Step: 15 * time.Second, Window: time.Hour, Aggregate: ring.AggMax},
		}, []byte{0}},
	}
}

// TestFormatGolden: fixed snapshots, with and without a sequence number,
// write the bytes committed in testdata (written by the writer of format
// version 1 as first released), and those bytes read back the same series.
func TestFormatGolden(t *testing.T) {
	created := time.UnixMilli(1_700_000_400_123)
	for _, tc := range []struct {
		name string
		seq  uint64
	}{
		{"v1-unsequenced.snap", 0},
		{"v1-seq42.snap", 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewSequencedWriter(&buf, created, tc.seq)
			if tc.seq == 0 {
				w, err = NewWriter(&buf, created)
			}
			require.NoError(t, err)
			for _, s := range goldenSeries() {
				require.NoError(t, w.Add(s.st, s.extra))
			}
			require.NoError(t, w.Close())
			want := golden.Bytes(t, tc.name, buf.Bytes())

			r, err := NewReader(bytes.NewReader(want))
			require.NoError(t, err)
			require.Equal(t, created, r.Created())
			require.Equal(t, tc.seq, r.Seq())
			for _, s := range goldenSeries() {
				st, extra, err := r.Next(true)
				require.NoError(t, err)
				require.Equal(t, s.st.Labels, st.Labels)
				require.Equal(t, s.st.Options, st.Options)
				require.Equal(t, [4]int64{s.st.Start, s.st.LastT, s.st.OpenCount, int64(math.Float64bits(s.st.OpenSum))},
					[4]int64{st.Start, st.LastT, st.OpenCount, int64(math.Float64bits(st.OpenSum))})
				require.Len(t, st.Values, len(s.st.Values))
				for i, v := range s.st.Values {
					require.Equal(t, math.Float64bits(v), math.Float64bits(st.Values[i]), "value %d", i)
				}
				require.True(t, bytes.Equal(s.extra, extra), "blob %q, want %q", extra, s.extra)
			}
			_, _, err = r.Next(true)
			require.ErrorIs(t, err, io.EOF)
		})
	}
}
