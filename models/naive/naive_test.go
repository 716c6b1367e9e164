package naive_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/naive"
)

const (
	start = int64(1_700_000_000_000)
	step  = int64(60_000)
)

var z95 = models.ZScore(models.DefaultIntervalWidth)

func fit(t testing.TB, opts models.Options, s models.Series) models.Fitted {
	t.Helper()
	f, err := naive.New(opts).Fit(s, nil)
	require.NoError(t, err)
	return f
}

func isNaNPoint(p models.Point) bool {
	return math.IsNaN(p.Yhat) && math.IsNaN(p.Lower) && math.IsNaN(p.Upper)
}

func TestName(t *testing.T) {
	require.Equal(t, "seasonal_naive", naive.New(models.Options{}).Name())
}

// TestCleanSeason fits a clean periodic pattern: the forecast of the next
// periods repeats the last one, so it matches the true continuation.
func TestCleanSeason(t *testing.T) {
	tests := []struct {
		name  string
		spec  synth.Spec
		train int
		opts  models.Options
	}{
		{"detected 24", synth.Spec{Level: 5, Amplitude: 2, Period: 24}, 24 * 5, models.Options{}},
		{"detected 60, partial last period", synth.Spec{Amplitude: 3, Period: 60, Phase: 0.5}, 60*3 + 17, models.Options{}},
		{"given 24", synth.Spec{Level: -1, Amplitude: 1, Period: 24}, 24*2 + 3, models.Options{Period: 24}},
		{"detected 288", synth.Spec{Level: 10, Amplitude: 4, Period: 288}, 288 * 3, models.Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec.Series(start, step, tc.train)
			f := fit(t, tc.opts, s)
			period := int(tc.spec.Period)
			var mae float64
			for i := tc.train; i < tc.train+3*period; i++ {
				mae += math.Abs(f.Predict(s.Time(i)).Yhat-tc.spec.Clean(i)) / float64(3*period)
			}
			require.Less(t, mae, 1e-9*tc.spec.Amplitude)
		})
	}
}

// TestPeriodOption checks an explicit period overrides detection: with
// period 12 on a sine of period 24, the forecast repeats every 12 cells,
// which the detected period (24) does not.
func TestPeriodOption(t *testing.T) {
	spec := synth.Spec{Amplitude: 1, Period: 24}
	s := spec.Series(start, step, 24*4)
	f := fit(t, models.Options{Period: 12}, s)
	detected := fit(t, models.Options{}, s)
	for i := 96; i < 96+12; i++ {
		require.Equal(t, f.Predict(s.Time(i)).Yhat, f.Predict(s.Time(i+12)).Yhat, "i=%d", i)
		require.InDelta(t, spec.Clean(i), detected.Predict(s.Time(i)).Yhat, 1e-9, "i=%d", i)
	}
	require.Greater(t, math.Abs(detected.Predict(s.Time(99)).Yhat-detected.Predict(s.Time(111)).Yhat), 1.0)
}

// TestPlainNaive covers the fallback to period 1 when there is no season:
// the forecast is the last value. All in-sample errors of a line are the
// slope, and the seasonal differences at lag h are h·slope, so the band
// is slope·h up to MaxPeriods steps ahead and grows like sqrt(h) beyond.
func TestPlainNaive(t *testing.T) {
	const slope = 0.5
	s := synth.Spec{Level: 3, Slope: slope}.Series(start, step, 50)
	last := s.Values[49]
	f := fit(t, models.Options{}, s)
	for _, h := range []int{1, 2, 4, 9, 100} {
		p := f.Predict(s.Time(49 + h))
		want := slope * float64(h)
		if h > naive.MaxPeriods {
			want = slope * naive.MaxPeriods * math.Sqrt(float64(h)/naive.MaxPeriods)
		}
		require.Equal(t, last, p.Yhat, "h=%d", h)
		require.InDelta(t, want, p.Upper-p.Yhat, 1e-9, "h=%d", h)
		require.InDelta(t, p.Upper-p.Yhat, p.Yhat-p.Lower, 1e-9, "h=%d", h)
	}
}

// TestConstant checks a constant forecasts itself with a band of rounding
// width (relative 1e-9), so that rounding errors are no anomaly but any
// real deviation is a huge one.
func TestConstant(t *testing.T) {
	s := synth.Spec{Level: 7}.Series(start, step, 30)
	f := fit(t, models.Options{}, s)
	for _, i := range []int{29, 30, 31, 100} {
		p := f.Predict(s.Time(i))
		require.Equal(t, 7.0, p.Yhat)
		require.InDelta(t, 7, p.Lower, 1e-7)
		require.InDelta(t, 7, p.Upper, 1e-7)
		require.Less(t, p.Lower, p.Yhat)
		require.Equal(t, 0.0, models.AnomalyScore(7, p))
		require.Less(t, models.AnomalyScore(7+1e-12, p), 0.01)
		require.Greater(t, models.AnomalyScore(7.1, p), 1e6)
	}
}

