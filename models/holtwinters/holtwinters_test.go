package holtwinters_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/holtwinters"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
)

const (
	start = int64(1_700_000_000_000)
	step  = int64(60_000)
)

func TestConformance(t *testing.T) {
	modeltest.Conformance(t, holtwinters.New)
}

func BenchmarkFit(b *testing.B) {
	modeltest.BenchmarkFit(b, holtwinters.New(models.Options{}))
}

func fit(t testing.TB, opts models.Options, s models.Series) models.Fitted {
	t.Helper()
	f, err := holtwinters.New(opts).Fit(s, nil)
	require.NoError(t, err)
	return f
}

// maeAhead returns the mean absolute error of f's forecasts for the n cells
// after s against want(i), i the grid index.
func maeAhead(f models.Fitted, s models.Series, n int, want func(int) float64) float64 {
	var sum float64
	for i := len(s.Values); i < len(s.Values)+n; i++ {
		sum += math.Abs(f.Predict(s.Time(i)).Yhat - want(i))
	}
	return sum / float64(n)
}

func TestName(t *testing.T) {
	require.Equal(t, "holtwinters", holtwinters.New(models.Options{}).Name())
}

// TestRecoversPatterns fits known synthetic patterns and checks the
// forecast of the next day against the noiseless signal: the error must be
// a fraction of the noise (which bounds how well any model can do) and far
// below the seasonal amplitude.
func TestRecoversPatterns(t *testing.T) {
	daily := synth.Spec{Level: 100, Slope: 0.05, Amplitude: 10, Period: 24, Noise: 1, Seed: 21}
	// Weekly: a daily sine plus a weekend lift of 6, hourly over four weeks.
	weekly := func(i int) float64 {
		y := 50 + 8*math.Sin(2*math.Pi*float64(i)/24)
		if (i/24)%7 >= 5 {
			y += 6
		}
		return y
	}
	// Trend change: rising 0.2 per step, then falling 0.1 per step for the
	// last four days of training, under a daily season.
	const change = 24 * 10
	trendChange := func(i int) float64 {
		y := 20 + 5*math.Sin(2*math.Pi*float64(i)/24)
		if i < change {
			return y + 0.2*float64(i)
		}
		return y + 0.2*change - 0.1*float64(i-change)
	}
	tests := []struct {
		name   string
		clean  func(int) float64
		noise  float64
		train  int
		ahead  int
		opts   models.Options
		maxMAE float64
	}{
		{"daily with trend, detected", daily.Clean, 1, 24 * 14, 24, models.Options{}, 0.6},
		{"daily at 5m over a week", synth.Spec{Level: 10, Amplitude: 3, Period: 288}.Clean, 0.3, 288 * 7, 288, models.Options{}, 0.2},
		{"weekly over daily", weekly, 1, 24 * 7 * 4, 24 * 7, models.Options{Period: 168}, 0.8},
		{"trend change", trendChange, 0.5, change + 24*4, 24, models.Options{Period: 24}, 1.0},
		{"no season: line", func(i int) float64 { return 3 + 0.5*float64(i) }, 0.2, 200, 20, models.Options{}, 0.3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noise := synth.Spec{Noise: tc.noise, Seed: 5}.Values(tc.train)
			s := models.Series{Start: start, Step: step, Values: make([]float64, tc.train)}
			for i := range s.Values {
				s.Values[i] = tc.clean(i) + noise[i]
			}
			f := fit(t, tc.opts, s)
			mae := maeAhead(f, s, tc.ahead, tc.clean)
			t.Logf("MAE %.3f (noise sd %.2f)", mae, tc.noise)
			require.Less(t, mae, tc.maxMAE)
		})
	}
}

// TestCoverage checks the share of out-of-sample points inside the band is
// near nominal, pooled over many noisy series, one and twelve steps ahead
// and over a whole day ahead.
func TestCoverage(t *testing.T) {
	tests := []struct {
		width    float64
		ahead    int
		min, max float64
	}{
		{0.95, 1, 0.92, 0.98},
		{0.95, 12, 0.91, 0.99},
		{0.95, 24, 0.91, 0.99},
		{0.8, 24, 0.72, 0.88},
	}
	for _, tc := range tests {
		seeds := max(40, 480/tc.ahead) // at least 480 points in all
		t.Run(fmt.Sprintf("width=%v ahead=%d", tc.width, tc.ahead), func(t *testing.T) {
			var sum float64
			for seed := range uint64(seeds) {
				spec := synth.Spec{Level: 50, Slope: 0.01, Amplitude: 10, Period: 24, Noise: 1, Seed: 100 + seed}
				s, future := spec.Split(start, step, 24*10, tc.ahead)
				f := fit(t, models.Options{IntervalWidth: tc.width, Period: 24}, s)
				sum += modeltest.Coverage(t, f, s, future)
			}
			coverage := sum / float64(seeds)
			t.Logf("coverage %.3f (nominal %v)", coverage, tc.width)
			require.GreaterOrEqual(t, coverage, tc.min)
			require.LessOrEqual(t, coverage, tc.max)
		})
	}
}

