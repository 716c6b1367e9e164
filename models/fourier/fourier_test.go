package fourier_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/fourier"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
)

const (
	start = int64(1_700_000_000_000)
	step  = int64(60_000)
)

// fit fits a fresh model and fails the test on error.
func fit(t testing.TB, opts models.Options, harmonics int, s models.Series) models.Fitted {
	t.Helper()
	f, err := fourier.New(opts, harmonics).Fit(s, nil)
	require.NoError(t, err)
	return f
}

// maeFrom returns the mean absolute error of the forecasts for cells
// from..from+n-1 of s's grid against want(i).
func maeFrom(f models.Fitted, s models.Series, from, n int, want func(int) float64) float64 {
	var sum float64
	for i := from; i < from+n; i++ {
		sum += math.Abs(f.Predict(s.Time(i)).Yhat - want(i))
	}
	return sum / float64(n)
}

func TestName(t *testing.T) {
	require.Equal(t, "fourier", fourier.New(models.Options{}, 0).Name())
}

// TestCleanExtrapolation fits the first part of a clean pattern and checks
// the forecast of the next three periods tracks the true continuation.
func TestCleanExtrapolation(t *testing.T) {
	tests := []struct {
		name  string
		spec  synth.Spec
		train int
		opts  models.Options
	}{
		{"period divides window", synth.Spec{Level: 5, Amplitude: 2, Period: 24}, 24 * 7, models.Options{}},
		{"period does not divide window", synth.Spec{Level: 5, Amplitude: 2, Period: 24, Phase: 1}, 24*7 + 10, models.Options{}},
		{"period given", synth.Spec{Level: 5, Amplitude: 2, Period: 24}, 24*7 + 10, models.Options{Period: 24}},
		{"period 60 with trend", synth.Spec{Level: 100, Slope: 0.05, Amplitude: 3, Period: 60}, 60 * 4, models.Options{}},
		{"non-divisible, trend and long period", synth.Spec{Slope: -0.01, Amplitude: 1, Period: 288}, 288*3 + 100, models.Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec.Series(start, step, tc.train)
			f := fit(t, tc.opts, 0, s)
			period := int(tc.spec.Period)
			mae := maeFrom(f, s, tc.train, 3*period, tc.spec.Clean)
			require.Less(t, mae, 0.05*tc.spec.Amplitude)
		})
	}
}

func TestLinearTrend(t *testing.T) {
	spec := synth.Spec{Level: 10, Slope: 0.5}
	s := spec.Series(start, step, 100)
	f := fit(t, models.Options{}, 0, s)
	for _, i := range []int{0, 50, 99, 100, 150, 1000} {
		p := f.Predict(s.Time(i))
		require.InDelta(t, spec.Clean(i), p.Yhat, 1e-6, "i=%d", i)
		require.InDelta(t, 0, p.Upper-p.Lower, 1e-6, "i=%d", i)
	}
}

func TestConstant(t *testing.T) {
	s := synth.Spec{Level: 42}.Series(start, step, 50)
	f := fit(t, models.Options{}, 3, s)
	for _, i := range []int{-5, 0, 49, 50, 500} {
		p := f.Predict(s.Time(i))
		require.InDelta(t, 42, p.Yhat, 1e-9)
		require.InDelta(t, 42, p.Lower, 1e-9)
		require.InDelta(t, 42, p.Upper, 1e-9)
	}
}

// TestNoisyCoverage checks that about 95% of out-of-sample noisy
// observations fall inside the 95% band, and that the band is as wide as
// the noise says it should be.
func TestNoisyCoverage(t *testing.T) {
	const noise = 0.3
	tests := []struct {
		name   string
		period float64
		train  int
		seed   uint64
	}{
		{"hourly, daily period", 24, 24 * 14, 1},
		{"5m, daily period", 288, 288 * 7, 2},
		{"period 60", 60, 60 * 10, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := synth.Spec{Level: 3, Amplitude: 1, Period: tc.period, Noise: noise, Seed: tc.seed}
			test := 3 * int(tc.period)
			s, future := spec.Split(start, step, tc.train, test)
			f := fit(t, models.Options{IntervalWidth: 0.95}, 0, s)
			coverage := modeltest.Coverage(t, f, s, future)
			require.GreaterOrEqual(t, coverage, 0.85)
			require.LessOrEqual(t, coverage, 1.0)

			// The band comes from the errors of one held-out period: an
			// estimate from 24 to 288 errors, within 30% of the noise's.
			p := f.Predict(s.End())
			require.InEpsilon(t, 1.96*noise, (p.Upper-p.Lower)/2, 0.3)
			// The harmonics beyond the seasonal one fit noise and extrapolate
			// it: nine of them at amplitude ~2σ/√n add roughly 0.1 to the
			// error on the shortest series.
			mae := maeFrom(f, s, tc.train, test, spec.Clean)
			require.Less(t, mae, 0.15*spec.Amplitude)
		})
	}
}

