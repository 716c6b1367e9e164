package auto_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/fourier"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/naive"
)

// TestM4Hourly holds out the last 48 hours of every M4 hourly series, fits
// fourier, seasonal_naive and auto to the rest, and compares their mean
// MASE (scaled by the in-sample error of the 24-hour seasonal naive
// method) and the out-of-sample coverage of their 95% band. Auto must
// forecast at least as well as the better single model and, over the first
// hours, cover within 4 points of 95%. Skipped without the dataset.
func TestM4Hourly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	all := modeltest.ReadM4(t, modeltest.M4Hourly)

	const horizon = 48
	o := models.Options{}
	cands := []models.Model{fourier.New(o, 0), naive.New(o), newAuto(o)}
	mase := make([]float64, len(cands))
	coverage := make([]float64, len(cands))
	near := make([]float64, len(cands)) // coverage over the first nearHours
	const nearHours = 6
	choices := map[string]int{}
	for id, values := range all {
		n := len(values) - horizon
		s := models.Series{Start: 0, Step: 3_600_000, Values: values[:n]}
		future := values[n:]
		var scale float64
		for i := 24; i < n; i++ {
			scale += math.Abs(values[i]-values[i-24]) / float64(n-24)
		}
		for c, m := range cands {
			f, err := m.Fit(s, nil)
			require.NoError(t, err, "series %d %s", id, m.Name())
			var mae float64
			for j, y := range future {
				mae += math.Abs(y-f.Predict(s.Time(n+j)).Yhat) / horizon
			}
			mase[c] += mae / scale / float64(len(all))
			coverage[c] += modeltest.Coverage(t, f, s, future) / float64(len(all))
			near[c] += modeltest.Coverage(t, f, s, future[:nearHours]) / float64(len(all))
			if c == 2 {
				choices[f.(interface{ Chosen() string }).Chosen()]++
			}
		}
	}
	for c, m := range cands {
		t.Logf("%-15s MASE %.4f  coverage of the 95%% band %.4f (first %d hours %.4f)", m.Name(), mase[c], coverage[c], nearHours, near[c])
	}
	t.Logf("auto chose: %v", choices)
	require.LessOrEqual(t, mase[2], min(mase[0], mase[1]))
	// The engine forecasts a step or a few ahead of each refit: the band
	// must hold there.
	require.InDelta(t, 0.95, near[2], 0.04)
}
