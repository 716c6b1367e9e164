package naive_test

import (
	"encoding"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/naive"
)

func TestDriftConformance(t *testing.T) {
	modeltest.Conformance(t, naive.NewDrift)
}

func TestDriftName(t *testing.T) {
	require.Equal(t, "seasonal_naive_drift", naive.NewDrift(models.Options{}).Name())
}

// TestDriftFollowsTrend: a daily season on a rising line. Seasonal naive
// repeats the last day, a day's rise too low per day ahead; with drift the
// forecast continues the line, and restores to the same forecasts.
func TestDriftFollowsTrend(t *testing.T) {
	const period, days, slope = 24, 6, 0.5 // slope per cell
	spec := synth.Spec{Level: 100, Amplitude: 10, Period: period}
	s := spec.Series(start, step, period*days)
	for i := range s.Values {
		s.Values[i] += slope * float64(i)
	}
	truth := func(i int) float64 { return spec.Clean(i) + slope*float64(i) }
	o := models.Options{Period: period}
	plain, drift := fit(t, o, s), fitModel(t, naive.NewDrift(o), s)
	for i := len(s.Values); i < len(s.Values)+2*period; i++ {
		ahead := float64((i-len(s.Values))/period + 1)
		require.InDelta(t, truth(i)-ahead*slope*period, plain.Predict(s.Time(i)).Yhat, 1e-9, "i=%d", i)
		require.InDelta(t, truth(i), drift.Predict(s.Time(i)).Yhat, 1e-9, "i=%d", i)
	}
	// In sample too: the cell a period back plus a period's drift.
	require.InDelta(t, truth(len(s.Values)-1), drift.Predict(s.Time(len(s.Values)-1)).Yhat, 1e-9)

	data, err := drift.(encoding.BinaryMarshaler).MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(4), data[0], "format version")
	g, err := naive.NewDrift(o).(models.Restorer).Restore(data, s)
	require.NoError(t, err)
	for i := len(s.Values) - 3; i < len(s.Values)+3*period; i++ {
		require.Equal(t, drift.Predict(s.Time(i)), g.Predict(s.Time(i)))
	}
	data[1] ^= 0xff // the drift's low byte stays finite; corrupt its exponent
	data[8] = 0x7f
	data[7] = 0xf0
	_, err = naive.NewDrift(o).(models.Restorer).Restore(data, s)
	require.Error(t, err)
}

// TestDriftNeedsPeriods: with fewer than DriftPeriods+1 periods of data the
// drift is not measured, and the forecast is seasonal naive's.
func TestDriftNeedsPeriods(t *testing.T) {
	const period = 24
	s := synth.Spec{Level: 5, Amplitude: 2, Period: period, Noise: 0.5, Seed: 3}.Series(start, step, period*naive.DriftPeriods)
	for i := range s.Values {
		s.Values[i] += 0.1 * float64(i)
	}
	o := models.Options{Period: period}
	plain, drift := fit(t, o, s), fitModel(t, naive.NewDrift(o), s)
	for i := len(s.Values); i < len(s.Values)+period; i++ {
		require.Equal(t, plain.Predict(s.Time(i)), drift.Predict(s.Time(i)))
	}
	require.False(t, math.IsNaN(drift.Predict(s.End()).Yhat))
}

func fitModel(t testing.TB, m models.Model, s models.Series) models.Fitted {
	t.Helper()
	f, err := m.Fit(s, nil)
	require.NoError(t, err)
	return f
}

// TestRestoreRefusesVersion3: a state saved before the drift (version 3:
// no drift field) is refused, not misread: the series refits.
func TestRestoreRefusesVersion3(t *testing.T) {
	s := synth.Spec{Level: 5, Amplitude: 2, Period: 24, Noise: 0.5, Seed: 4}.Series(start, step, 24*3)
	f := fit(t, models.Options{}, s)
	data, err := f.(encoding.BinaryMarshaler).MarshalBinary()
	require.NoError(t, err)
	old := append([]byte{3}, data[9:]...) // version 3 had no drift
	_, err = naive.New(models.Options{}).(models.Restorer).Restore(old, s)
	require.ErrorIs(t, err, models.ErrUnknownFormat)
}

// TestDriftRobust: one spike in the last periods, which would move a mean
// of the seasonal differences by spike/cells, leaves the drift (a median)
// unchanged: what the drift adds to seasonal naive's forecast is the same
// with and without the spike.
func TestDriftRobust(t *testing.T) {
	const period, slope = 24, 0.2
	spec := synth.Spec{Level: 100, Amplitude: 10, Period: period}
	s := spec.Series(start, step, period*8)
	for i := range s.Values {
		s.Values[i] += slope * float64(i)
	}
	spiked := s
	spiked.Values = append([]float64(nil), s.Values...)
	spiked.Values[len(s.Values)-2*period-5] += 1e4
	o := models.Options{Period: period}
	for _, series := range []models.Series{s, spiked} {
		plain, drift := fit(t, o, series), fitModel(t, naive.NewDrift(o), series)
		for _, ahead := range []int{3, period + 3} {
			ts := s.Time(len(s.Values) + ahead)
			periods := float64(ahead/period + 1)
			require.InDelta(t, periods*slope*period, drift.Predict(ts).Yhat-plain.Predict(ts).Yhat, 1e-9)
		}
	}
}
