package ring

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"
)

// sec is one second in ms, the step of most tests.
const sec = int64(1000)

var nan = math.NaN()

type sample struct {
	t   int64
	v   float64
	err error
}

// newTestSeries returns a series with a 1s step and 5 cells.
func newTestSeries(t testing.TB, st *Store, agg Aggregation) *Series {
	t.Helper()
	ser, created, err := st.GetOrCreate(labels.FromStrings("__name__", "up"), Options{
		Step: time.Second, Window: 5 * time.Second, Aggregate: agg,
	})
	require.NoError(t, err)
	require.True(t, created)
	return ser
}

// requireFloats compares float slices treating NaN as equal to NaN.
func requireFloats(t testing.TB, want, got []float64) {
	t.Helper()
	format := func(vs []float64) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		return out
	}
	require.Equal(t, format(want), format(got))
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		name      string
		agg       Aggregation
		samples   []sample
		wantStart int64
		wantVals  []float64
		wantLast  int64
	}{
		{
			name:      "first sample starts the grid at its cell",
			samples:   []sample{{t: 10*sec + 500, v: 1}},
			wantStart: 10 * sec, wantVals: []float64{1}, wantLast: 10*sec + 500,
		},
		{
			name:      "last overwrites within a step",
			agg:       AggLast,
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 10*sec + 100, v: 5}, {t: 10*sec + 999, v: 3}},
			wantStart: 10 * sec, wantVals: []float64{3}, wantLast: 10*sec + 999,
		},
		{
			name: "mean is a running mean of the open cell only",
			agg:  AggMean,
			samples: []sample{
				{t: 10 * sec, v: 1}, {t: 10*sec + 1, v: 2}, {t: 10*sec + 2, v: 6},
				{t: 11 * sec, v: 10}, {t: 11*sec + 1, v: 20},
			},
			wantStart: 10 * sec, wantVals: []float64{3, 15}, wantLast: 11*sec + 1,
		},
		{
			name:      "min",
			agg:       AggMin,
			samples:   []sample{{t: 10 * sec, v: 5}, {t: 10*sec + 1, v: 2}, {t: 10*sec + 2, v: 7}, {t: 11 * sec, v: 9}},
			wantStart: 10 * sec, wantVals: []float64{2, 9}, wantLast: 11 * sec,
		},
		{
			name:      "max",
			agg:       AggMax,
			samples:   []sample{{t: 10 * sec, v: 5}, {t: 10*sec + 1, v: 2}, {t: 10*sec + 2, v: 7}, {t: 11 * sec, v: -9}},
			wantStart: 10 * sec, wantVals: []float64{7, -9}, wantLast: 11 * sec,
		},
		{
			name:      "sum",
			agg:       AggSum,
			samples:   []sample{{t: 10 * sec, v: 5}, {t: 10*sec + 1, v: 2}, {t: 10*sec + 2, v: 7}, {t: 11 * sec, v: 1}},
			wantStart: 10 * sec, wantVals: []float64{14, 1}, wantLast: 11 * sec,
		},
		{
			name:      "gaps are NaN",
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 13 * sec, v: 4}},
			wantStart: 10 * sec, wantVals: []float64{1, nan, nan, 4}, wantLast: 13 * sec,
		},
		{
			name:      "late sample fills a gap",
			agg:       AggSum,
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 13 * sec, v: 4}, {t: 11*sec + 500, v: 2}},
			wantStart: 10 * sec, wantVals: []float64{1, 2, nan, 4}, wantLast: 13 * sec,
		},
		{
			name: "filled gap keeps its first value",
			agg:  AggSum,
			samples: []sample{
				{t: 10 * sec, v: 1}, {t: 13 * sec, v: 4},
				{t: 11 * sec, v: 2}, {t: 11*sec + 1, v: 3, err: ErrOutOfOrder},
			},
			wantStart: 10 * sec, wantVals: []float64{1, 2, nan, 4}, wantLast: 13 * sec,
		},
		{
			name: "resent samples are not counted twice",
			agg:  AggSum,
			samples: []sample{
				{t: 10 * sec, v: 1}, {t: 10*sec + 1, v: 1}, {t: 11 * sec, v: 1},
				{t: 10 * sec, v: 1, err: ErrOutOfOrder}, {t: 10*sec + 1, v: 1, err: ErrOutOfOrder},
				{t: 11 * sec, v: 1, err: ErrOutOfOrder},
			},
			wantStart: 10 * sec, wantVals: []float64{2, 1}, wantLast: 11 * sec,
		},
		{
			name:      "out of order within the head cell",
			samples:   []sample{{t: 10*sec + 500, v: 1}, {t: 10*sec + 200, v: 2, err: ErrOutOfOrder}},
			wantStart: 10 * sec, wantVals: []float64{1}, wantLast: 10*sec + 500,
		},
		{
			name:      "out of order into an older cell holding data",
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 11 * sec, v: 2}, {t: 10*sec + 500, v: 3, err: ErrOutOfOrder}},
			wantStart: 10 * sec, wantVals: []float64{1, 2}, wantLast: 11 * sec,
		},
		{
			name: "too old is decided by cell, not by timestamp",
			samples: []sample{
				{t: 20 * sec, v: 5},
				{t: 16*sec - 1, v: 1, err: ErrTooOld},
				{t: 16 * sec, v: 2},
			},
			wantStart: 16 * sec, wantVals: []float64{2, nan, nan, nan, 5}, wantLast: 20 * sec,
		},
		{
			name:      "backfill before the first sample moves the start",
			samples:   []sample{{t: 12 * sec, v: 1}, {t: 10 * sec, v: 5}},
			wantStart: 10 * sec, wantVals: []float64{5, nan, 1}, wantLast: 12 * sec,
		},
		{
			name:      "advance by capacity-1 keeps the oldest cell",
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 14 * sec, v: 2}},
			wantStart: 10 * sec, wantVals: []float64{1, nan, nan, nan, 2}, wantLast: 14 * sec,
		},
		{
			name:      "advance by capacity clears the ring",
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 15 * sec, v: 2}},
			wantStart: 11 * sec, wantVals: []float64{nan, nan, nan, nan, 2}, wantLast: 15 * sec,
		},
		{
			name: "advance by more than capacity clears everything",
			samples: []sample{
				{t: 10 * sec, v: 1}, {t: 11 * sec, v: 2}, {t: 12 * sec, v: 3}, {t: 13 * sec, v: 4}, {t: 14 * sec, v: 5},
				{t: 33 * sec, v: 9},
			},
			wantStart: 29 * sec, wantVals: []float64{nan, nan, nan, nan, 9}, wantLast: 33 * sec,
		},
		{
			name:      "cleared cells can be backfilled",
			samples:   []sample{{t: 10 * sec, v: 1}, {t: 11 * sec, v: 2}, {t: 14 * sec, v: 5}, {t: 13 * sec, v: 4}},
			wantStart: 10 * sec, wantVals: []float64{1, 2, nan, 4, 5}, wantLast: 14 * sec,
		},
		{
			name: "NaN and stale markers are ignored",
			agg:  AggSum,
			samples: []sample{
				{t: 10 * sec, v: 1}, {t: 10*sec + 1, v: nan},
				{t: 11 * sec, v: math.Float64frombits(value.StaleNaN)},
			},
			wantStart: 10 * sec, wantVals: []float64{1}, wantLast: 10 * sec,
		},
		{
			name:      "negative timestamps use floor cells",
			samples:   []sample{{t: -1500, v: 1}, {t: -1, v: 2}},
			wantStart: -2 * sec, wantVals: []float64{1, 2}, wantLast: -1,
		},
		{
			name:      "infinities are gaps",
			agg:       AggMax,
			samples:   []sample{{t: 10 * sec, v: math.Inf(-1)}, {t: 10*sec + 1, v: 3}, {t: 11 * sec, v: math.Inf(1)}},
			wantStart: 10 * sec, wantVals: []float64{3}, wantLast: 10*sec + 1,
		},
		{
			name: "a head cell summed past the largest float still holds data",
			agg:  AggSum,
			samples: []sample{
				{t: 10 * sec, v: math.MaxFloat64}, {t: 10*sec + 1, v: math.MaxFloat64},
				{t: 10 * sec, v: 1, err: ErrOutOfOrder}, {t: 11 * sec, v: 2},
			},
			wantStart: 10 * sec, wantVals: []float64{math.Inf(1), 2}, wantLast: 11 * sec,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ser := newTestSeries(t, NewStore(0, nil), tc.agg)
			for i, s := range tc.samples {
				err := ser.Append(s.t, s.v)
				if s.err == nil {
					require.NoError(t, err, "sample %d", i)
				} else {
					require.ErrorIs(t, err, s.err, "sample %d", i)
				}
			}
			start, vals := ser.Values(math.MaxInt64, nil)
			require.Equal(t, tc.wantStart, start)
			requireFloats(t, tc.wantVals, vals)
			require.Equal(t, tc.wantLast, ser.LastSampleTime())

			want := 0
			for _, v := range tc.wantVals {
				if !math.IsNaN(v) {
					want++
				}
			}
			require.Equal(t, want, ser.Count(math.MaxInt64))
		})
	}
}

