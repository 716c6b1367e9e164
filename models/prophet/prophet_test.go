package prophet_test

import (
	"cmp"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

const (
	start  = int64(1_700_000_000_000)
	minute = int64(60_000)
	hour   = 60 * minute
)

var multiplicative = prophet.Options{Mode: prophet.Multiplicative}

func fit(t testing.TB, opts models.Options, popts prophet.Options, s models.Series) models.Fitted {
	t.Helper()
	f, err := prophet.New(opts, popts).Fit(s, nil)
	require.NoError(t, err)
	require.NotNil(t, f)
	return f
}

// signal is a sum of synthetic components (each noisy with its own seed)
// plus a change of slope by kneeSlope at cell kneeAt when kneeSlope != 0.
type signal struct {
	specs     []synth.Spec
	kneeAt    int
	kneeSlope float64
}

func (sg signal) clean(i int) float64 {
	y := sg.kneeSlope * float64(max(0, i-sg.kneeAt))
	for _, s := range sg.specs {
		y += s.Clean(i)
	}
	return y
}

// split returns the first train noisy values as a series with the given
// step, and the next test noisy values.
func (sg signal) split(step int64, train, test int) (models.Series, []float64) {
	all := make([]float64, train+test)
	for i := range all {
		all[i] = sg.kneeSlope * float64(max(0, i-sg.kneeAt))
	}
	for _, s := range sg.specs {
		for i, v := range s.Values(train + test) {
			all[i] += v
		}
	}
	return models.Series{Start: start, Step: step, Values: all[:train:train]}, all[train:]
}

// mae returns the mean absolute error of f's forecasts for cells
// from..from+n-1 of s's grid against want.
func mae(f models.Fitted, s models.Series, from, n int, want func(int) float64) float64 {
	var sum float64
	for i := from; i < from+n; i++ {
		sum += math.Abs(f.Predict(s.Time(i)).Yhat - want(i))
	}
	return sum / float64(n)
}

func TestName(t *testing.T) {
	require.Equal(t, "prophet", prophet.New(models.Options{}, prophet.Options{}).Name())
	require.Equal(t, "prophet_multiplicative", prophet.New(models.Options{}, multiplicative).Name())
}

func TestConformance(t *testing.T) {
	t.Run("additive", func(t *testing.T) {
		modeltest.Conformance(t, func(o models.Options) models.Model { return prophet.New(o, prophet.Options{}) })
	})
	t.Run("multiplicative", func(t *testing.T) {
		modeltest.Conformance(t, func(o models.Options) models.Model { return prophet.New(o, multiplicative) })
	})
}

// TestRecovery fits known patterns with noise and checks the forecast of
// the following cells against the noiseless continuation, and that about
// the nominal share of the noisy continuation falls in the 90% band.
func TestRecovery(t *testing.T) {
	tests := []struct {
		name        string
		sig         signal
		step        int64
		train, test int
		opts        models.Options
		maxMAE      float64
		// coverage bounds of the 90% band; the defaults are 0.83 and 0.97.
		minCover, maxCover float64
	}{
		{
			name:  "daily at 5m, 7 days",
			sig:   signal{specs: []synth.Spec{{Level: 50, Amplitude: 10, Period: 288, Noise: 2, Seed: 1}}},
			step:  5 * minute,
			train: 7 * 288, test: 288,
			maxMAE: 0.2,
		},
		{
			name: "daily and weekly at 1h, 4 weeks",
			sig: signal{specs: []synth.Spec{
				{Level: 100, Amplitude: 10, Period: 24, Noise: 1, Seed: 2},
				{Amplitude: 20, Period: 168, Phase: 1, Seed: 3},
			}},
			step:  hour,
			train: 4 * 168, test: 168,
			maxMAE: 0.5,
		},
		{
			name:  "trend and daily at 15m, 3 days",
			sig:   signal{specs: []synth.Spec{{Level: 10, Slope: 0.02, Amplitude: 3, Period: 96, Noise: 0.5, Seed: 4}}},
			step:  15 * minute,
			train: 3 * 96, test: 96,
			maxMAE: 0.2,
		},
		{
			name:  "hourly pattern at 1m, caller's period",
			sig:   signal{specs: []synth.Spec{{Level: 5, Amplitude: 2, Period: 60, Noise: 0.3, Seed: 5}}},
			step:  minute,
			train: 6 * 60, test: 120,
			opts:   models.Options{Period: 60},
			maxMAE: 0.1,
		},
		{
			// The band widens with the trend's uncertainty, which a real
			// change of slope raises: it over-covers the noise.
			name:  "trend change at 1h, no season",
			sig:   signal{specs: []synth.Spec{{Level: 20, Slope: 0.1, Noise: 0.5, Seed: 6}}, kneeAt: 250, kneeSlope: -0.25},
			step:  hour,
			train: 400, test: 96,
			maxMAE: 0.4, maxCover: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, future := tc.sig.split(tc.step, tc.train, tc.test)
			opts := tc.opts
			opts.IntervalWidth = 0.9
			f := fit(t, opts, prophet.Options{}, s)
			got := mae(f, s, tc.train, tc.test, tc.sig.clean)
			t.Logf("MAE %.4f", got)
			require.Less(t, got, tc.maxMAE)
			coverage := modeltest.Coverage(t, f, s, future)
			t.Logf("coverage %.3f", coverage)
			require.GreaterOrEqual(t, coverage, cmp.Or(tc.minCover, 0.83))
			require.LessOrEqual(t, coverage, cmp.Or(tc.maxCover, 0.97))
		})
	}
}