func TestBand(t *testing.T) {
	spec := synth.Spec{Amplitude: 1, Period: 24, Noise: 0.2, Seed: 4}
	s := spec.Series(start, step, 24*5)
	narrow := fit(t, models.Options{IntervalWidth: 0.8}, 0, s)
	wide := fit(t, models.Options{IntervalWidth: 0.99}, 0, s)
	for i := -10; i < 24*8; i++ {
		n, w := narrow.Predict(s.Time(i)), wide.Predict(s.Time(i))
		require.LessOrEqual(t, n.Lower, n.Yhat)
		require.LessOrEqual(t, n.Yhat, n.Upper)
		require.Equal(t, n.Yhat, w.Yhat)
		require.Less(t, w.Lower, n.Lower)
		require.Greater(t, w.Upper, n.Upper)
		// The ratio of the half-widths is that of the Student t quantiles
		// (the variance is estimated from one held-out period): a little
		// more than the normal one.
		normal := models.ZScore(0.99) / models.ZScore(0.8)
		ratio := (w.Upper - w.Yhat) / (n.Upper - n.Yhat)
		require.Greater(t, ratio, normal)
		require.Less(t, ratio, 1.1*normal)
	}
}

func TestDeterministic(t *testing.T) {
	s := synth.Spec{Level: 1, Slope: 0.01, Amplitude: 1, Period: 24, Noise: 0.3, Seed: 5}.Series(start, step, 24*6)
	a, b := fit(t, models.Options{}, 0, s), fit(t, models.Options{}, 0, s)
	for i := range 24 * 10 {
		require.Equal(t, a.Predict(s.Time(i)), b.Predict(s.Time(i)))
	}
}

func TestGaps(t *testing.T) {
	spec := synth.Spec{Level: 2, Amplitude: 1, Period: 24}
	values := spec.Values(24 * 8)
	block := []int{60, 61, 62, 63, 64, 65} // a quarter period
	t.Run("tracks with gaps at the ends and inside", func(t *testing.T) {
		gaps := append([]int{0, 1, 17, 40, 77, 120, 191}, block...)
		s := models.Series{Start: start, Step: step, Values: synth.WithGaps(values, gaps...)}
		f := fit(t, models.Options{}, 0, s)
		require.Less(t, maeFrom(f, s, len(values), 48, spec.Clean), 0.1*spec.Amplitude)
	})
	t.Run("band from observed cells only", func(t *testing.T) {
		// Interior gaps only, so the window is the whole series.
		gaps := append([]int{17, 40, 77, 120}, block...)
		s := models.Series{Start: start, Step: step, Values: synth.WithGaps(values, gaps...)}
		f := fit(t, models.Options{}, 0, s)
		// sigma is the standard deviation of actual − fitted over observed
		// cells; the linear fill across the block is off the sine, so
		// counting filled cells would give a different band.
		filled, ok := models.Interpolate(s.Values)
		require.True(t, ok)
		var atObserved, atAll []float64
		for i, v := range s.Values {
			yhat := f.Predict(s.Time(i)).Yhat
			atAll = append(atAll, filled[i]-yhat)
			if !math.IsNaN(v) {
				atObserved = append(atObserved, v-yhat)
			}
		}
		// The band is at least the in-sample one (it widens to the holdout
		// errors when they are larger).
		p := f.Predict(s.End())
		z := models.ZScore(models.DefaultIntervalWidth)
		require.GreaterOrEqual(t, p.Upper-p.Yhat, z*stat.StdDev(atObserved, nil)-1e-9)
		require.Less(t, p.Upper-p.Yhat, z*stat.StdDev(atAll, nil))
	})
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	sparse := make([]float64, 100)
	for i := range sparse {
		sparse[i] = nan
		if i%15 == 0 {
			sparse[i] = float64(i) // 7 observed
		}
	}
	tests := []struct {
		name string
		s    models.Series
		opts models.Options
		want error
	}{
		{"empty", models.Series{Start: start, Step: step}, models.Options{}, models.ErrInsufficientData},
		{"too short", synth.Spec{Level: 1}.Series(start, step, fourier.MinObserved-1), models.Options{}, models.ErrInsufficientData},
		{"too few observed", models.Series{Start: start, Step: step, Values: sparse}, models.Options{}, models.ErrInsufficientData},
		{"all NaN", models.Series{Start: start, Step: step, Values: []float64{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}}, models.Options{}, models.ErrInsufficientData},
		{"zero step", models.Series{Start: start, Values: make([]float64, 20)}, models.Options{}, models.ErrInvalidSeries},
		{"bad width", synth.Spec{Level: 1}.Series(start, step, 20), models.Options{IntervalWidth: 1.5}, models.ErrInvalidOptions},
		{"negative period", synth.Spec{Level: 1}.Series(start, step, 20), models.Options{Period: -2}, models.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := fourier.New(tc.opts, 0).Fit(tc.s, nil)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
		})
	}
	t.Run("minimum is enough", func(t *testing.T) {
		_, err := fourier.New(models.Options{}, 0).Fit(synth.Spec{Level: 1, Slope: 1}.Series(start, step, fourier.MinObserved), nil)
		require.NoError(t, err)
	})
}

