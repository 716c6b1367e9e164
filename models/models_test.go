package models_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

func TestSeriesGrid(t *testing.T) {
	tests := []struct {
		name      string
		s         models.Series
		wantEnd   int64
		wantTime3 int64
	}{
		{"empty", models.Series{Start: 1000, Step: 60_000}, 1000, 181_000},
		{"three cells", models.Series{Start: 0, Step: 15_000, Values: []float64{1, 2, 3}}, 45_000, 45_000},
		{"negative start", models.Series{Start: -30_000, Step: 10_000, Values: make([]float64, 5)}, 20_000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.wantEnd, tc.s.End())
			require.Equal(t, tc.wantTime3, tc.s.Time(3))
			require.InDelta(t, 3.0, tc.s.Index(tc.wantTime3), 1e-12)
			require.InDelta(t, 2.5, tc.s.Index(tc.s.Start+5*tc.s.Step/2), 1e-12)
		})
	}
}

func TestSeriesObservedAndValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	s := models.Series{Start: 0, Step: 1, Values: []float64{1, nan, 2, inf, -inf, 0}}
	require.Equal(t, 3, s.Observed())
	require.NoError(t, s.Validate())
	for _, step := range []int64{0, -1} {
		err := models.Series{Step: step}.Validate()
		require.ErrorIs(t, err, models.ErrInvalidSeries)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name      string
		opts      models.Options
		wantErr   bool
		wantWidth float64
	}{
		{"zero value uses default", models.Options{}, false, models.DefaultIntervalWidth},
		{"explicit width", models.Options{IntervalWidth: 0.8, Period: 24, MaxPeriod: 100}, false, 0.8},
		{"width one", models.Options{IntervalWidth: 1}, true, 1},
		{"width negative", models.Options{IntervalWidth: -0.5}, true, -0.5},
		{"width NaN", models.Options{IntervalWidth: math.NaN()}, true, math.NaN()},
		{"negative period", models.Options{Period: -1}, true, models.DefaultIntervalWidth},
		{"negative max period", models.Options{MaxPeriod: -3}, true, models.DefaultIntervalWidth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr {
				require.ErrorIs(t, err, models.ErrInvalidOptions)
			} else {
				require.NoError(t, err)
			}
			if math.IsNaN(tc.wantWidth) {
				require.True(t, math.IsNaN(tc.opts.Width()))
			} else {
				require.Equal(t, tc.wantWidth, tc.opts.Width())
			}
		})
	}
}

func TestAnomalyScore(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	asym := models.Point{Yhat: 10, Lower: 5, Upper: 20}
	odd := models.Point{Yhat: 0.1, Lower: -0.7, Upper: 0.3}
	tests := []struct {
		name   string
		actual float64
		p      models.Point
		want   float64
	}{
		{"at yhat", 10, asym, 0},
		{"upper edge exactly one", 20, asym, 1},
		{"lower edge exactly one", 5, asym, 1},
		{"upper edge inexact decimals", 0.3, odd, 1},
		{"lower edge inexact decimals", -0.7, odd, 1},
		{"inside above uses upper half", 15, asym, 0.5},
		{"inside below uses lower half", 7.5, asym, 0.5},
		{"outside above", 30, asym, 2},
		{"outside below", 0, asym, 2},
		{"zero width at yhat", 3, models.Point{Yhat: 3, Lower: 3, Upper: 3}, 0},
		{"zero width above", 3.5, models.Point{Yhat: 3, Lower: 3, Upper: 3}, inf},
		{"zero width below", 2.5, models.Point{Yhat: 3, Lower: 3, Upper: 3}, inf},
		{"zero upper half only", 4, models.Point{Yhat: 3, Lower: 1, Upper: 3}, inf},
		{"zero upper half, below is finite", 2, models.Point{Yhat: 3, Lower: 1, Upper: 3}, 0.5},
		{"infinite band", 1e300, models.Point{Yhat: 0, Lower: -inf, Upper: inf}, 0},
		{"NaN band above", 12, models.Point{Yhat: 10, Lower: nan, Upper: nan}, nan},
		{"NaN band below", 8, models.Point{Yhat: 10, Lower: nan, Upper: nan}, nan},
		{"NaN upper half, below is finite", 7.5, models.Point{Yhat: 10, Lower: 5, Upper: nan}, 0.5},
		{"infinite yhat", 1, models.Point{Yhat: inf, Lower: inf, Upper: inf}, nan},
		{"NaN actual", nan, asym, nan},
		{"NaN yhat", 1, models.Point{Yhat: nan, Lower: nan, Upper: nan}, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := models.AnomalyScore(tc.actual, tc.p)
			switch {
			case math.IsNaN(tc.want):
				require.True(t, math.IsNaN(got), "got %v", got)
			case tc.want == 1:
				require.Equal(t, 1.0, got) // exactly, not approximately
			default:
				require.InDelta(t, tc.want, got, 1e-12)
			}
		})
	}
}

