package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
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
				name := s.Labels.Get(labels.MetricName)
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
