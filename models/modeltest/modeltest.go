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
	"bytes"
	"encoding"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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

	t.Run("state round trip", func(t *testing.T) {
		stateRoundTrip(t, newModel, seasonal)
	})

	t.Run("extreme values", func(t *testing.T) {
		Finite(t, newModel(models.Options{}))
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

// stateRoundTrip checks models.Restorer: a restored fit predicts exactly
// what the saved one did, and damaged state is refused with an error, never
// a panic or a fit that silently differs.
func stateRoundTrip(t *testing.T, newModel func(models.Options) models.Model, seasonal models.Series) {
	m := newModel(models.Options{IntervalWidth: 0.8})
	r, ok := m.(models.Restorer)
	require.True(t, ok, "%s does not implement models.Restorer", m.Name())
	gappy := seasonal
	gappy.Values = append([]float64(nil), seasonal.Values...)
	for i := 5; i < len(gappy.Values); i += 7 {
		gappy.Values[i] = math.NaN()
	}
	for _, s := range []models.Series{seasonal, gappy} {
		f := fit(t, m, s)
		bm, ok := f.(encoding.BinaryMarshaler)
		require.True(t, ok, "the fit of %s does not implement encoding.BinaryMarshaler", m.Name())
		data, err := bm.MarshalBinary()
		require.NoError(t, err)
		require.NotEmpty(t, data)

		// A model built from other options restores the saved fit as it
		// was, from the history it was fitted on.
		history := s
		history.Values = slices.Clone(s.Values)
		restored, err := newModel(models.Options{}).(models.Restorer).Restore(bytes.Clone(data), history)
		require.NoError(t, err)
		require.True(t, slices.EqualFunc(s.Values, history.Values, func(a, b float64) bool {
			return math.Float64bits(a) == math.Float64bits(b)
		}), "Restore changed the history")
		requireSamePredictions(t, f, restored, s)
		// A history that differs from the fit's (a gap filled since, the
		// oldest cell dropped from the buffer, none at all) restores the
		// same fit or is refused.
		filled := s
		filled.Values = slices.Clone(s.Values)
		filled.Values[len(filled.Values)-1] += 1
		if i := slices.IndexFunc(filled.Values, math.IsNaN); i >= 0 {
			filled.Values[i] = 1
		}
		moved := models.Series{Start: s.Start + s.Step, Step: s.Step, Values: s.Values[1:]}
		for name, h := range map[string]models.Series{"changed cells": filled, "moved window": moved, "none": {}} {
			if g, err := r.Restore(bytes.Clone(data), h); err == nil {
				t.Logf("%s restored with history %s", m.Name(), name)
				requireSamePredictions(t, f, g, s)
			}
		}
		again, err := restored.(encoding.BinaryMarshaler).MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, data, again, "restored state saves the same")
		// A restored fit is a valid warm start.
		_, err = m.Fit(s, restored)
		require.NoError(t, err)

		for cut := range len(data) {
			f, err := r.Restore(bytes.Clone(data[:cut]), s)
			require.Error(t, err, "state truncated to %d of %d bytes", cut, len(data))
			require.Nil(t, f)
		}
		for _, v := range []byte{0, data[0] + 1, 0xff} {
			bad := bytes.Clone(data)
			bad[0] = v
			_, err := r.Restore(bad, s)
			require.ErrorIs(t, err, models.ErrUnknownFormat, "version byte %d", v)
		}
		_, err = r.Restore(append(bytes.Clone(data), 0), s)
		require.Error(t, err, "trailing byte")
		// Random damage gives an error or a fit; Predict must not panic.
		rng := rand.New(rand.NewPCG(uint64(len(data)), 9))
		for range 200 {
			bad := bytes.Clone(data)
			for range 1 + rng.IntN(3) {
				bad[1+rng.IntN(len(bad)-1)] ^= byte(1 << rng.IntN(8))
			}
			if f, err := r.Restore(bad, s); err == nil {
				future(f, s)
				f.Predict(s.Start)
			}
		}
	}
}

// requireSamePredictions requires got to predict exactly what want does,
// inside s and past its end.
func requireSamePredictions(t *testing.T, want, got models.Fitted, s models.Series) {
	t.Helper()
	for i := range s.Values {
		requirePointsEqual(t, want.Predict(s.Time(i)), got.Predict(s.Time(i)))
	}
	for h, p := range future(want, s) {
		requirePointsEqual(t, p, got.Predict(s.End()+int64(h)*s.Step))
	}
}

func requirePointsEqual(t *testing.T, want, got models.Point) {
	t.Helper()
	for _, p := range [][2]float64{{want.Yhat, got.Yhat}, {want.Lower, got.Lower}, {want.Upper, got.Upper}} {
		require.Equal(t, math.Float64bits(p[0]), math.Float64bits(p[1]), "want %+v, got %+v", want, got)
	}
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

// BenchmarkFitKnownPeriod measures m's fit when the series carries its
// seasonal period (models.Series.Period), as the engine and auto pass it
// after detecting it once for all models: the model's own cost.
func BenchmarkFitKnownPeriod(b *testing.B, m models.Model) {
	for _, tc := range []struct {
		name   string
		step   int64
		n      int
		period int
	}{
		{"7d_1m", 60_000, 7 * 1440, 1440},
		{"7d_5m", 300_000, 7 * 288, 288},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := synth.Spec{Level: 50, Amplitude: 10, Period: float64(tc.period), Noise: 2, Seed: 1}.Series(start, tc.step, tc.n)
			s.Period = tc.period
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
