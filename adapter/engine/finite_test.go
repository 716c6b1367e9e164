package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/models"
)

// overflowModel stands in for a model whose fit overflows past the data:
// its forecasts alternate between a NaN band, an infinite upper bound, an
// infinite value and no forecast at all (all NaN) with the grid cell.
type overflowModel struct{ name string }

func (m overflowModel) Name() string { return m.name }

func (m overflowModel) Fit(models.Series, models.Fitted) (models.Fitted, error) {
	return overflowFit{}, nil
}

type overflowFit struct{}

func (overflowFit) Predict(t int64) models.Point {
	nan, inf := math.NaN(), math.Inf(1)
	switch (t / time.Minute.Milliseconds()) % 5 {
	case 0:
		return models.Point{Yhat: 100, Lower: nan, Upper: nan}
	case 1:
		return models.Point{Yhat: 100, Lower: 90, Upper: inf}
	case 2:
		return models.Point{Yhat: inf, Lower: inf, Upper: inf}
	case 3:
		return models.NaNPoint()
	}
	return models.Point{Yhat: 100, Lower: 90, Upper: 110}
}

// TestEngineNeverWritesNonFinite: whatever a fit predicts, no NaN (other
// than stale markers) or infinite value is written back, shown on
// /forecasts or answered to remote read, and every withheld forecast but
// a plain "no forecast" is counted per entry and model.
func TestEngineNeverWritesNonFinite(t *testing.T) {
	f := newFixture(t, testConfig)
	entry := f.eng.snap.Load().entries[0]
	entry.Models[0] = overflowModel{name: entry.Models[0].Name()} // "fourier"
	in := labels.FromStrings("__name__", "sine", "job", "app")
	ctx := context.Background()
	now := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(now)))

	written := 0
	for k := range 10 {
		f.feed(in, now, now+time.Minute.Milliseconds(), sine)
		now += time.Minute.Milliseconds()
		f.eng.Evaluate(at(now + 20000))
		out := f.sink.take()
		require.NotEmpty(t, out, "step %d", k)
		for _, s := range out {
			require.True(t, models.IsFinite(s.V) || value.IsStaleNaN(s.V), "%s %d %v", s.Labels, s.T, s.V)
			if s.Labels.Get("model") == "fourier" {
				written++
			}
		}
		f.eng.Latest(func(s output.Sample) {
			require.True(t, models.IsFinite(s.V), "/forecasts %s %v", s.Labels, s.V)
		})
	}
	require.Positive(t, written, "the finite forecasts of the model are still written")
	// Two horizons (0 and 30m) a step, ten steps: 3 in 5 forecasts counted
	// (NaN band, infinite bound, infinite value), not the NaN point.
	require.Equal(t, 2.0*10*3/5, testutil.ToFloat64(f.eng.metrics.nonfinite.WithLabelValues("sine", "fourier")))
	require.Zero(t, testutil.ToFloat64(f.eng.metrics.nonfinite.WithLabelValues("sine", "seasonal_naive")))

	// Remote read predicts from the fits: never a non-finite value either.
	before := testutil.ToFloat64(f.eng.metrics.nonfinite.WithLabelValues("sine", "fourier"))
	served := 0
	f.eng.Forecasts(nil, func(fc output.Forecast) bool {
		for ts := now; ts < now+10*fc.Step; ts += fc.Step {
			p := fc.Fitted.Predict(ts)
			for _, v := range []float64{p.Yhat, p.Lower, p.Upper} {
				require.True(t, models.IsFinite(v) || math.IsNaN(v), "%s %d %v", fc.Labels[0], ts, v)
				if models.IsFinite(v) {
					served++
				}
			}
		}
		return true
	})
	require.Positive(t, served)
	require.Equal(t, before+6, testutil.ToFloat64(f.eng.metrics.nonfinite.WithLabelValues("sine", "fourier")))
}

// TestEngineNonFiniteFitFallsBack: a series that starts sending values
// near the limits of float64 gets fits that fail with models.ErrNonFinite
// (counted as non_finite); it keeps forecasting from its previous fit, and
// nothing it writes is NaN or infinite.
func TestEngineNonFiniteFitFallsBack(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 10s}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [seasonal_naive]
`)
	in := labels.FromStrings("__name__", "sine", "job", "app")
	ctx := context.Background()
	now := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(now)))
	st := f.eng.states[f.store.Get(in).Ref()]
	st.mu.Lock()
	before := st.fits[0]
	st.mu.Unlock()

	huge := func(ts int64) float64 {
		if (ts/time.Minute.Milliseconds())%2 == 0 {
			return -1.5e308
		}
		return 1.5e308
	}
	for range 20 {
		f.feed(in, now, now+time.Minute.Milliseconds(), huge)
		now += time.Minute.Milliseconds()
		f.eng.RetrainDue(ctx, at(now))
		f.eng.Evaluate(at(now + 20000))
		for _, s := range f.sink.take() {
			require.True(t, models.IsFinite(s.V) || value.IsStaleNaN(s.V), "%s %d %v", s.Labels, s.T, s.V)
		}
	}
	require.Positive(t, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("seasonal_naive", "non_finite")))
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("seasonal_naive", "success")))
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Same(t, before, st.fits[0], "the previous fit is kept")
	require.Contains(t, st.lastFitErr, "not finite")
}
