package offline

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// counterRows returns n rows one minute apart of a counter whose rate (per
// second) is syntheticRows' pattern, restarting (from zero) at each row of
// resets, a little after the row before.
func counterRows(n int, resets ...int) []Row {
	rates := syntheticRows(n, 0, -1)
	rows := make([]Row, n)
	var c float64
	for i := range rows {
		c += rates[i].Value * 60
		for _, r := range resets {
			if i == r {
				c = rates[i].Value * 20 // restarted 40 s into the minute
			}
		}
		rows[i] = Row{Time: 1704067200000 + int64(i)*60000, Value: math.Floor(c), Line: i + 1}
	}
	return rows
}

// TestDetectRate: with --transform rate, a counter is replayed as the
// server models a counter: yhat is its rate per second, and resets are
// never flagged. As it is (transform none) the same rows flag.
func TestDetectRate(t *testing.T) {
	resets := []int{300, 450, 600}
	rows := counterRows(720, resets...)
	ds, _, err := Detect(context.Background(), rows, DetectOptions{Model: "fourier", Transform: models.TransformRate, WarmUp: time.Hour})
	require.NoError(t, err)
	for i := 180; i < len(ds); i++ {
		d := ds[i]
		require.NotEqual(t, 1.0, d.Anomaly, "row %d: %+v", i, d)
		clean := 10 + 5*math.Sin(2*math.Pi*float64(i)/60)
		require.InDelta(t, clean, d.Point.Yhat, 1, "row %d", i)
	}
	for _, r := range resets {
		require.True(t, math.IsNaN(ds[r].Score), "a reset is not scored: %+v", ds[r])
		require.Equal(t, rows[r].Value, ds[r].Value, "the value column is the counter's")
	}

	raw, _, err := Detect(context.Background(), rows, DetectOptions{Model: "fourier", WarmUp: time.Hour})
	require.NoError(t, err)
	flagged := 0
	for _, d := range raw[180:] {
		if d.Anomaly == 1 {
			flagged++
		}
	}
	require.Positive(t, flagged, "modelled as it is, the counter's resets flag")
}

// TestForecastRate: forecast --transform rate forecasts a counter's rate.
func TestForecastRate(t *testing.T) {
	rows := counterRows(24*60, 700)
	values := make([]float64, len(rows))
	for i, r := range rows {
		values[i] = r.Value
	}
	res, err := Forecast(context.Background(), []Series{{ID: "c", Values: values}}, ForecastOptions{
		Model: "fourier", Step: time.Minute, Horizon: 60, Transform: models.TransformRate,
	})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	for k, p := range res[0].Points {
		i := len(values) + k
		require.InDelta(t, 10+5*math.Sin(2*math.Pi*float64(i)/60), p.Yhat, 1, "point %d", k)
	}
	require.Equal(t, rows[0].Value, values[0], "the input is not changed")

	_, err = ParseTransform("auto")
	require.ErrorContains(t, err, `transform "auto" is not one of none, rate`)
	tr, err := ParseTransform("rate")
	require.NoError(t, err)
	require.Equal(t, models.TransformRate, tr)
}