// TestHarmonics checks the harmonics kept are the strongest ones and that
// their number matters: one harmonic cannot carry a two-tone season.
func TestHarmonics(t *testing.T) {
	twoTone := func(i int) float64 {
		x := 2 * math.Pi * float64(i)
		return math.Sin(x/24) + 0.5*math.Sin(x/8)
	}
	values := make([]float64, 24*6)
	for i := range values {
		values[i] = twoTone(i)
	}
	s := models.Series{Start: start, Step: step, Values: values}
	strongest := func(i int) float64 { return math.Sin(2 * math.Pi * float64(i) / 24) }

	one := fit(t, models.Options{}, 1, s)
	require.Less(t, maeFrom(one, s, len(values), 48, strongest), 0.01)
	require.Greater(t, maeFrom(one, s, len(values), 48, twoTone), 0.2)

	two := fit(t, models.Options{}, 2, s)
	require.Less(t, maeFrom(two, s, len(values), 48, twoTone), 0.01)

	def, ten := fit(t, models.Options{}, 0, s), fit(t, models.Options{}, fourier.DefaultHarmonics, s)
	for i := range 48 {
		require.Equal(t, ten.Predict(s.Time(i)), def.Predict(s.Time(i)))
	}
}

func TestConformance(t *testing.T) {
	modeltest.Conformance(t, func(o models.Options) models.Model { return fourier.New(o, 0) })
}

func BenchmarkFit(b *testing.B) {
	modeltest.BenchmarkFit(b, fourier.New(models.Options{}, 0))
}

func BenchmarkFitKnownPeriod(b *testing.B) {
	modeltest.BenchmarkFitKnownPeriod(b, fourier.New(models.Options{}, 0))
}

// TestShortHistoryKeepsABand checks that a short noisy history is not
// over-fitted: the band keeps a width and the forecast stays near the data.
func TestShortHistoryKeepsABand(t *testing.T) {
	for _, n := range []int{8, 12, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			spec := synth.Spec{Level: 100, Amplitude: 50, Period: 360, Noise: 5, Seed: 7}
			s := spec.Series(start, 10_000, n)
			f := fit(t, models.Options{}, 0, s)
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range s.Values {
				lo, hi = min(lo, v), max(hi, v)
			}
			for h := range 6 {
				p := f.Predict(s.End() + int64(h)*s.Step)
				require.Greater(t, p.Upper-p.Lower, 1.0, "band of width %v", p.Upper-p.Lower)
				require.InDelta(t, (lo+hi)/2, p.Yhat, (hi-lo)+20, "yhat %v far outside the data [%v, %v]", p.Yhat, lo, hi)
			}
		})
	}
}