func TestAppendEmptySeries(t *testing.T) {
	st := NewStore(0, nil)
	ser := newTestSeries(t, st, AggLast)
	require.Equal(t, int64(math.MinInt64), ser.LastSampleTime())
	require.NoError(t, ser.Append(10*sec, nan))
	require.Equal(t, int64(math.MinInt64), ser.LastSampleTime())
	require.Zero(t, st.BufferBytes(), "NaN must not allocate the buffer")

	start, vals := ser.Values(math.MaxInt64, make([]float64, 3))
	require.Zero(t, start)
	require.Empty(t, vals)
	require.Zero(t, ser.Count(math.MaxInt64))

	require.NoError(t, ser.Append(10*sec, 1))
	require.Equal(t, int64(5*8), st.BufferBytes())
}

func TestValuesEnd(t *testing.T) {
	// Cells 10..14 hold 1..5, after cell 10 was written a second time
	// around the ring so that the window wraps inside the slice.
	ser := newTestSeries(t, NewStore(0, nil), AggLast)
	for c := int64(3); c <= 14; c++ {
		require.NoError(t, ser.Append(c*sec, float64(c-9)))
	}
	for _, tc := range []struct {
		name      string
		end       int64
		wantStart int64
		wantVals  []float64
	}{
		{name: "max", end: math.MaxInt64, wantStart: 10 * sec, wantVals: []float64{1, 2, 3, 4, 5}},
		{name: "just after head grid time", end: 14*sec + 1, wantStart: 10 * sec, wantVals: []float64{1, 2, 3, 4, 5}},
		{name: "at head grid time", end: 14 * sec, wantStart: 10 * sec, wantVals: []float64{1, 2, 3, 4}},
		{name: "middle", end: 12*sec + 500, wantStart: 10 * sec, wantVals: []float64{1, 2, 3}},
		{name: "first cell only", end: 10*sec + 1, wantStart: 10 * sec, wantVals: []float64{1}},
		{name: "at first grid time", end: 10 * sec, wantVals: []float64{}},
		{name: "zero", end: 0, wantVals: []float64{}},
		{name: "min", end: math.MinInt64, wantVals: []float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, vals := ser.Values(tc.end, nil)
			require.Equal(t, tc.wantStart, start)
			requireFloats(t, tc.wantVals, vals)
			require.Equal(t, len(tc.wantVals), ser.Count(tc.end))
		})
	}
}

