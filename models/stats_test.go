package models_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

func TestInterpolate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		in     []float64
		want   []float64
		wantOK bool
	}{
		{"no gaps", []float64{1, 2, 3}, []float64{1, 2, 3}, true},
		{"interior gap", []float64{0, nan, nan, nan, 8}, []float64{0, 2, 4, 6, 8}, true},
		{"two interior gaps", []float64{1, nan, 3, 10, nan, 0}, []float64{1, 2, 3, 10, 5, 0}, true},
		{"leading and trailing", []float64{nan, nan, 4, nan, 6, nan, nan}, []float64{4, 4, 4, 5, 6, 6, 6}, true},
		{"inf is a gap", []float64{2, inf, -inf, 5}, []float64{2, 3, 4, 5}, true},
		{"exactly two", []float64{nan, 1, nan, nan, 7}, []float64{1, 1, 3, 5, 7}, true},
		{"one value", []float64{nan, 3, nan}, nil, false},
		{"all NaN", []float64{nan, nan}, nil, false},
		{"empty", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			got, ok := models.Interpolate(in)
			require.Equal(t, tc.wantOK, ok)
			require.InDeltaSlice(t, tc.want, got, 1e-12)
			// The input is not modified (NaN != NaN, so compare bits).
			for i := range in {
				require.Equal(t, math.Float64bits(tc.in[i]), math.Float64bits(in[i]))
			}
		})
	}
}

func TestLinearTrend(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name         string
		in           []float64
		wantA, wantB float64
		wantOK       bool
	}{
		{"exact line", []float64{1, 3, 5, 7}, 1, 2, true},
		{"line with gaps", []float64{nan, -2, nan, -4, -5, nan}, -1, -1, true},
		{"constant", []float64{4, 4, 4}, 4, 0, true},
		{"symmetric noise", []float64{1, -1, 1, -1}, 0.6, -0.4, true},
		{"one point", []float64{nan, 2}, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, ok := models.LinearTrend(tc.in)
			require.Equal(t, tc.wantOK, ok)
			require.InDelta(t, tc.wantA, a, 1e-12)
			require.InDelta(t, tc.wantB, b, 1e-12)
		})
	}
}

func TestSeasonalTrend(t *testing.T) {
	nan := math.NaN()
	withGaps := synth.WithGaps(synth.Spec{Level: 2, Slope: -0.3, Amplitude: 4, Period: 12}.Values(50), 3, 15, 27, 40)
	tests := []struct {
		name         string
		in           []float64
		period       int
		wantA, wantB float64
		wantOK       bool
	}{
		{"sine over partial periods", synth.Spec{Level: 5, Slope: 0.2, Amplitude: 3, Period: 24}.Values(24*3 + 7), 24, 5, 0.2, true},
		{"gaps, including a whole column of pairs", withGaps, 12, 2, -0.3, true},
		{"period 1 is a plain line", []float64{1, 3, 5, 7}, 1, 1, 2, true},
		{"no pairs a period apart", []float64{1, nan, nan, 2}, 2, 0, 0, false},
		{"zero period", []float64{1, 2, 3}, 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, ok := models.SeasonalTrend(tc.in, tc.period)
			require.Equal(t, tc.wantOK, ok)
			require.InDelta(t, tc.wantB, b, 1e-9)
			if tc.wantOK {
				// The intercept centres the residuals; for whole
				// periods it is the level, otherwise close to it.
				require.InDelta(t, tc.wantA, a, 0.5)
			}
		})
	}
	t.Run("least squares is tilted where this is not", func(t *testing.T) {
		v := synth.Spec{Amplitude: 1, Period: 24}.Values(24 * 4)
		_, lsSlope, _ := models.LinearTrend(v)
		_, slope, _ := models.SeasonalTrend(v, 24)
		require.Greater(t, math.Abs(lsSlope), 1e-3)
		require.InDelta(t, 0, slope, 1e-12)
	})
}