// TestSteppedCount checks that a series that moved in its window keeps a
// band after it held still over the recent cells (where the in-sample
// errors are taken, all zero): a count of 5 that stepped to 6 (and one
// that stepped twice), with the step early, late or just out of the recent
// cells, with and without a daily period. The band's half width is half
// the spread of the seasonal differences over the window (one step of 1
// in n cells: about 0.5/√n); a band of rounding width made every later
// change, however small, an anomaly of infinite score.
func TestSteppedCount(t *testing.T) {
	const n = 4 * 1440
	for _, at := range []int{n / 10, n / 2, n - 300} {
		for _, twice := range []bool{false, true} {
			for _, period := range []int{-1, 1440} {
				vals := make([]float64, n)
				for i := range vals {
					vals[i] = 5
					if i >= at {
						vals[i] = 6
					}
					if twice && i >= at/2 && i < at {
						vals[i] = 3
					}
				}
				s := models.Series{Start: start, Step: step, Values: vals, Period: period}
				for _, m := range []models.Model{naive.New(models.Options{}), naive.NewDrift(models.Options{})} {
					f, err := m.Fit(s, nil)
					require.NoError(t, err)
					for h := range 120 {
						p := f.Predict(s.End() + int64(h)*step)
						require.Greater(t, p.Upper-p.Yhat, 0.1/math.Sqrt(n), "%s: step at %d, twice %v, period %d", m.Name(), at, twice, period)
					}
				}
			}
		}
	}
}

// TestNoisyCoverage checks about 95% of out-of-sample noisy observations
// fall in the 95% band, one season ahead and over three seasons.
func TestNoisyCoverage(t *testing.T) {
	tests := []struct {
		name    string
		period  float64
		train   int
		seasons int
		seed    uint64
	}{
		{"hourly, one day ahead", 24, 24 * 14, 1, 1},
		{"hourly, three days ahead", 24, 24 * 14, 3, 2},
		{"5m, one day ahead", 288, 288 * 7, 1, 3},
		{"period 60, two ahead", 60, 60 * 8, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := synth.Spec{Level: 3, Slope: 0.0002, Amplitude: 1, Period: tc.period, Noise: 0.3, Seed: tc.seed}
			test := tc.seasons * int(tc.period)
			s, future := spec.Split(start, step, tc.train, test)
			f := fit(t, models.Options{}, s)
			coverage := modeltest.Coverage(t, f, s, future)
			require.GreaterOrEqual(t, coverage, 0.85)
			require.LessOrEqual(t, coverage, 1.0)
			// One season ahead the error of the mean of K periods is
			// N(0, 0.3²·(1 + 1/K)) for K between 1 and MaxPeriods.
			p := f.Predict(s.End())
			require.GreaterOrEqual(t, p.Upper-p.Yhat, 0.85*z95*0.3*math.Sqrt(1+1.0/naive.MaxPeriods))
			require.LessOrEqual(t, p.Upper-p.Yhat, 1.15*z95*0.3*math.Sqrt2)
		})
	}
}

// TestCalibratedCoverage pools the out-of-sample coverage of many noisy
// series and checks it is near nominal, for a stable season with noise
// (the error does not grow with the horizon) and a wandering one (a
// seasonal random walk: the error grows like the square root of the
// periods ahead), one and three periods ahead.
func TestCalibratedCoverage(t *testing.T) {
	const period, train, seeds = 24, 24 * 14, 60
	tests := []struct {
		name     string
		walk     float64 // sd of the per-period random walk of each phase
		width    float64
		seasons  int
		min, max float64
	}{
		{"stable, 95%, 1 ahead", 0, 0.95, 1, 0.92, 0.98},
		{"stable, 95%, 3 ahead", 0, 0.95, 3, 0.92, 0.985},
		{"stable, 80%, 1 ahead", 0, 0.8, 1, 0.74, 0.86},
		{"wandering, 95%, 1 ahead", 0.3, 0.95, 1, 0.92, 0.98},
		{"wandering, 95%, 3 ahead", 0.3, 0.95, 3, 0.90, 0.99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sum float64
			for seed := range uint64(seeds) {
				spec := synth.Spec{Level: 10, Amplitude: 2, Period: period, Noise: 0.3, Seed: 200 + seed}
				all := spec.Values(train + tc.seasons*period)
				rng := rand.New(rand.NewPCG(seed, 77))
				drift := make([]float64, period)
				for i := range all {
					if i >= period {
						drift[i%period] += tc.walk * rng.NormFloat64()
					}
					all[i] += drift[i%period]
				}
				s := models.Series{Start: start, Step: step, Values: all[:train]}
				f := fit(t, models.Options{IntervalWidth: tc.width}, s)
				sum += modeltest.Coverage(t, f, s, all[train:])
			}
			coverage := sum / seeds
			t.Logf("coverage %.3f (nominal %v)", coverage, tc.width)
			require.GreaterOrEqual(t, coverage, tc.min)
			require.LessOrEqual(t, coverage, tc.max)
		})
	}
}