func TestAnomalyScoreMonotone(t *testing.T) {
	p := models.Point{Yhat: 2, Lower: -1, Upper: 4}
	prev := -1.0
	for x := 2.0; x < 10; x += 0.25 {
		s := models.AnomalyScore(x, p)
		require.Greater(t, s, prev)
		require.Equal(t, s < 1, x < p.Upper, "x=%v", x)
		prev = s
	}
	prev = -1.0
	for x := 2.0; x > -8; x -= 0.25 {
		s := models.AnomalyScore(x, p)
		require.Greater(t, s, prev)
		require.Equal(t, s < 1, x > p.Lower, "x=%v", x)
		prev = s
	}
}

func TestZScore(t *testing.T) {
	// Reference quantiles from standard normal tables.
	tests := []struct {
		name  string
		w     float64
		want  float64
		delta float64
	}{
		{"95%", 0.95, 1.959963984540054, 1e-9},
		{"99%", 0.99, 2.5758293035489004, 1e-9},
		{"80%", 0.8, 1.2815515655446004, 1e-9},
		{"50%", 0.5, 0.6744897501960817, 1e-9},
		{"one sigma", 0.6826894921370859, 1, 1e-9},
		{"zero", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, models.ZScore(tc.w), tc.delta)
		})
	}
	t.Run("edges", func(t *testing.T) {
		require.True(t, math.IsInf(models.ZScore(1), 1))
		for _, w := range []float64{-0.1, 1.1, math.NaN()} {
			require.True(t, math.IsNaN(models.ZScore(w)), "w=%v", w)
		}
	})
	t.Run("increasing", func(t *testing.T) {
		prev := -1.0
		for w := 0.0; w < 1; w += 0.01 {
			z := models.ZScore(w)
			require.Greater(t, z, prev)
			prev = z
		}
	})
}

func TestNaNPoint(t *testing.T) {
	p := models.NaNPoint()
	require.True(t, math.IsNaN(p.Yhat) && math.IsNaN(p.Lower) && math.IsNaN(p.Upper))
	require.True(t, math.IsNaN(models.AnomalyScore(1, p)))
}

func TestSentinelsDistinct(t *testing.T) {
	errs := []error{models.ErrInsufficientData, models.ErrInvalidSeries, models.ErrInvalidOptions}
	for i, a := range errs {
		for j, b := range errs {
			require.Equal(t, i == j, errors.Is(a, b))
		}
	}
}

func TestSeasonalPeriodPrecedence(t *testing.T) {
	// A clean sine of period 24: detection finds 24.
	values := make([]float64, 24*6)
	for i := range values {
		values[i] = math.Sin(2 * math.Pi * float64(i) / 24)
	}
	for _, tc := range []struct {
		name   string
		opts   models.Options
		hint   int
		expect int
	}{
		{"detected", models.Options{}, 0, 24},
		{"hint wins over detection", models.Options{}, 12, 12},
		{"negative hint: none", models.Options{}, -1, 0},
		{"configured wins over hint", models.Options{Period: 8}, 12, 8},
		{"configured wins over none", models.Options{Period: 8}, -1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := models.Series{Start: 0, Step: 1000, Values: values, Period: tc.hint}
			require.Equal(t, tc.expect, s.SeasonalPeriod(tc.opts, values))
		})
	}
}

func TestCheckFinite(t *testing.T) {
	s := models.Series{Start: 0, Step: 1000, Values: []float64{1, 2, 3}}
	tests := []struct {
		name string
		p    func(h int64) models.Point
		ok   bool
	}{
		{"finite", func(int64) models.Point { return models.Point{Yhat: 1, Lower: 0, Upper: 2} }, true},
		{"NaN band", func(int64) models.Point { return models.Point{Yhat: 1, Lower: math.NaN(), Upper: math.NaN()} }, false},
		{"infinite upper", func(int64) models.Point { return models.Point{Yhat: 1, Lower: 0, Upper: math.Inf(1)} }, false},
		{"band not around yhat", func(int64) models.Point { return models.Point{Yhat: 3, Lower: 0, Upper: 2} }, false},
		{"overflow a period ahead", func(h int64) models.Point {
			if h >= 30 {
				return models.Point{Yhat: math.Inf(1), Lower: math.Inf(1), Upper: math.Inf(1)}
			}
			return models.Point{Yhat: 1, Lower: 0, Upper: 2}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fittedFunc(func(t int64) models.Point { return tc.p((t - s.End()) / s.Step) })
			err := models.CheckFinite(f, s, 24)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, models.ErrNonFinite)
		})
	}
}

type fittedFunc func(t int64) models.Point

func (f fittedFunc) Predict(t int64) models.Point { return f(t) }