func TestValuesOnlyGapsBeforeEnd(t *testing.T) {
	ser := newTestSeries(t, NewStore(0, nil), AggLast)
	require.NoError(t, ser.Append(10*sec, 1))
	require.NoError(t, ser.Append(20*sec, 2))

	start, vals := ser.Values(20*sec, nil)
	require.Zero(t, start)
	require.Empty(t, vals)
	require.Zero(t, ser.Count(20*sec))

	start, vals = ser.Values(21*sec, nil)
	require.Equal(t, 16*sec, start)
	requireFloats(t, []float64{nan, nan, nan, nan, 2}, vals)
}

func TestValuesReusesDst(t *testing.T) {
	ser := newTestSeries(t, NewStore(0, nil), AggLast)
	require.NoError(t, ser.Append(10*sec, 1))
	require.NoError(t, ser.Append(11*sec, 2))

	big := make([]float64, 1, 8)
	_, vals := ser.Values(math.MaxInt64, big)
	requireFloats(t, []float64{1, 2}, vals)
	require.Same(t, &big[:1][0], &vals[0], "a large enough dst must be reused")

	small := make([]float64, 1)
	_, vals = ser.Values(math.MaxInt64, small)
	requireFloats(t, []float64{1, 2}, vals)
	require.NotSame(t, &small[0], &vals[0])
}

func TestReset(t *testing.T) {
	base := Options{Step: time.Second, Window: 5 * time.Second, Aggregate: AggLast, Group: 1}
	for _, tc := range []struct {
		name     string
		opts     Options
		keepData bool
	}{
		{name: "only group changes", opts: Options{Step: time.Second, Window: 5 * time.Second, Aggregate: AggLast, Group: 3}, keepData: true},
		{name: "same options", opts: base, keepData: true},
		{name: "step changes", opts: Options{Step: 2 * time.Second, Window: 10 * time.Second, Aggregate: AggLast}},
		{name: "window changes", opts: Options{Step: time.Second, Window: 3 * time.Second, Aggregate: AggLast}},
		{name: "aggregation changes", opts: Options{Step: time.Second, Window: 5 * time.Second, Aggregate: AggSum}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStore(0, nil)
			ser, _, err := st.GetOrCreate(labels.FromStrings("a", "b"), base)
			require.NoError(t, err)
			require.NoError(t, ser.Append(10*sec, 1))
			require.NoError(t, ser.Append(11*sec, 2))

			ser.Reset(tc.opts)
			require.Equal(t, tc.opts, ser.Options())
			if tc.keepData {
				require.Equal(t, 11*sec, ser.LastSampleTime())
				require.Equal(t, 2, ser.Count(math.MaxInt64))
				require.Equal(t, int64(5*8), st.BufferBytes())
				return
			}
			require.Equal(t, int64(math.MinInt64), ser.LastSampleTime())
			require.Zero(t, ser.Count(math.MaxInt64))
			require.Zero(t, st.BufferBytes())

			// The new grid applies; older timestamps are accepted again.
			require.NoError(t, ser.Append(10*sec+1, 3))
			require.NoError(t, ser.Append(12*sec, 4))
			start, vals := ser.Values(math.MaxInt64, nil)
			step := int64(tc.opts.Step / time.Millisecond)
			require.Equal(t, 10*sec/step*step, start)
			require.Equal(t, int64(tc.opts.Capacity()*8), st.BufferBytes())
			require.Equal(t, 4.0, vals[len(vals)-1])
		})
	}
}

