package adapter

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// counterConfig models everything of job app: a counter among them is
// modelled as its rate (transform auto, the default).
const counterConfig = `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 10s, external_labels: {cluster: test}}
forecasts:
  - name: app
    match: ['{job="app"}']
    models: [fourier, seasonal_naive]
`

var counterSeries = labels.FromStrings("__name__", "requests_total", "instance", "a", "job", "app")

// feedCounter appends a counter of 2 + sin events per second every 15s in
// [from, to).
func (f *fixture) feedCounter(t *testing.T, from, to int64) {
	t.Helper()
	opts, ok := f.a.Engine().Route(counterSeries)
	require.True(t, ok)
	ser, _, err := f.a.Store().GetOrCreate(counterSeries, opts)
	require.NoError(t, err)
	for ts := from; ts < to; ts += 15_000 {
		s := float64(ts-t0) / 1000
		require.NoError(t, ser.Append(ts, math.Floor(2*s+sine(ts))))
	}
}

func counterFixture(t *testing.T) (*fixture, int64) {
	t.Helper()
	end := t0 + 3*time.Hour.Milliseconds()
	f := applied(t, counterConfig, Options{Now: func() time.Time { return time.UnixMilli(end + 20_000) }})
	f.feedCounter(t, t0, end)
	require.Equal(t, 1, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Equal(t, 2*3, f.a.Engine().Evaluate(time.UnixMilli(end+20_000)))
	return f, end
}

// TestForecastsPageRate: /forecasts serves a counter's outputs under the
// rate names, as gauges, in a format the exposition parser accepts, with
// yhat a rate per second.
func TestForecastsPageRate(t *testing.T) {
	f, end := counterFixture(t)
	f.feedCounter(t, end, end+time.Minute.Milliseconds())
	require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(end+time.Minute.Milliseconds()+20_000)))

	body := f.scrape(t, "").Body.String()
	mfs := parseText(t, body)
	require.ElementsMatch(t, []string{"requests_total:rate_forecast", "requests_total:rate_anomaly_score", "requests_total:rate_anomaly"}, keys(mfs))
	for name, mf := range mfs {
		require.Equal(t, dto.MetricType_GAUGE, mf.GetType(), name)
		require.Contains(t, body, "# TYPE "+name+" gauge\n")
		require.Contains(t, mf.GetHelp(), "per-second rate", name)
	}
	for m, vs := range byModel(t, mfs["requests_total:rate_forecast"]) {
		require.InDelta(t, 2, vs["yhat"], 0.5, "%s: about 2 events per second, not the counter's level", m)
	}
}

// TestStatusShowsType: the series list and the series page show the
// metric type, where it came from and that the series is modelled as a
// rate; metadata that arrives later shows as the transform of the next fit.
func TestStatusShowsType(t *testing.T) {
	f, _ := counterFixture(t)
	body := f.get(t, "/", http.StatusOK)
	require.Contains(t, body, `<td class="type">counter <span class="muted">(guessed from the name)</span><br>as rate/s</td>`)
	ref := f.a.Engine().Status()[0].Ref
	page := f.get(t, fmt.Sprintf("/series?ref=%d", ref), http.StatusOK)
	require.Contains(t, page, "Type <b>counter</b> (guessed from the name). Modelled as its per-second rate")
	require.Contains(t, page, "requests_total:rate_forecast")

	// Declared a gauge by metadata (a counter wrongly named): shown, and
	// the next fit models it as it is.
	require.True(t, f.a.Store().SetFamilyType("requests", ring.TypeGauge))
	page = f.get(t, fmt.Sprintf("/series?ref=%d", ref), http.StatusOK)
	require.Contains(t, page, "Type <b>gauge</b> (family metadata).")
	require.Contains(t, page, "The next retrain pass refits it with transform <b>none</b>.")
	require.True(t, strings.Contains(f.get(t, "/", http.StatusOK), "next fit: none"))
}
