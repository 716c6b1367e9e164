package ring

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		name       string
		agg        Aggregation
		before     []sample // live samples appended before the fill
		start      int64
		vals       []float64
		after      []sample // live samples appended after the fill
		wantFilled int
		wantStart  int64
		wantVals   []float64
		wantLast   int64
	}{
		{
			name:       "empty series: the fill sets head and first",
			start:      10 * sec,
			vals:       []float64{1, nan, 3},
			wantFilled: 2,
			wantStart:  10 * sec, wantVals: []float64{1, nan, 3},
			wantLast: 13*sec - 1,
		},
		{
			name:       "trailing NaN cells do not move the head",
			start:      10 * sec,
			vals:       []float64{1, 2, nan, nan},
			wantFilled: 2,
			wantStart:  10 * sec, wantVals: []float64{1, 2},
			wantLast: 12*sec - 1,
		},
		{
			name:       "older than the window is skipped",
			start:      10 * sec,
			vals:       []float64{1, 2, 3, 4, 5, 6, 7},
			wantFilled: 5,
			wantStart:  12 * sec, wantVals: []float64{3, 4, 5, 6, 7},
			wantLast: 17*sec - 1,
		},
		{
			name:       "live data wins, gaps are filled",
			before:     []sample{{t: 11 * sec, v: 100}, {t: 13 * sec, v: 300}},
			start:      10 * sec,
			vals:       []float64{1, 2, 3, 4},
			wantFilled: 2,
			wantStart:  10 * sec, wantVals: []float64{1, 100, 3, 300},
			wantLast: 13 * sec,
		},
		{
			name:       "a fill past the head advances it and refuses later live samples there",
			agg:        AggSum,
			before:     []sample{{t: 10 * sec, v: 100}},
			start:      11 * sec,
			vals:       []float64{2, 3},
			after:      []sample{{t: 12*sec + 500, v: 9, err: ErrOutOfOrder}, {t: 13 * sec, v: 4}, {t: 13*sec + 1, v: 4}},
			wantFilled: 2,
			wantStart:  10 * sec, wantVals: []float64{100, 2, 3, 8},
			wantLast: 13*sec + 1,
		},
		{
			name:       "live head cell after a fill aggregates from its own samples only",
			agg:        AggMean,
			start:      10 * sec,
			vals:       []float64{5},
			after:      []sample{{t: 11 * sec, v: 1}, {t: 11*sec + 1, v: 3}},
			wantFilled: 1,
			wantStart:  10 * sec, wantVals: []float64{5, 2},
			wantLast: 11*sec + 1,
		},
		{
			name:       "a far fill clears the wrapped cells",
			before:     []sample{{t: 10 * sec, v: 1}, {t: 11 * sec, v: 1}, {t: 12 * sec, v: 1}},
			start:      20 * sec,
			vals:       []float64{nan, nan, 7},
			wantFilled: 1,
			wantStart:  18 * sec, wantVals: []float64{nan, nan, nan, nan, 7},
			wantLast: 23*sec - 1,
		},
		{
			name:       "all NaN is a no-op",
			start:      10 * sec,
			vals:       []float64{nan, nan},
			wantFilled: 0,
			wantStart:  0, wantVals: []float64{},
			wantLast: math.MinInt64,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStore(0, nil)
			ser := newTestSeries(t, st, tc.agg)
			for _, s := range tc.before {
				require.NoError(t, ser.Append(s.t, s.v))
			}
			n, err := ser.Fill(tc.start, tc.vals)
			require.NoError(t, err)
			require.Equal(t, tc.wantFilled, n)
			for _, s := range tc.after {
				require.ErrorIs(t, ser.Append(s.t, s.v), s.err)
			}
			start, vals := ser.Values(math.MaxInt64, nil)
			require.Equal(t, tc.wantStart, start)
			requireFloats(t, tc.wantVals, vals)
			require.Equal(t, tc.wantLast, ser.LastSampleTime())
		})
	}
}

// TestFillEitherOrder checks that a backfill and live samples give the same
// buffer whichever comes first, for every aggregation, when the backfill
// holds the complete closed cells.
func TestFillEitherOrder(t *testing.T) {
	for agg := AggLast; agg <= AggSum; agg++ {
		t.Run(agg.String(), func(t *testing.T) {
			live := []sample{{t: 14 * sec, v: 1}, {t: 14*sec + 400, v: 5}}
			hist := []float64{2, 4, 6, 8}
			run := func(fillFirst bool) []float64 {
				st := NewStore(0, nil)
				ser := newTestSeries(t, st, agg)
				if fillFirst {
					_, err := ser.Fill(10*sec, hist)
					require.NoError(t, err)
				}
				for _, s := range live {
					require.NoError(t, ser.Append(s.t, s.v))
				}
				if !fillFirst {
					_, err := ser.Fill(10*sec, hist)
					require.NoError(t, err)
				}
				_, vals := ser.Values(math.MaxInt64, nil)
				return vals
			}
			requireFloats(t, run(true), run(false))
			require.Len(t, run(true), 5)
		})
	}
}

func TestFillRemoved(t *testing.T) {
	st := NewStore(0, nil)
	ser := newTestSeries(t, st, AggLast)
	require.True(t, st.Delete(ser))
	_, err := ser.Fill(0, []float64{1})
	require.ErrorIs(t, err, ErrSeriesRemoved)
}

func TestOldestAndBufferBytes(t *testing.T) {
	st := NewStore(0, nil)
	ser := newTestSeries(t, st, AggLast)
	_, ok := ser.Oldest()
	require.False(t, ok)
	_, err := ser.Fill(20*sec, []float64{1, 2})
	require.NoError(t, err)
	got, ok := ser.Oldest()
	require.True(t, ok)
	require.Equal(t, 20*sec, got)
	require.Equal(t, int64(5*8), st.BufferBytes())
}

// TestFillConcurrentWithAppend races a backfill against live appends over
// the same cells: every cell ends up holding exactly one of the two, and a
// live sample is accepted only for a cell the fill did not take.
func TestFillConcurrentWithAppend(t *testing.T) {
	st := NewStore(0, nil)
	ser, _, err := st.GetOrCreate(labels.FromStrings("__name__", "x"), Options{Step: time.Second, Window: 1000 * time.Second})
	require.NoError(t, err)
	hist := make([]float64, 1000)
	for i := range hist {
		hist[i] = 2
	}
	accepted := make([]bool, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			accepted[i] = ser.Append(int64(i)*sec, 1) == nil
		}
	}()
	_, err = ser.Fill(0, hist)
	require.NoError(t, err)
	<-done
	start, vals := ser.Values(math.MaxInt64, nil)
	require.Zero(t, start)
	require.Len(t, vals, 1000)
	for i, v := range vals {
		if accepted[i] {
			require.Equal(t, 1.0, v, "cell %d: an accepted live sample is kept", i)
		} else {
			require.Equal(t, 2.0, v, "cell %d: a refused live sample left the backfill", i)
		}
	}
}