func BenchmarkFit(b *testing.B) {
	b.Run("additive", func(b *testing.B) {
		modeltest.BenchmarkFit(b, prophet.New(models.Options{}, prophet.Options{}))
	})
	b.Run("multiplicative", func(b *testing.B) {
		modeltest.BenchmarkFit(b, prophet.New(models.Options{}, multiplicative))
	})
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	ok := synth.Spec{Level: 1, Slope: 1}.Series(start, hour, 20)
	tests := []struct {
		name  string
		s     models.Series
		opts  models.Options
		popts prophet.Options
		want  error
	}{
		{"empty", models.Series{Start: start, Step: hour}, models.Options{}, prophet.Options{}, models.ErrInsufficientData},
		{"too few observed", models.Series{Start: start, Step: hour, Values: []float64{1, nan, nan, 2, math.Inf(1)}}, models.Options{}, prophet.Options{}, models.ErrInsufficientData},
		{"zero step", models.Series{Start: start, Values: ok.Values}, models.Options{}, prophet.Options{}, models.ErrInvalidSeries},
		{"bad width", ok, models.Options{IntervalWidth: 1}, prophet.Options{}, models.ErrInvalidOptions},
		{"negative period", ok, models.Options{Period: -1}, prophet.Options{}, models.ErrInvalidOptions},
		{"bad mode", ok, models.Options{}, prophet.Options{Mode: 7}, models.ErrInvalidOptions},
		{"bad changepoint range", ok, models.Options{}, prophet.Options{ChangepointRange: 1.5}, models.ErrInvalidOptions},
		{"negative changepoint prior", ok, models.Options{}, prophet.Options{ChangepointPriorScale: -1}, models.ErrInvalidOptions},
		{"NaN seasonality prior", ok, models.Options{}, prophet.Options{SeasonalityPriorScale: nan}, models.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := prophet.New(tc.opts, tc.popts).Fit(tc.s, nil)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
		})
	}
	t.Run("minimum is enough", func(t *testing.T) {
		s := models.Series{Start: start, Step: hour, Values: []float64{1, nan, 2, nan, nan, 4}}
		require.Equal(t, prophet.MinObserved, s.Observed())
		for _, p := range []prophet.Options{{}, multiplicative} {
			f := fit(t, models.Options{}, p, s)
			require.False(t, math.IsNaN(f.Predict(s.End()).Yhat))
		}
	})
}