// TestAveragesNoisyPeriods checks a stable noisy season is forecast by
// averaging several periods: the error against the noiseless pattern is
// well below that of the last period alone (sd 0.3).
func TestAveragesNoisyPeriods(t *testing.T) {
	spec := synth.Spec{Level: 10, Amplitude: 2, Period: 24, Noise: 0.3, Seed: 31}
	s := spec.Series(start, step, 24*10)
	f := fit(t, models.Options{}, s)
	var mae float64
	for i := 240; i < 264; i++ {
		mae += math.Abs(f.Predict(s.Time(i)).Yhat-spec.Clean(i)) / 24
	}
	// The last period alone: mean absolute error 0.3·sqrt(2/π) ≈ 0.24.
	require.Less(t, mae, 0.18)
}

// TestWeekly checks a daily period becomes weekly when weekdays and
// weekends differ (hourly data, four weeks from a Monday), and stays daily
// when they do not, or when the step does not make the period a day.
func TestWeekly(t *testing.T) {
	const hour = int64(3_600_000)
	spec := synth.Spec{Level: 50, Amplitude: 8, Period: 24, Noise: 0.5, Seed: 41}
	plain := spec.Values(24 * 7 * 4)
	weekend := append([]float64(nil), plain...)
	for i := range weekend {
		if (i/24)%7 >= 5 {
			weekend[i] -= 20
		}
	}
	// meanError returns the mean forecast minus the clean daily pattern
	// over day d (day 28 is a Monday, 33 a Saturday).
	meanError := func(f models.Fitted, s models.Series, d int) float64 {
		var sum float64
		for i := 24 * d; i < 24*(d+1); i++ {
			sum += (f.Predict(s.Time(i)).Yhat - spec.Clean(i)) / 24
		}
		return sum
	}
	t.Run("weekend differs", func(t *testing.T) {
		s := models.Series{Step: hour, Values: weekend, Period: 24}
		f := fit(t, models.Options{}, s)
		require.InDelta(t, 0, meanError(f, s, 28), 1)
		require.InDelta(t, -20, meanError(f, s, 33), 1)
	})
	t.Run("every day alike", func(t *testing.T) {
		s := models.Series{Step: hour, Values: plain, Period: 24}
		f := fit(t, models.Options{}, s)
		require.InDelta(t, 0, meanError(f, s, 28), 1)
		require.InDelta(t, 0, meanError(f, s, 33), 1)
		// The period stayed a day: six days on is six seasons ahead, with
		// a wider band (a week would be one season, the same band).
		require.Less(t, f.Predict(s.Time(24*28)).Upper, f.Predict(s.Time(24*34)).Upper)
	})
	t.Run("step not an hour: 24 cells are no day", func(t *testing.T) {
		s := models.Series{Step: 60_000, Values: weekend, Period: 24}
		f := fit(t, models.Options{}, s)
		require.Less(t, meanError(f, s, 28), -5.0, "Monday forecast from the weekend")
	})
	t.Run("period given", func(t *testing.T) {
		s := models.Series{Step: hour, Values: weekend}
		f := fit(t, models.Options{Period: 24}, s)
		require.Less(t, meanError(f, s, 28), -5.0, "Monday forecast from the weekend")
	})
}

// TestGaps checks a gap in the last season falls back to the season before
// with the band of two seasons ahead, and a phase never observed falls back
// to the last observed value.
func TestGaps(t *testing.T) {
	spec := synth.Spec{Level: 1, Slope: 0.01, Amplitude: 1, Period: 24, Noise: 0.1, Seed: 5}
	values := spec.Values(24 * 4)
	s := models.Series{Start: start, Step: step, Values: synth.WithGaps(values, 24*3+5)}
	f := fit(t, models.Options{Period: 24}, s)

	full := f.Predict(s.Time(24*4 + 6))
	require.Equal(t, values[24*3+6], full.Yhat, "a trend: the last period alone")
	gap := f.Predict(s.Time(24*4 + 5))
	require.Equal(t, values[24*2+5], gap.Yhat)
	twoAhead := f.Predict(s.Time(24*5 + 6))
	require.InDelta(t, twoAhead.Upper-twoAhead.Yhat, gap.Upper-gap.Yhat, 1e-9)
	require.Greater(t, gap.Upper-gap.Yhat, full.Upper-full.Yhat, "the trend makes two seasons ahead worse")

	// Period 4 with phase 2 always missing.
	v := []float64{1, 2, math.NaN(), 4, 5, 6, math.NaN(), 8, 9, 10, math.NaN(), 12, 13}
	s = models.Series{Start: start, Step: step, Values: v}
	f = fit(t, models.Options{Period: 4}, s)
	p := f.Predict(s.Time(14)) // phase 2, two cells after the last value
	require.Equal(t, 13.0, p.Yhat)
	one := f.Predict(s.Time(13)) // phase 1: cell 9 one season back
	require.Equal(t, v[9], one.Yhat)
	require.InDelta(t, one.Upper-one.Yhat, p.Upper-p.Yhat, 1e-9, "ceil(2/4) = 1 season")
}