func TestResetInvalidPanics(t *testing.T) {
	ser := newTestSeries(t, NewStore(0, nil), AggLast)
	require.Panics(t, func() { ser.Reset(Options{Step: 0, Window: time.Hour}) })
}

func TestMemoryFootprint(t *testing.T) {
	// Guards the per-series overhead that 100k series multiply.
	require.LessOrEqual(t, unsafe.Sizeof(Series{}), uintptr(192))
	require.Equal(t, uintptr(64), unsafe.Sizeof(shard{}))
}

// TestAppendExtremeTimestamps checks that cell distances that overflow
// int64 neither panic nor land in the wrong cell (found by fuzzing the
// receiver with a 1 ms grid).
func TestAppendExtremeTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   int64
		second  int64
		wantErr error
	}{
		{"min then large", math.MinInt64, 1_700_000_000_000, nil},
		{"min then max", math.MinInt64, math.MaxInt64, nil},
		{"max then min", math.MaxInt64, math.MinInt64, ErrTooOld},
		{"large then min", 1_700_000_000_000, math.MinInt64, ErrTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStore(10, nil)
			ser, _, err := st.GetOrCreate(labels.FromStrings("__name__", "x"), Options{Step: time.Millisecond, Window: time.Second})
			require.NoError(t, err)
			require.NoError(t, ser.Append(tc.first, 1))
			require.ErrorIs(t, ser.Append(tc.second, 2), tc.wantErr)
			want := 1.0
			newest := tc.first
			if tc.wantErr == nil {
				want, newest = 2, tc.second
			}
			require.Equal(t, want, ser.At(newest))
			require.Equal(t, newest, ser.LastSampleTime())
		})
	}
}

func TestAt(t *testing.T) {
	st := NewStore(10, nil)
	ser, _, err := st.GetOrCreate(labels.FromStrings("__name__", "x"), Options{Step: time.Second, Window: 4 * time.Second})
	require.NoError(t, err)
	require.True(t, math.IsNaN(ser.At(0)), "empty series")
	for _, ts := range []int64{1000, 2500, 5000} { // cells 1, 2, 5; 3 and 4 are gaps
		require.NoError(t, ser.Append(ts, float64(ts)))
	}
	for _, tc := range []struct {
		t    int64
		want float64 // NaN: no value
	}{
		{1500, math.NaN()}, // cell 1 fell out of the 4-cell window
		{2000, 2500},
		{2999, 2500},
		{3000, math.NaN()}, // gap
		{5000, 5000},
		{5999, 5000},
		{6000, math.NaN()}, // newer than head
		{-1000, math.NaN()},
	} {
		got := ser.At(tc.t)
		if math.IsNaN(tc.want) {
			require.True(t, math.IsNaN(got), "At(%d) = %v", tc.t, got)
			continue
		}
		require.Equal(t, tc.want, got, "At(%d)", tc.t)
	}
}

// TestInfiniteIsGap: +Inf and -Inf never reach a buffer, by Append or Fill.
func TestInfiniteIsGap(t *testing.T) {
	st := NewStore(0, nil)
	s, _, err := st.GetOrCreate(labels.FromStrings("__name__", "m"), Options{Step: time.Second, Window: time.Minute})
	require.NoError(t, err)
	require.NoError(t, s.Append(1000, 1))
	require.NoError(t, s.Append(2000, math.Inf(1)))
	require.NoError(t, s.Append(3000, math.Inf(-1)))
	n, err := s.Fill(4000, []float64{math.Inf(1), 2, math.Inf(-1)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, vals := s.Values(math.MaxInt64, nil)
	require.Equal(t, "[1 NaN NaN NaN 2]", fmt.Sprint(vals))
}
