package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// TestWakeFitsRightAfterBackfill: a series below min_history is checked
// once per step; a backfill followed by Wake gets it fitted on the next
// pass, within the same step.
func TestWakeFitsRightAfterBackfill(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine", "job", "app")
	ctx := context.Background()
	hour := time.Hour.Milliseconds()

	now := t0 + 3*hour
	f.feed(in, now-10*time.Minute.Milliseconds(), now, sine)
	require.Zero(t, f.eng.RetrainDue(ctx, at(now)), "10 minutes is below min_history")

	ser := f.store.Get(in)
	require.NotNil(t, ser)
	hist := make([]float64, 0, 170)
	for ts := now - 3*hour; ts < now-10*time.Minute.Milliseconds(); ts += time.Minute.Milliseconds() {
		hist = append(hist, sine(ts))
	}
	n, err := ser.Fill(now-3*hour, hist)
	require.NoError(t, err)
	require.Equal(t, len(hist), n)

	require.Zero(t, f.eng.RetrainDue(ctx, at(now+1000)), "without Wake the history is counted again only at the next step")
	f.eng.Wake(ser.Ref())
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(now+2000)), "woken: fitted at once")
	f.eng.Wake(12345) // unknown refs are ignored
}

func TestForecastsAccessor(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor")
	other := labels.FromStrings("__name__", "sine", "job", "other")
	ctx := context.Background()
	end := t0 + 4*time.Hour.Milliseconds()
	f.feed(in, t0, end, sine)
	f.feed(other, end-time.Minute.Milliseconds(), end, sine) // not fitted
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(end)))

	var got []output.Forecast
	f.eng.Forecasts(nil, func(fc output.Forecast) bool { got = append(got, fc); return true })
	require.Len(t, got, 2, "one per model of the fitted series")
	for _, fc := range got {
		require.Equal(t, time.Minute.Milliseconds(), fc.Step)
		require.Equal(t, int64(math.MinInt64), fc.Written, "nothing evaluated yet")
		for v, vt := range []string{"yhat", "yhat_lower", "yhat_upper"} {
			ls := fc.Labels[v]
			require.Equal(t, "sine_forecast", ls.Get(model.MetricNameLabel))
			require.Equal(t, vt, ls.Get("value_type"))
			require.Equal(t, "sensor", ls.Get("exported_model"))
			require.Equal(t, "test", ls.Get("cluster"))
			require.False(t, ls.Has("horizon"))
		}
		future := end + 2*time.Hour.Milliseconds()
		require.InDelta(t, sine(future), fc.Fitted.Predict(future).Yhat, 2)
	}

	got = got[:0]
	f.eng.Forecasts(func(ls labels.Labels) bool { return ls.Get("job") == "nope" }, func(fc output.Forecast) bool { got = append(got, fc); return true })
	require.Empty(t, got, "keep filters on the input labels")
	calls := 0
	f.eng.Forecasts(nil, func(output.Forecast) bool { calls++; return false })
	require.Equal(t, 1, calls, "false stops the walk")
}
