package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// TestForecastsNamedAsWrittenBack checks that the label sets Forecasts gives
// the remote-read server are those of the horizon-0 forecast series the
// write-back sends, under every naming scheme: a reader must find the
// forecast ahead under the name its dashboards already query.
func TestForecastsNamedAsWrittenBack(t *testing.T) {
	for _, tc := range []struct{ name, output string }{
		{name: "default", output: ""},
		{name: "suffixes", output: "output: {forecast_suffix: _predicted, model_label: algo}\n"},
		{name: "ancestor", output: "output: {preset: ancestor}\n"},
		{name: "ancestor with name label", output: "output: {preset: ancestor, name_label: metric}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig+tc.output)
			in := labels.FromStrings("__name__", "sine", "instance", "host:9100", "job", "node")
			end := t0 + 3*time.Hour.Milliseconds()
			f.feed(in, t0, end, sine)
			require.Equal(t, 1, f.eng.RetrainDue(context.Background(), at(end)))
			f.eng.Evaluate(at(end + 20000))

			written := map[string]bool{}
			for _, s := range f.sink.take() {
				if s.Labels.Has("horizon") {
					continue
				}
				written[s.Labels.String()] = true
			}
			var served []string
			f.eng.Forecasts(nil, func(fc output.Forecast) bool {
				for _, ls := range fc.Labels {
					served = append(served, ls.String())
				}
				return true
			})
			require.Len(t, served, 2*3, "two models, three value types")
			for _, ls := range served {
				require.True(t, written[ls], "Forecasts names %s, which is never written back; written: %v", ls, written)
			}
		})
	}
}
