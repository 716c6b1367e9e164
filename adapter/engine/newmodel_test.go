package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestEngineHoltWinters runs holtwinters through the engine: fitted with
// the shared period, forecasting the known pattern, scoring a clean
// continuation as no anomaly, and refitted warm from its previous fit.
func TestEngineHoltWinters(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 10s, external_labels: {cluster: test}}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [holtwinters, seasonal_naive]
    horizons: [0s, 30m]
`)
	in := labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor")
	ctx := context.Background()
	now := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(now)))
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("holtwinters", "success")))
	evalAt := now + 20000
	f.eng.Evaluate(at(evalAt))
	checkOutput(t, f.sink.take(), now, evalAt)

	// Later steps are scored, and a refit one interval on warm-starts.
	for range 20 {
		f.feed(in, now, now+time.Minute.Milliseconds(), sine)
		now += time.Minute.Milliseconds()
		evalAt += time.Minute.Milliseconds()
		f.eng.RetrainDue(ctx, at(now))
		f.eng.Evaluate(at(evalAt))
		checkOutput(t, f.sink.take(), now, evalAt)
	}
	require.Equal(t, 2.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("holtwinters", "success")))
}