func TestDetectPeriod(t *testing.T) {
	square := make([]float64, 12*8)
	for i := range square {
		if i%12 < 3 {
			square[i] = 5
		}
	}
	twoTone := make([]float64, 24*5)
	for i := range twoTone {
		x := 2 * math.Pi * float64(i)
		twoTone[i] = math.Sin(x/24) + 0.8*math.Sin(x/12)
	}
	// Hourly, four weeks: a daily cycle plus a weekend lift.
	weekly := synth.Spec{Amplitude: 1, Period: 24, Noise: 0.2, Seed: 13}.Values(24 * 7 * 4)
	for i := range weekly {
		if (i/24)%7 >= 5 {
			weekly[i] += 1.5
		}
	}
	randomGaps := func(v []float64, frac float64, seed uint64) []float64 {
		rng := rand.New(rand.NewPCG(seed, 1))
		out := append([]float64(nil), v...)
		for i := range out {
			if rng.Float64() < frac {
				out[i] = math.NaN()
			}
		}
		return out
	}
	blockGap := synth.Spec{Amplitude: 1, Period: 24, Noise: 0.2, Seed: 3}.Values(24 * 6)
	for i := 30; i < 50; i++ {
		blockGap[i] = math.NaN()
	}
	// 1.5 periods of data after a long gap: the gap is not data.
	leadingNaN := make([]float64, 100, 145)
	for i := range leadingNaN {
		leadingNaN[i] = math.NaN()
	}
	leadingNaN = append(leadingNaN, synth.Spec{Amplitude: 1, Period: 30}.Values(45)...)

	// Trends that are not a line, over a noisy daily season at 5m.
	vShape := synth.Spec{Level: 100, Amplitude: 10, Period: 288, Noise: 2, Seed: 14}.Values(2016)
	levelShift := append([]float64(nil), vShape...)
	for i := range vShape {
		vShape[i] += 60 - 60*math.Abs(float64(i-1008))/1008
		if i > 2016/3 {
			levelShift[i] += 40
		}
	}
	rng := rand.New(rand.NewPCG(15, 1))
	walk := make([]float64, 2016)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + rng.NormFloat64()
	}

	// tol is the allowed error in steps. At the noise of the two long-period
	// cases the Cramér–Rao bound on the period's standard deviation is about
	// 0.3 steps, so an estimate one step off is legitimately possible there;
	// everything else must be exact.
	tests := []struct {
		name   string
		values []float64
		maxLag int
		want   int
		tol    int
	}{
		{"sine 24, 4 periods, noise", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.3, Seed: 1}.Values(96), 0, 24, 0},
		{"sine 60, 3 periods, noise", synth.Spec{Amplitude: 2, Period: 60, Noise: 0.4, Seed: 2}.Values(180), 0, 60, 0},
		{"sine 7, 10 periods", synth.Spec{Amplitude: 1, Period: 7, Noise: 0.1, Seed: 4}.Values(70), 0, 7, 0},
		{"daily at 1m over a week", synth.Spec{Level: 50, Amplitude: 10, Period: 1440, Noise: 2, Seed: 5}.Values(10080), 0, 1440, 1},
		{"daily at 5m with steep trend", synth.Spec{Level: 1e3, Slope: 2, Amplitude: 20, Period: 288, Noise: 5, Seed: 6}.Values(2016), 0, 288, 1},
		{"exactly two periods", synth.Spec{Amplitude: 1, Period: 30, Noise: 0.1, Seed: 7}.Values(60), 0, 30, 0},
		{"square wave 12", square, 0, 12, 0},
		{"weekly pattern over daily", weekly, 0, 168, 0},
		{"weekly pattern, maxLag below a week", weekly, 100, 24, 0},
		{"24 with strong 12 harmonic", twoTone, 0, 24, 0},
		{"30% random gaps", randomGaps(synth.Spec{Amplitude: 1, Period: 24, Noise: 0.2, Seed: 8}.Values(24*6), 0.3, 9), 0, 24, 0},
		{"block gap", blockGap, 0, 24, 0},
		{"leading gap does not count as data", leadingNaN, 0, 0, 0},
		{"maxLag bounds search", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 10}.Values(200), 30, 24, 0},
		{"maxLag below period", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 10}.Values(200), 20, 0, 0},
		{"under two periods", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 11}.Values(36), 0, 0, 0},
		{"V-shaped trend (turns half way)", vShape, 0, 288, 1},
		{"level shift of 4 amplitudes", levelShift, 0, 288, 4},
		{"random walk, no season", walk, 0, 0, 0},
		{"daily at 15s over a week", synth.Spec{Level: 5, Amplitude: 1, Period: 5760, Noise: 0.3, Seed: 16}.Values(40320), 0, 5760, 2},
		{"hourly at 15s over a day", synth.Spec{Level: 5, Amplitude: 1, Period: 240, Noise: 0.3, Seed: 17}.Values(5760), 0, 240, 0},
		{"white noise", synth.Spec{Noise: 1, Seed: 12}.Values(500), 0, 0, 0},
		{"constant", synth.Spec{Level: 3}.Values(100), 0, 0, 0},
		{"zeros", make([]float64, 100), 0, 0, 0},
		{"linear trend", synth.Spec{Level: 1, Slope: 0.5}.Values(100), 0, 0, 0},
		{"all NaN", synth.WithGaps(make([]float64, 4), 0, 1, 2, 3), 0, 0, 0},
		{"empty", nil, 0, 0, 0},
		{"tiny", []float64{1, 2, 1}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := models.DetectPeriod(tc.values, tc.maxLag)
			require.InDelta(t, tc.want, got, float64(tc.tol), "got %d", got)
		})
	}
}

