package holtwinters_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/holtwinters"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/naive"
)

// TestM4Hourly is a sanity check on real data: each M4 hourly series with
// its last 48 values held out, forecast by holtwinters and seasonal_naive
// (period detected), scored by sMAPE and by the share of held-out values
// inside the 95% band. It is skipped when the data set is absent.
//
// Seasonal naive is a strong method on this set (in the M4 competition it
// beat ETS on hourly data), so the bounds only guard against regressions.
func TestM4Hourly(t *testing.T) {
	series := modeltest.ReadM4(t, modeltest.M4Hourly)
	const horizon = 48
	type score struct{ smape, coverage float64 }
	results := map[string]*score{"holtwinters": {}, "seasonal_naive": {}}
	for _, s := range series {
		train, test := s[:len(s)-horizon], s[len(s)-horizon:]
		ser := models.Series{Start: 0, Step: 3_600_000, Values: train}
		ser.Period = models.DetectPeriod(train, 0) // once, as the engine does
		if ser.Period == 0 {
			ser.Period = -1
		}
		for name, m := range map[string]models.Model{
			"holtwinters":    holtwinters.New(models.Options{}),
			"seasonal_naive": naive.New(models.Options{}),
		} {
			f, err := m.Fit(ser, nil)
			require.NoError(t, err)
			r := results[name]
			for h, y := range test {
				p := f.Predict(ser.Time(len(train) + h))
				r.smape += 200 * math.Abs(y-p.Yhat) / (math.Abs(y) + math.Abs(p.Yhat))
				if p.Lower <= y && y <= p.Upper {
					r.coverage++
				}
			}
		}
	}
	points := float64(len(series) * horizon)
	for name, r := range results {
		r.smape /= points
		r.coverage /= points
		t.Logf("%s: sMAPE %.2f, 95%% band coverage %.3f over %d series", name, r.smape, r.coverage, len(series))
		require.Less(t, r.smape, 14.5, name)
		require.Greater(t, r.coverage, 0.88, name)
	}
	require.Less(t, results["seasonal_naive"].smape, 11.5)
}
