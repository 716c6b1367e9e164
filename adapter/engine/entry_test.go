package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestEngineProphet runs the prophet models through the engine: on three
// hours of an hourly sine, the period the engine detects reaches the
// model, whose forecasts track the sine.
func TestEngineProphet(t *testing.T) {
	f := newFixture(t, strings.Replace(testConfig, "models: [fourier, seasonal_naive]", "models: [prophet, prophet_multiplicative]", 1))
	in := labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor")
	f.feed(in, t0, t0+3*time.Hour.Milliseconds(), sine)
	now := t0 + 3*time.Hour.Milliseconds()
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), f.closed(now)))
	for _, name := range []string{"prophet", "prophet_multiplicative"} {
		require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues(name, "success")), name)
	}
	evalAt := now + 20000
	f.eng.Evaluate(at(evalAt))
	out := f.sink.take()
	require.Len(t, out, 2*2*3, "2 models x 2 horizons x 3 value types")
	checkOutput(t, out, now, evalAt)
}
