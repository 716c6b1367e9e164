package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// TestAncestorPreset checks the series names of the ancestor preset, with
// and without a label for the input's name, and the loop guard.
func TestAncestorPreset(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		nameLabel    string
	}{
		{name: "as the ancestor", output: "output: {preset: ancestor}\n"},
		{name: "with the input name", output: "output: {preset: ancestor, name_label: metric}\n", nameLabel: "metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig+tc.output)
			in := labels.FromStrings("__name__", "sine", "instance", "host:9100", "job", "node")
			end := t0 + 3*time.Hour.Milliseconds()
			f.feed(in, t0, end, sine)
			f.eng.RetrainDue(context.Background(), f.closed(end))
			f.eng.Evaluate(at(end + 20000))
			f.feed(in, end, end+time.Minute.Milliseconds(), sine)
			f.eng.Evaluate(at(end + time.Minute.Milliseconds() + 20000))

			got := map[string]int{}
			for _, s := range f.sink.take() {
				name := s.Labels.Get(model.MetricNameLabel)
				got[name]++
				// The input's labels, the external one, no model or value_type.
				want := map[string]string{"__name__": name, "instance": "host:9100", "job": "node", "cluster": "test"}
				if h := s.Labels.Get("horizon"); h != "" {
					require.Equal(t, "30m", h)
					want["horizon"] = h
				}
				if tc.nameLabel != "" {
					want[tc.nameLabel] = "sine"
				}
				require.Equal(t, want, s.Labels.Map())
			}
			// Two evaluations of 2 horizons (forecasts), one scored step.
			require.Equal(t, map[string]int{
				"predicted_values_fourier": 4, "predicted_values_fourier_yhat_lower": 4, "predicted_values_fourier_yhat_upper": 4,
				"predicted_values_seasonal_naive": 4, "predicted_values_seasonal_naive_yhat_lower": 4, "predicted_values_seasonal_naive_yhat_upper": 4,
				"predicted_values_fourier_anomaly_score": 1, "predicted_values_fourier_anomaly": 1,
				"predicted_values_seasonal_naive_anomaly_score": 1, "predicted_values_seasonal_naive_anomaly": 1,
			}, got)

			n := f.eng.snap.Load().namer
			require.True(t, n.isOutput(labels.FromStrings("__name__", "predicted_values_prophet", "job", "node")))
			require.False(t, n.isOutput(labels.FromStrings("__name__", "sine_forecast", "model", "fourier")))
		})
	}
}

// TestAncestorOutputCollision: under the ancestor preset without
// name_label, two selected metrics with one label set would write the same
// predicted_values_* series. Only the first writes; the second is counted
// and writes nothing, until the first is gone.
func TestAncestorOutputCollision(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 10s}
forecasts:
  - name: both
    match: ['{__name__=~"sine|cosine"}']
    models: [seasonal_naive]
output: {preset: ancestor}
`)
	a := labels.FromStrings("__name__", "sine", "job", "node")
	b := labels.FromStrings("__name__", "cosine", "job", "node")
	end := t0 + 3*time.Hour.Milliseconds()
	f.feed(a, t0, end, sine)
	f.feed(b, t0, end, sine)
	f.eng.RetrainDue(context.Background(), f.closed(end))
	f.eng.Evaluate(at(end + 20000))

	seen := map[string]int{}
	for _, s := range f.sink.take() {
		seen[s.Labels.String()]++
	}
	for lset, n := range seen {
		require.Equal(t, 1, n, "%s written %d times in one evaluation", lset, n)
	}
	require.NotEmpty(t, seen)
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.outputCollisions.WithLabelValues("both")))

	// The first series goes: the other one takes its outputs over.
	var first labels.Labels
	f.store.Range(func(s *ring.Series) bool {
		if f.eng.claims.owners != nil {
			for _, c := range f.eng.claims.owners {
				first = c.st.ser.Labels()
			}
		}
		return false
	})
	require.True(t, f.store.Delete(f.store.Get(first)))
	f.eng.RetrainDue(context.Background(), f.closed(end+time.Minute.Milliseconds()))
	other := a
	if labels.Equal(first, a) {
		other = b
	}
	f.feed(other, end, end+time.Minute.Milliseconds(), sine)
	f.eng.Evaluate(at(end + time.Minute.Milliseconds() + 20000))
	require.NotEmpty(t, f.sink.take(), "the remaining series, %s, writes its outputs", other)
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.outputCollisions.WithLabelValues("both")))
}
