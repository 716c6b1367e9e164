// Package modeltest holds the checks every forecast model must pass, so
// that each model package runs the same contract with one call:
//
//	func TestConformance(t *testing.T) {
//		modeltest.Conformance(t, func(o models.Options) models.Model { return mymodel.New(o) })
//	}
//
// It is imported by tests only.
package modeltest

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

const (
	start = int64(1_700_000_000_000)
	step  = int64(60_000)
	// horizon is how many cells past the data the checks forecast.
	horizon = 48
)

// Conformance runs the contract of models.Model and models.Fitted against
// the models newModel builds.
func Conformance(t *testing.T, newModel func(models.Options) models.Model) {
	t.Helper()
	seasonal := synth.Spec{Level: 50, Amplitude: 10, Period: 24, Noise: 1, Seed: 11}.Series(start, step, 24*7)

	t.Run("name", func(t *testing.T) {
		require.NotEmpty(t, newModel(models.Options{}).Name())
	})

	t.Run("band contains yhat", func(t *testing.T) {
		f := fit(t, newModel(models.Options{IntervalWidth: 0.9}), seasonal)
		for _, p := range future(f, seasonal) {
			require.True(t, finite(p), "%+v", p)
			require.LessOrEqual(t, p.Lower, p.Yhat)
			require.LessOrEqual(t, p.Yhat, p.Upper)
		}
	})

	t.Run("wider interval, wider band", func(t *testing.T) {
		narrow := future(fit(t, newModel(models.Options{IntervalWidth: 0.5}), seasonal), seasonal)
		wide := future(fit(t, newModel(models.Options{IntervalWidth: 0.99}), seasonal), seasonal)
		for h := range narrow {
			require.Greater(t, wide[h].Upper-wide[h].Lower, narrow[h].Upper-narrow[h].Lower, "horizon %d", h)
		}
	})

	t.Run("deterministic and safe for concurrent use", func(t *testing.T) {
		m := newModel(models.Options{})
		want := fit(t, m, seasonal)
		const workers = 8
		got := make([]models.Fitted, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				got[w], errs[w] = m.Fit(seasonal, want)
				future(want, seasonal) // a shared Fitted, predicted concurrently
			})
		}
		wg.Wait()
		for w := range workers {
			require.NoError(t, errs[w])
			require.Equal(t, future(want, seasonal), future(got[w], seasonal))
		}
	})

	t.Run("fit does not keep the input", func(t *testing.T) {
		s := seasonal
		s.Values = append([]float64(nil), seasonal.Values...)
		f := fit(t, newModel(models.Options{}), s)
		before := future(f, s)
		for i := range s.Values {
			s.Values[i] = -1e9
		}
		require.Equal(t, before, future(f, s))
	})

	t.Run("insufficient data", func(t *testing.T) {
		for name, vals := range map[string][]float64{
			"empty":   nil,
			"one":     {1},
			"all NaN": nanSlice(100),
		} {
			_, err := newModel(models.Options{}).Fit(models.Series{Start: start, Step: step, Values: vals}, nil)
			require.True(t, errors.Is(err, models.ErrInsufficientData), "%s: %v", name, err)
		}
	})

	t.Run("gaps", func(t *testing.T) {
		s := seasonal
		s.Values = append([]float64(nil), seasonal.Values...)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range s.Values {
			if rng.Float64() < 0.2 {
				s.Values[i] = math.NaN()
			}
		}
		s.Values[len(s.Values)-1] = math.NaN() // a gap at the very end too
		for _, p := range future(fit(t, newModel(models.Options{}), s), s) {
			require.True(t, finite(p), "%+v", p)
		}
	})

	t.Run("counter reset", func(t *testing.T) {
		// A counter that grows and is reset to zero half way.
		vals := make([]float64, 24*7)
		for i := range vals {
			vals[i] = float64(i%(len(vals)/2)) * 3
		}
		s := models.Series{Start: start, Step: step, Values: vals}
		for _, p := range future(fit(t, newModel(models.Options{}), s), s) {
			require.True(t, finite(p), "%+v", p)
		}
	})
}

// BenchmarkFit measures fits of a noisy daily pattern over seven days at
// 1m and at 5m steps.
func BenchmarkFit(b *testing.B, m models.Model) {
	for _, tc := range []struct {
		name string
		step int64
		n    int
	}{
		{"7d_1m", 60_000, 7 * 1440},
		{"7d_5m", 300_000, 7 * 288},
	} {
		b.Run(tc.name, func(b *testing.B) {
			perDay := float64(86_400_000 / tc.step)
			s := synth.Spec{Level: 50, Amplitude: 10, Period: perDay, Noise: 2, Seed: 1}.Series(start, tc.step, tc.n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Fit(s, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func fit(t *testing.T, m models.Model, s models.Series) models.Fitted {
	t.Helper()
	f, err := m.Fit(s, nil)
	require.NoError(t, err)
	require.NotNil(t, f)
	return f
}

// future returns the forecasts for the horizon cells after s.
func future(f models.Fitted, s models.Series) []models.Point {
	out := make([]models.Point, horizon)
	for h := range out {
		out[h] = f.Predict(s.End() + int64(h)*s.Step)
	}
	return out
}

func finite(p models.Point) bool {
	for _, v := range []float64{p.Yhat, p.Lower, p.Upper} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// Coverage returns the share of future (the values that follow s, one per
// cell) that fall inside f's band, checking on the way that every band
// contains its yhat.
func Coverage(t *testing.T, f models.Fitted, s models.Series, future []float64) float64 {
	t.Helper()
	inside := 0
	for j, y := range future {
		p := f.Predict(s.End() + int64(j)*s.Step)
		require.LessOrEqual(t, p.Lower, p.Yhat)
		require.LessOrEqual(t, p.Yhat, p.Upper)
		if p.Lower <= y && y <= p.Upper {
			inside++
		}
	}
	return float64(inside) / float64(len(future))
}
