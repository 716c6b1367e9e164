package offline

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// daily returns n hourly values of level + amp·sin(2πt/24), the shape of
// many M4 hourly series.
func daily(n int, level, amp float64) []float64 {
	v := make([]float64, n)
	for t := range v {
		v[t] = level + amp*math.Sin(2*math.Pi*float64(t)/24)
	}
	return v
}

func TestForecast(t *testing.T) {
	series := []Series{
		{ID: "a", Values: daily(240, 100, 10)},
		{ID: "short", Values: []float64{1, 2}},
		{ID: "b", Values: daily(200, 50, 5)},
	}
	opts := ForecastOptions{Model: "seasonal_naive", Step: time.Hour, Horizon: 30, Workers: 1}
	res, err := Forecast(context.Background(), series, opts)
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.ErrorIs(t, res[1].Err, models.ErrInsufficientData)
	// The seasonal naive forecast of a pure daily cycle is its continuation.
	for _, c := range []struct {
		i          int
		level, amp float64
	}{{0, 100, 10}, {2, 50, 5}} {
		r, n := res[c.i], len(series[c.i].Values)
		require.NoError(t, r.Err)
		require.Equal(t, series[c.i].ID, r.ID)
		want := daily(n+30, c.level, c.amp)[n:]
		for h, p := range r.Points {
			require.InDelta(t, want[h], p.Yhat, 1e-9, "series %s h %d", r.ID, h)
			require.LessOrEqual(t, p.Lower, p.Yhat)
			require.GreaterOrEqual(t, p.Upper, p.Yhat)
		}
	}

	// The output does not depend on the number of workers.
	var one, many bytes.Buffer
	require.NoError(t, WriteForecasts(&one, res, 30, true))
	opts.Workers = 8
	res8, err := Forecast(context.Background(), series, opts)
	require.NoError(t, err)
	require.NoError(t, WriteForecasts(&many, res8, 30, true))
	require.Equal(t, one.String(), many.String())

	recs, err := csv.NewReader(&one).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	require.Equal(t, []string{"id", "F1", "F2"}, recs[0][:3])
	require.Equal(t, "L1", recs[0][31])
	require.Equal(t, "U30", recs[0][90])
	require.Len(t, recs[0], 91)
	require.Equal(t, "short", recs[2][0])
	for _, c := range recs[2][1:] {
		require.Empty(t, c)
	}
	f1, err := strconv.ParseFloat(recs[1][1], 64)
	require.NoError(t, err)
	require.Equal(t, res[0].Points[0].Yhat, f1, "values round-trip exactly")
	l1, _ := strconv.ParseFloat(recs[1][31], 64)
	u1, _ := strconv.ParseFloat(recs[1][61], 64)
	require.Equal(t, res[0].Points[0].Lower, l1)
	require.Equal(t, res[0].Points[0].Upper, u1)

	var noBounds bytes.Buffer
	require.NoError(t, WriteForecasts(&noBounds, res, 30, false))
	recs, err = csv.NewReader(&noBounds).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs[0], 31)
}

func TestForecastErrors(t *testing.T) {
	s := []Series{{ID: "a", Values: daily(100, 1, 1)}}
	for _, tc := range []struct {
		opts ForecastOptions
		want string
	}{
		{ForecastOptions{Model: "nope", Step: time.Hour, Horizon: 1}, `unknown model "nope"`},
		{ForecastOptions{Model: "fourier", Step: time.Hour}, "horizon 0 must be positive"},
		{ForecastOptions{Model: "fourier", Horizon: 1}, "step 0s must be a positive whole number of milliseconds"},
		{ForecastOptions{Model: "fourier", Step: time.Hour, Horizon: 1, IntervalWidth: 1.5}, "interval width 1.5 not in (0,1)"},
	} {
		_, err := Forecast(context.Background(), s, tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := NewProgressBar(&b, "fit")
	for i := 1; i <= 400; i++ {
		p(i, 400)
	}
	out := b.String()
	require.Equal(t, 101, bytes.Count(b.Bytes(), []byte("\rfit [")), "one redraw per percent, 0 to 100")
	require.Contains(t, out, "]  50% 200/400")
	require.True(t, bytes.HasSuffix(b.Bytes(), []byte("\r\033[K")), "the bar is cleared at the end")
}
