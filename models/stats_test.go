package models_test

import (
	"math"
	"math/rand/v2"
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

	tests := []struct {
		name   string
		values []float64
		maxLag int
		want   int
	}{
		{"sine 24, 4 periods, noise", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.3, Seed: 1}.Values(96), 0, 24},
		{"sine 60, 3 periods, noise", synth.Spec{Amplitude: 2, Period: 60, Noise: 0.4, Seed: 2}.Values(180), 0, 60},
		{"sine 7, 10 periods", synth.Spec{Amplitude: 1, Period: 7, Noise: 0.1, Seed: 4}.Values(70), 0, 7},
		{"daily at 1m over a week", synth.Spec{Level: 50, Amplitude: 10, Period: 1440, Noise: 2, Seed: 5}.Values(10080), 0, 1440},
		{"daily at 5m with steep trend", synth.Spec{Level: 1e3, Slope: 2, Amplitude: 20, Period: 288, Noise: 5, Seed: 6}.Values(2016), 0, 288},
		{"exactly two periods", synth.Spec{Amplitude: 1, Period: 30, Noise: 0.1, Seed: 7}.Values(60), 0, 30},
		{"square wave 12", square, 0, 12},
		{"24 with strong 12 harmonic", twoTone, 0, 24},
		{"30% random gaps", randomGaps(synth.Spec{Amplitude: 1, Period: 24, Noise: 0.2, Seed: 8}.Values(24*6), 0.3, 9), 0, 24},
		{"block gap", blockGap, 0, 24},
		{"leading gap does not count as data", leadingNaN, 0, 0},
		{"maxLag bounds search", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 10}.Values(200), 30, 24},
		{"maxLag below period", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 10}.Values(200), 20, 0},
		{"under two periods", synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 11}.Values(36), 0, 0},
		{"white noise", synth.Spec{Noise: 1, Seed: 12}.Values(500), 0, 0},
		{"constant", synth.Spec{Level: 3}.Values(100), 0, 0},
		{"zeros", make([]float64, 100), 0, 0},
		{"linear trend", synth.Spec{Level: 1, Slope: 0.5}.Values(100), 0, 0},
		{"all NaN", synth.WithGaps(make([]float64, 4), 0, 1, 2, 3), 0, 0},
		{"empty", nil, 0, 0},
		{"tiny", []float64{1, 2, 1}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, models.DetectPeriod(tc.values, tc.maxLag))
		})
	}
}

// TestDetectPeriodSeeds checks detection is not a lucky seed: many noisy
// realisations of the same seasonal signal all find the true period.
func TestDetectPeriodSeeds(t *testing.T) {
	for _, period := range []float64{24, 60} {
		for seed := range uint64(20) {
			v := synth.Spec{Level: 10, Slope: 0.01, Amplitude: 1, Period: period, Noise: 0.5, Seed: seed}.Values(int(period) * 4)
			require.Equal(t, int(period), models.DetectPeriod(v, 0), "period %v seed %d", period, seed)
		}
	}
}

func BenchmarkDetectPeriod(b *testing.B) {
	v := synth.Spec{Level: 50, Amplitude: 10, Period: 1440, Noise: 2, Seed: 1}.Values(10080)
	b.ReportAllocs()
	for b.Loop() {
		models.DetectPeriod(v, 0)
	}
}