// TestLinear checks a noiseless line is extrapolated exactly with a band
// of (almost) no width: no rate change is needed, so none is made and the
// trend carries no uncertainty either.
func TestLinear(t *testing.T) {
	for _, spec := range []synth.Spec{{Level: 42}, {Level: -3, Slope: 0.5}, {Level: 1e9, Slope: -7}} {
		s := spec.Series(start, minute, 500)
		for _, p := range []prophet.Options{{}, multiplicative} {
			f := fit(t, models.Options{}, p, s)
			for _, i := range []int{0, 250, 499, 500, 1000, 5000} {
				pt := f.Predict(s.Time(i))
				scale := math.Abs(spec.Clean(i)) + 1
				require.InDelta(t, spec.Clean(i), pt.Yhat, 1e-6*scale, "%+v cell %d", spec, i)
				require.Less(t, pt.Upper-pt.Lower, 1e-4*scale, "%+v cell %d", spec, i)
			}
		}
	}
}

// TestPeriodMatters checks the caller's period is what lets a short
// history's season be fitted, from Options or from the Series.
func TestPeriodMatters(t *testing.T) {
	spec := synth.Spec{Level: 5, Amplitude: 2, Period: 60, Noise: 0.3, Seed: 5}
	s := spec.Series(start, minute, 6*60)
	without := fit(t, models.Options{}, prophet.Options{}, s)
	require.Greater(t, mae(without, s, len(s.Values), 120, spec.Clean), 1.0)

	fromOpts := fit(t, models.Options{Period: 60}, prophet.Options{}, s)
	require.Less(t, mae(fromOpts, s, len(s.Values), 120, spec.Clean), 0.1)
	s.Period = 60
	fromSeries := fit(t, models.Options{}, prophet.Options{}, s)
	for i := range 120 {
		require.Equal(t, fromOpts.Predict(s.End()+int64(i)*s.Step), fromSeries.Predict(s.End()+int64(i)*s.Step))
	}
	s.Period = -1 // none found: as without
	require.Equal(t, without.Predict(s.End()), fit(t, models.Options{}, prophet.Options{}, s).Predict(s.End()))
}

// TestMultiplicative fits a season whose amplitude grows with the level:
// the multiplicative mode tracks it, the additive one cannot.
func TestMultiplicative(t *testing.T) {
	const train, test = 14 * 24, 48
	clean := func(i int) float64 {
		level := 100 + 2*float64(i)
		return level * (1 + 0.3*math.Sin(2*math.Pi*float64(i)/24))
	}
	noise := synth.Spec{Noise: 2, Seed: 8}.Values(train + test)
	values := make([]float64, train)
	for i := range values {
		values[i] = clean(i) + noise[i]
	}
	s := models.Series{Start: start, Step: hour, Values: values}
	future := make([]float64, test)
	for j := range future {
		future[j] = clean(train+j) + noise[train+j]
	}
	mult := fit(t, models.Options{IntervalWidth: 0.9}, multiplicative, s)
	add := fit(t, models.Options{IntervalWidth: 0.9}, prophet.Options{}, s)
	multMAE, addMAE := mae(mult, s, train, test, clean), mae(add, s, train, test, clean)
	t.Logf("MAE multiplicative %.3f additive %.3f", multMAE, addMAE)
	require.Less(t, multMAE, 2.0)
	require.Greater(t, addMAE, 3*multMAE)
	coverage := modeltest.Coverage(t, mult, s, future)
	require.GreaterOrEqual(t, coverage, 0.8)
}

// TestBandGrowsWithHorizon checks the band is the noise's inside the
// history and widens past its end with the trend's uncertainty.
func TestBandGrowsWithHorizon(t *testing.T) {
	sig := signal{specs: []synth.Spec{{Level: 20, Slope: 0.1, Amplitude: 2, Period: 24, Noise: 0.5, Seed: 6}}, kneeAt: 250, kneeSlope: -0.25}
	s, _ := sig.split(hour, 400, 0)
	f := fit(t, models.Options{}, prophet.Options{}, s)
	width := func(i int) float64 { p := f.Predict(s.Time(i)); return p.Upper - p.Lower }
	for _, i := range []int{0, 100, 399} {
		require.InDelta(t, width(0), width(i), 1e-9)
	}
	z := models.ZScore(models.DefaultIntervalWidth)
	require.InEpsilon(t, 2*z*0.5, width(0), 0.15, "band of the noise σ = 0.5")
	prev := width(399)
	for _, h := range []int{1, 10, 100, 400} {
		w := width(399 + h)
		require.Greater(t, w, prev, "horizon %d", h)
		prev = w
	}
}
