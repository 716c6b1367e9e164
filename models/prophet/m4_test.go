package prophet_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

// smape returns the symmetric MAPE in percent, as M4 defines it.
func smape(actual, forecast []float64) float64 {
	var sum float64
	for i, a := range actual {
		sum += 200 * math.Abs(a-forecast[i]) / (math.Abs(a) + math.Abs(forecast[i]))
	}
	return sum / float64(len(actual))
}

// TestM4Hourly is an accuracy sanity check on the 414 M4 hourly series:
// fit all but the last 48 points, forecast them, and compare the mean
// sMAPE with the seasonal naive forecast (period 24). It also reports the
// share of the held-out points inside the 95% band. Under the race
// detector it checks every fourth series, additive only, to stay fast.
func TestM4Hourly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const horizon, period = 48, 24
	series := modeltest.ReadM4(t, modeltest.M4Hourly)
	require.Len(t, series, 414)
	modes := []prophet.Options{{}, multiplicative}
	if raceEnabled {
		var every4th [][]float64
		for i := 0; i < len(series); i += 4 {
			every4th = append(every4th, series[i])
		}
		series, modes = every4th, modes[:1]
	}
	for _, mode := range modes {
		m := prophet.New(models.Options{Period: period, IntervalWidth: 0.95}, mode)
		var sumProphet, sumNaive float64
		inside, total, better := 0, 0, 0
		for _, vals := range series {
			train, test := vals[:len(vals)-horizon], vals[len(vals)-horizon:]
			s := models.Series{Start: 0, Step: 3_600_000, Values: train}
			f, err := m.Fit(s, nil)
			require.NoError(t, err)
			fc, naive := make([]float64, horizon), make([]float64, horizon)
			for h := range horizon {
				p := f.Predict(s.End() + int64(h)*s.Step)
				fc[h] = p.Yhat
				naive[h] = train[len(train)-period+h%period]
				if p.Lower <= test[h] && test[h] <= p.Upper {
					inside++
				}
				total++
			}
			sp, sn := smape(test, fc), smape(test, naive)
			sumProphet += sp
			sumNaive += sn
			if sp < sn {
				better++
			}
		}
		n := float64(len(series))
		t.Logf("%s: sMAPE %.2f%% (seasonal naive %.2f%%), better on %d of %d series, 95%% band covers %.1f%%",
			m.Name(), sumProphet/n, sumNaive/n, better, len(series), 100*float64(inside)/float64(total))
		require.Less(t, sumProphet/n, 1.5*sumNaive/n)
	}
}

// BenchmarkFitM4Hourly fits the 414 M4 hourly training series (700 or 960
// hourly points, all but the last 48) with period 24: real data, with
// more changepoints in use than the synthetic benchmark.
func BenchmarkFitM4Hourly(b *testing.B) {
	series := modeltest.ReadM4(b, modeltest.M4Hourly)
	for _, mode := range []prophet.Options{{}, multiplicative} {
		m := prophet.New(models.Options{Period: 24}, mode)
		b.Run(m.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, vals := range series {
					if _, err := m.Fit(models.Series{Step: 3_600_000, Values: vals[:len(vals)-48]}, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(series)), "ns/series")
		})
	}
}