// TestInSample covers times inside the training data and off the grid.
func TestInSample(t *testing.T) {
	values := make([]float64, 30)
	for i := range values {
		values[i] = float64(i)
	}
	s := models.Series{Start: start, Step: step, Values: values}
	f := fit(t, models.Options{Period: 5}, s)

	require.Equal(t, 24.0, f.Predict(s.Time(29)).Yhat)
	require.Equal(t, 21.0, f.Predict(s.Time(26)).Yhat)
	// Off-grid times snap to the nearest cell.
	require.Equal(t, 24.0, f.Predict(s.Time(29)-step/3).Yhat)
	require.Equal(t, 23.0, f.Predict(s.Time(28)+step/3).Yhat)
	require.Equal(t, 25.0, f.Predict(s.Time(30)-step/3).Yhat)
	// Only the last two periods are kept: earlier cells have no forecast,
	// and neither do times before the data.
	require.True(t, isNaNPoint(f.Predict(s.Time(24))))
	require.True(t, isNaNPoint(f.Predict(s.Time(3))))
	require.True(t, isNaNPoint(f.Predict(s.Time(-7))))
}

// TestFitDoesNotAlias checks the fit keeps its own copy of what it needs.
func TestFitDoesNotAlias(t *testing.T) {
	s := synth.Spec{Amplitude: 1, Period: 24, Noise: 0.1, Seed: 6}.Series(start, step, 24*3)
	f := fit(t, models.Options{Period: 24}, s)
	before := f.Predict(s.End())
	inside := f.Predict(s.Time(24*3 - 1))
	for i := range s.Values {
		s.Values[i] = 1e6
	}
	require.Equal(t, before, f.Predict(s.End()))
	require.Equal(t, inside, f.Predict(s.Time(24*3-1)))
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		s    models.Series
		opts models.Options
		want error
	}{
		{"empty", models.Series{Start: start, Step: step}, models.Options{}, models.ErrInsufficientData},
		{"two points", models.Series{Start: start, Step: step, Values: []float64{1, 2}}, models.Options{}, models.ErrInsufficientData},
		{"all NaN", models.Series{Start: start, Step: step, Values: []float64{nan, nan, nan, nan}}, models.Options{}, models.ErrInsufficientData},
		{"no pairs a period apart", models.Series{Start: start, Step: step, Values: []float64{1, nan, 3, nan, 5, nan}}, models.Options{}, models.ErrInsufficientData},
		{"period longer than data", synth.Spec{Level: 1}.Series(start, step, 10), models.Options{Period: 12}, models.ErrInsufficientData},
		{"negative step", models.Series{Start: start, Step: -1, Values: make([]float64, 10)}, models.Options{}, models.ErrInvalidSeries},
		{"bad width", synth.Spec{Level: 1}.Series(start, step, 10), models.Options{IntervalWidth: -1}, models.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := naive.New(tc.opts).Fit(tc.s, nil)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
		})
	}
	t.Run("three points are enough", func(t *testing.T) {
		_, err := naive.New(models.Options{}).Fit(models.Series{Start: start, Step: step, Values: []float64{1, 2, 4}}, nil)
		require.NoError(t, err)
	})
}

func TestConformance(t *testing.T) {
	modeltest.Conformance(t, naive.New)
}

func BenchmarkFit(b *testing.B) {
	modeltest.BenchmarkFit(b, naive.New(models.Options{}))
}

// BenchmarkFitKnownPeriod measures a fit when the period is already known
// (as the engine passes it, having detected it once for all models).
func BenchmarkFitKnownPeriod(b *testing.B) {
	for _, tc := range []struct {
		name   string
		step   int64
		n      int
		period int
	}{
		{"7d_5m", 300_000, 7 * 288, 288},
		{"7d_1m", 60_000, 7 * 1440, 1440},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := synth.Spec{Level: 50, Amplitude: 10, Period: float64(tc.period), Noise: 2, Seed: 1}.Series(start, tc.step, tc.n)
			s.Period = tc.period
			m := naive.New(models.Options{})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Fit(s, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