// TestGaps checks NaN cells are missing observations: a fit with a tenth
// of the cells (and a whole block) missing forecasts nearly as well as
// without them, and a gap at the end still forecasts the next cells.
func TestGaps(t *testing.T) {
	spec := synth.Spec{Level: 10, Amplitude: 4, Period: 24, Noise: 0.3, Seed: 8}
	s := spec.Series(start, step, 24*10)
	full := maeAhead(fit(t, models.Options{}, s), s, 24, spec.Clean)

	gappy := s
	gappy.Values = append([]float64(nil), s.Values...)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range gappy.Values {
		if rng.Float64() < 0.1 || (i >= 100 && i < 130) || i >= len(gappy.Values)-3 {
			gappy.Values[i] = math.NaN()
		}
	}
	f := fit(t, models.Options{}, gappy)
	mae := maeAhead(f, gappy, 24, spec.Clean)
	t.Logf("MAE %.3f with gaps, %.3f without", mae, full)
	require.Less(t, mae, 2*full+0.05)
	require.Less(t, mae, 0.3)
}

// TestNoSeasonShortHistory covers series under two periods (or with none):
// a non-seasonal damped or undamped trend, finite bands.
func TestNoSeasonShortHistory(t *testing.T) {
	s := synth.Spec{Level: 5, Amplitude: 1, Period: 24, Noise: 0.1, Seed: 3}.Series(start, step, 30)
	f := fit(t, models.Options{Period: 24}, s)
	for h := range 50 {
		p := f.Predict(s.End() + int64(h)*step)
		require.False(t, math.IsNaN(p.Yhat) || math.IsInf(p.Upper-p.Lower, 0), "h=%d: %+v", h, p)
		require.Less(t, p.Lower, p.Upper)
	}
	// Constant data: a band of rounding width (1e-9 relative) on the
	// constant.
	c := synth.Spec{Level: 7}.Series(start, step, 50)
	p := fit(t, models.Options{}, c).Predict(c.End())
	require.InDelta(t, 7, p.Yhat, 1e-9)
	require.Greater(t, p.Upper-p.Lower, 0.0)
	require.InDelta(t, 0, p.Upper-p.Lower, 1e-7)
}

// TestSteppedCount checks that a count that stepped before the fit window
// (the last 2048 cells without a season) and held still over it keeps a
// band: it was of rounding width, so every later change was an anomaly of
// infinite score. Over the whole span the fit's one-step errors are not
// zero.
func TestSteppedCount(t *testing.T) {
	const n = 4 * 1440
	for _, at := range []int{n / 10, n / 2} {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = 5
			if i >= at {
				vals[i] = 6
			}
		}
		s := models.Series{Start: start, Step: step, Values: vals, Period: -1}
		f := fit(t, models.Options{}, s)
		for h := range 120 {
			p := f.Predict(s.End() + int64(h)*step)
			require.InDelta(t, 6, p.Yhat, 1e-9)
			require.Greater(t, p.Upper-p.Yhat, 0.1/math.Sqrt(n), "step at %d", at)
			require.Less(t, p.Upper-p.Yhat, 0.5, "step at %d", at)
		}
	}
}

// TestInSample covers times inside the training data: the last period has
// in-sample one-step forecasts, earlier times none.
func TestInSample(t *testing.T) {
	spec := synth.Spec{Level: 10, Amplitude: 4, Period: 24, Noise: 0.3, Seed: 9}
	s := spec.Series(start, step, 24*5)
	f := fit(t, models.Options{Period: 24}, s)
	for i := 24 * 4; i < 24*5; i++ {
		p := f.Predict(s.Time(i))
		require.InDelta(t, spec.Clean(i), p.Yhat, 1.5, "i=%d", i)
		require.Less(t, p.Lower, p.Yhat)
	}
	p := f.Predict(s.Time(24*4 - 1))
	require.True(t, math.IsNaN(p.Yhat))
	// Off-grid times snap to the nearest cell.
	require.Equal(t, f.Predict(s.End()), f.Predict(s.End()+step/3))
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		s    models.Series
		opts models.Options
		want error
	}{
		{"three points", models.Series{Start: start, Step: step, Values: []float64{1, 2, 3}}, models.Options{}, models.ErrInsufficientData},
		{"negative step", models.Series{Start: start, Step: -1, Values: make([]float64, 10)}, models.Options{}, models.ErrInvalidSeries},
		{"bad width", synth.Spec{Level: 1}.Series(start, step, 10), models.Options{IntervalWidth: 2}, models.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := holtwinters.New(tc.opts).Fit(tc.s, nil)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
		})
	}
	t.Run("huge values", func(t *testing.T) {
		v := []float64{1e308, -1e308, 1e308, -1e308, 1e308, -1e308}
		f, err := holtwinters.New(models.Options{}).Fit(models.Series{Start: start, Step: step, Values: v}, nil)
		if err == nil {
			p := f.Predict(start + 6*step)
			require.False(t, math.IsNaN(p.Yhat))
		}
	})
}

func BenchmarkFitWarm(b *testing.B) {
	modeltest.BenchmarkFitWarm(b, holtwinters.New(models.Options{}))
}
