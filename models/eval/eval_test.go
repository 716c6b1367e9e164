package eval

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSMAPE(t *testing.T) {
	for _, tc := range []struct {
		name             string
		actual, forecast []float64
		want             float64
	}{
		{name: "perfect", actual: []float64{1, 2, 3}, forecast: []float64{1, 2, 3}, want: 0},
		// 200·|100−110|/210 = 9.5238…, 200·|50−40|/90 = 22.222…
		{name: "hand", actual: []float64{100, 50}, forecast: []float64{110, 40}, want: (2000.0/210 + 2000.0/90) / 2},
		{name: "opposite signs are 200", actual: []float64{1}, forecast: []float64{-1}, want: 200},
		{name: "both zero counts 0", actual: []float64{0, 1}, forecast: []float64{0, 3}, want: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SMAPE(tc.actual, tc.forecast)
			require.NoError(t, err)
			require.InDelta(t, tc.want, got, 1e-12)
		})
	}
	_, err := SMAPE([]float64{1}, []float64{1, 2})
	require.ErrorIs(t, err, ErrLength)
	_, err = SMAPE(nil, nil)
	require.ErrorIs(t, err, ErrLength)
}

func TestMASE(t *testing.T) {
	// Period 2: |3−1|, |4−2|, |7−3| → scale (2+2+4)/3 = 8/3.
	in := []float64{1, 2, 3, 4, 7}
	scale := SeasonalNaiveScale(in, 2)
	require.InDelta(t, 8.0/3, scale, 1e-12)
	// Period 1: |1|+|1|+|1|+|3| over 4 = 1.5.
	require.InDelta(t, 1.5, SeasonalNaiveScale(in, 1), 1e-12)
	require.True(t, math.IsNaN(SeasonalNaiveScale(in, 5)))

	got, err := MASE([]float64{10, 10}, []float64{8, 13}, scale)
	require.NoError(t, err)
	require.InDelta(t, 2.5/(8.0/3), got, 1e-12) // MAE (2+3)/2
	// The seasonal naive forecast of its own in-sample data scores 1.
	got, err = MASE(in[2:], in[:3], scale)
	require.NoError(t, err)
	require.InDelta(t, 1, got, 1e-12)
	_, err = MASE([]float64{1}, nil, 1)
	require.ErrorIs(t, err, ErrLength)
}

func TestOWA(t *testing.T) {
	require.Equal(t, 1.0, OWA(12, 0.9, 12, 0.9))
	require.InDelta(t, 0.75, OWA(6, 0.9, 12, 0.9), 1e-12) // half the sMAPE, same MASE
	require.InDelta(t, 1.5, OWA(12, 1.8, 12, 0.9), 1e-12)
}

func TestCoverage(t *testing.T) {
	got, err := Coverage([]float64{1, 2, 3, 4},
		[]float64{0, 2, 3.5, math.NaN()},
		[]float64{2, 2, 5, 5})
	require.NoError(t, err)
	require.Equal(t, 0.5, got) // 1 inside, 2 on both bounds; 3 below, 4 with a NaN bound
	_, err = Coverage([]float64{1}, []float64{1}, nil)
	require.ErrorIs(t, err, ErrLength)
}

func TestACF(t *testing.T) {
	// x = 1,2,3,4: mean 2.5, deviations −1.5 −.5 .5 1.5, sum of squares 5.
	// Lag 1: (−1.5·−.5 + −.5·.5 + .5·1.5)/5 = 1.25/5; lag 2: (−1.5·.5 + −.5·1.5)/5.
	r := ACF([]float64{1, 2, 3, 4}, 4)
	require.InDelta(t, 0.25, r[0], 1e-12)
	require.InDelta(t, -0.3, r[1], 1e-12)
	require.InDelta(t, -0.45, r[2], 1e-12)
	require.True(t, math.IsNaN(r[3]))
}

// seasonal returns n values of level·index[t mod len(index)].
func seasonal(n int, level float64, index []float64) []float64 {
	out := make([]float64, n)
	for t := range out {
		out[t] = level * index[t%len(index)]
	}
	return out
}

func TestSeasonalityTest(t *testing.T) {
	idx := []float64{0.5, 1, 1.5, 1}
	require.True(t, SeasonalityTest(seasonal(40, 10, idx), 4))
	// Three periods: r4 = 2/3 stays under the limit 0.73 that r1..r3 set.
	require.False(t, SeasonalityTest(seasonal(12, 10, idx), 4))
	require.False(t, SeasonalityTest(seasonal(11, 10, idx), 4), "shorter than 3 periods")
	require.False(t, SeasonalityTest(seasonal(40, 10, idx), 1), "period 1 is never seasonal")
	// A linear trend's slowly decaying ACF passes, as it does in R.
	trend := make([]float64, 40)
	for i := range trend {
		trend[i] = float64(i)
	}
	require.True(t, SeasonalityTest(trend, 4))
	// Signs without a cycle of 4: r4 = 0.1, under the limit of 0.437
	// that r1..r3 = −0.15, −0.4, 0.15 set for n = 20.
	require.False(t, SeasonalityTest([]float64{1, -1, 1, 1, -1, -1, 1, -1, -1, 1, 1, 1, -1, 1, -1, -1, 1, 1, -1, -1}, 4))
	// 72 values cover three periods of 24, but R's acf stops at lag 18.
	day := make([]float64, 24)
	for i := range day {
		day[i] = 2 + math.Sin(2*math.Pi*float64(i)/24)
	}
	require.False(t, SeasonalityTest(seasonal(72, 1, day), 24))
	require.True(t, SeasonalityTest(seasonal(252, 1, day), 24))
}

func TestMultiplicativeSeasonal(t *testing.T) {
	// A purely seasonal series with indices of mean 1 gives them back: the
	// centred 2×4 average of any window is the level.
	idx := []float64{0.5, 1, 1.5, 1}
	si, err := MultiplicativeSeasonal(seasonal(12, 10, idx), 4)
	require.NoError(t, err)
	for i, v := range si {
		require.InDelta(t, idx[i%4], v, 1e-12, "position %d", i)
	}
	// Odd period: plain average of order 3. x = 1,2,3,1,2,3: every ratio
	// is x[t]/2, so the indices are .5, 1, 1.5.
	si, err = MultiplicativeSeasonal([]float64{1, 2, 3, 1, 2, 3}, 3)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{0.5, 1, 1.5, 0.5, 1, 1.5}, si, 1e-12)
	_, err = MultiplicativeSeasonal([]float64{1, 2, 3}, 2)
	require.ErrorIs(t, err, ErrLength)
}

func TestNaive2(t *testing.T) {
	// Not seasonal: the last value repeated.
	f, err := Naive2([]float64{3, 1, 4, 1, 5}, 3, 4)
	require.NoError(t, err)
	require.Equal(t, []float64{5, 5, 5}, f)

	// Seasonal: 40 values of 10·idx end at phase 3 (index 1), so the level
	// is 10 and the next values follow the phases 0, 1, 2, 3, 0.
	idx := []float64{0.5, 1, 1.5, 1}
	f, err = Naive2(seasonal(40, 10, idx), 5, 4)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{5, 10, 15, 10, 5}, f, 1e-12)

	// Ending mid-cycle (phase 0 last): the forecast continues at phase 1.
	f, err = Naive2(seasonal(41, 10, idx), 2, 4)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float64{10, 15}, f, 1e-12)

	_, err = Naive2(nil, 1, 4)
	require.ErrorIs(t, err, ErrLength)
}
