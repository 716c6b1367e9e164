package fourier_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/fourier"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
)

// TestM4HourlyBand holds out the last 48 hours of every M4 hourly series,
// fits fourier to the rest (period detected, as the server does) and checks
// that its 95% band covers close to 95% of the held-out hours, over all 48
// and over the first few (what the engine forecasts between refits), and
// that the forecast keeps its accuracy (mean MASE, scaled by the in-sample
// error of the 24-hour seasonal naive method). Skipped without the dataset.
func TestM4HourlyBand(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	all := modeltest.ReadM4(t, modeltest.M4Hourly)

	const horizon, nearHours = 48, 6
	m := fourier.New(models.Options{}, 0)
	var mase, coverage, near, first float64
	for id, values := range all {
		n := len(values) - horizon
		s := models.Series{Start: 0, Step: 3_600_000, Values: values[:n]}
		future := values[n:]
		var scale float64
		for i := 24; i < n; i++ {
			scale += math.Abs(values[i]-values[i-24]) / float64(n-24)
		}
		f, err := m.Fit(s, nil)
		require.NoError(t, err, "series %d", id)
		var mae float64
		for j, y := range future {
			mae += math.Abs(y-f.Predict(s.Time(n+j)).Yhat) / horizon
		}
		k := float64(len(all))
		mase += mae / scale / k
		coverage += modeltest.Coverage(t, f, s, future) / k
		near += modeltest.Coverage(t, f, s, future[:nearHours]) / k
		first += modeltest.Coverage(t, f, s, future[:1]) / k
	}
	t.Logf("fourier MASE %.4f  coverage of the 95%% band: 48 hours %.4f, first %d hours %.4f, first hour %.4f",
		mase, coverage, nearHours, near, first)
	// Before the band was sized on a held-out period: 0.704 and 0.822.
	require.InDelta(t, 0.95, coverage, 0.04)
	require.InDelta(t, 0.95, near, 0.03)
	// MASE was 1.503 before the fit clipped outliers.
	require.Less(t, mase, 1.52)
}