// TestDetectPeriodSeeds checks detection is not a lucky seed: many noisy
// realisations of the same trending seasonal signal over four periods find
// the true period. Four periods pin a period down only so far: the
// Cramér–Rao bound on its standard deviation is about 0.22 steps for period
// 60 at a signal-to-noise power ratio of 5.6 and 0.37 at 2, so even an
// efficient estimator is one step off in about 2% and 18% of series. The
// thresholds allow for that; at the heavier noise a rare multiple of the
// period (the ACF peaks at 2p are as high as at p) is tolerated too.
func TestDetectPeriodSeeds(t *testing.T) {
	tests := []struct {
		name     string
		period   float64
		noise    float64
		minExact float64 // fraction exactly right
		minNear  float64 // fraction within one step
	}{
		{"24 moderate noise", 24, 0.3, 0.95, 1},
		{"60 moderate noise", 60, 0.3, 0.9, 1},
		{"24 heavy noise", 24, 0.5, 0.75, 0.97},
		{"60 heavy noise", 60, 0.5, 0.7, 0.97},
	}
	const seeds = 100
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exact, near := 0, 0
			for seed := range uint64(seeds) {
				spec := synth.Spec{Level: 10, Slope: 0.01, Amplitude: 1, Period: tc.period, Noise: tc.noise, Seed: seed}
				got := models.DetectPeriod(spec.Values(int(tc.period)*4), 0)
				if got == int(tc.period) {
					exact++
				}
				if math.Abs(float64(got)-tc.period) <= 1 {
					near++
				}
			}
			require.GreaterOrEqual(t, float64(exact)/seeds, tc.minExact)
			require.GreaterOrEqual(t, float64(near)/seeds, tc.minNear)
		})
	}
}

// BenchmarkDetectPeriod detects the daily period of a noisy week at 5m
// (2,016 cells) and at 1m (10,080 cells), without and with 5% of the cells
// missing (which takes the slower path for gaps).
func BenchmarkDetectPeriod(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
		gaps float64
	}{
		{"n=2016", 2016, 0},
		{"n=10080", 10080, 0},
		{"n=2016/gaps", 2016, 0.05},
		{"n=10080/gaps", 10080, 0.05},
		{"n=40320", 40320, 0}, // 7d at 15s
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := synth.Spec{Level: 50, Amplitude: 10, Period: float64(tc.n) / 7, Noise: 2, Seed: 1}.Values(tc.n)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range v {
				if rng.Float64() < tc.gaps {
					v[i] = math.NaN()
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				models.DetectPeriod(v, 0)
			}
		})
	}
}

// TestSelectK checks SelectK against a sort, ties and edges included.
func TestSelectK(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 1; n < 60; n++ {
		a := make([]float64, n)
		for i := range a {
			a[i] = float64(rng.IntN(10)) // many ties
		}
		sorted := slices.Clone(a)
		slices.Sort(sorted)
		for k := -1; k <= n; k++ {
			want := sorted[min(max(k, 0), n-1)]
			if got := models.SelectK(slices.Clone(a), k); got != want {
				t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got, want)
			}
		}
	}
}

func TestMedian(t *testing.T) {
	require.Equal(t, 2.0, models.Median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, models.Median([]float64{4, 1, 3, 2}))
	require.True(t, math.IsNaN(models.Median(nil)))
	v := []float64{3, 1, 2}
	models.Median(v)
	require.Equal(t, []float64{1, 2, 3}, v, "sorted in place")
}
