package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

const minute = int64(60_000)

// noisySine is sine plus noise in [-1, 1), fixed per cell.
func noisySine(ts int64) float64 {
	x := uint64(ts/minute) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	return sine(ts) + float64(x%1000)/500 - 1
}

// scores feeds cells [from, from+n minutes) with fn, evaluating after each,
// and returns the anomaly score and flag written for each cell, per model.
func (f *fixture) scores(in labels.Labels, from int64, n int, fn func(int64) float64) (score, flag map[string][]float64) {
	f.t.Helper()
	score, flag = map[string][]float64{}, map[string][]float64{}
	for k := range int64(n) {
		cell := from + k*minute
		f.feed(in, cell, cell+minute, fn)
		f.eng.Evaluate(at(cell + minute + 20000))
		for _, s := range f.sink.take() {
			m := s.Labels.Get("model")
			switch s.Labels.Get(model.MetricNameLabel) {
			case in.Get(model.MetricNameLabel) + "_anomaly_score":
				require.Equal(f.t, cell, s.T)
				score[m] = append(score[m], s.V)
			case in.Get(model.MetricNameLabel) + "_anomaly":
				flag[m] = append(flag[m], s.V)
			}
		}
	}
	return score, flag
}

// fitAt feeds fn from t0 to end, fits and publishes the forecast for end.
func (f *fixture) fitAt(in labels.Labels, end int64, fn func(int64) float64) {
	f.t.Helper()
	f.feed(in, t0, end, fn)
	require.Equal(f.t, 1, f.eng.RetrainDue(context.Background(), f.closed(end)))
	f.eng.Evaluate(at(end + 20000))
	f.sink.take()
}

func TestEngineAnomalyDirection(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, min_history: 2h}
forecasts:
  - name: down
    match: [sine]
    models: [fourier]
    anomaly_direction: down
    anomaly_warm_up: 30m
`)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	f.fitAt(in, end, noisySine)
	_, flag := f.scores(in, end, 30, noisySine) // warm-up
	require.Equal(t, make([]float64, 30), flag["fourier"])

	// Far above the forecast: ignored.
	from := end + 30*minute
	score, flag := f.scores(in, from, 4, func(int64) float64 { return 500 })
	require.Equal(t, []float64{0, 0, 0, 0}, score["fourier"])
	require.Equal(t, []float64{0, 0, 0, 0}, flag["fourier"])
	// Far below: flagged at once.
	score, flag = f.scores(in, from+4*minute, 1, func(int64) float64 { return -500 })
	require.Greater(t, score["fourier"][0], 1.0)
	require.Equal(t, []float64{1}, flag["fourier"])
}

// TestEngineFlatSeries: a flat series' error scale is at least half its
// data's resolution, so a wobble below it scores (nearly) 0, not +Inf; a
// real jump flags; anomaly_min_deviation overrides.
func TestEngineFlatSeries(t *testing.T) {
	const cfg = `
global: {step: 1m, window: 1d, min_history: 2h}
forecasts:
  - name: flat
    match: [flat]
    models: [seasonal_naive]
    anomaly_warm_up: 10m
`
	flat := func(int64) float64 { return 5 }
	in := labels.FromStrings("__name__", "flat")
	end := t0 + 3*time.Hour.Milliseconds()

	f := newFixture(t, cfg)
	f.fitAt(in, end, flat)
	f.scores(in, end, 10, flat) // warm-up
	from := end + 10*minute
	score, flag := f.scores(in, from, 2, func(int64) float64 { return 5.001 })
	require.Less(t, score["seasonal_naive"][1], 0.1, "%v", score)
	require.Equal(t, []float64{0, 0}, flag["seasonal_naive"])
	score, flag = f.scores(in, from+2*minute, 1, func(int64) float64 { return 50 })
	require.Equal(t, []float64{1}, flag["seasonal_naive"], "%v", score)
	require.False(t, math.IsInf(score["seasonal_naive"][0], 0))

	f = newFixture(t, cfg+"    anomaly_min_deviation: 100\n")
	f.fitAt(in, end, flat)
	f.scores(in, end, 10, flat)
	score, flag = f.scores(in, from, 1, func(int64) float64 { return 50 })
	require.Equal(t, []float64{0}, score["seasonal_naive"])
	require.Equal(t, []float64{0}, flag["seasonal_naive"])
}

// TestEngineLevelShift: a lasting change of level flags at its start; then
// the forecast follows the new level (no flags for the hour after) and the
// series is refitted at the next pass, not at its slot.
func TestEngineLevelShift(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, min_history: 2h, retrain_interval: 6h}
forecasts:
  - name: sine
    match: [sine]
    models: [seasonal_naive]
    anomaly_warm_up: 30m
`)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	f.fitAt(in, end, noisySine)
	f.scores(in, end, 30, noisySine)
	from := end + 30*minute
	shifted := func(ts int64) float64 { return noisySine(ts) + 40 }
	_, flag := f.scores(in, from, 3, shifted)
	require.Contains(t, flag["seasonal_naive"], 1.0, "the shift flags at its start")
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), at(from+3*minute+30000)), "refit at once")
	_, flag = f.scores(in, from+3*minute, 60, shifted)
	require.NotContains(t, flag["seasonal_naive"], 1.0, "no flags once the forecast follows")
	st := f.state(in)
	require.InDelta(t, shifted(from+63*minute), st.pending[0].Yhat, 3, "%+v", st.det[0])
}

// TestEngineBandCoverage: the coverage gauge and counters follow the
// actual values scored against the published band.
func TestEngineBandCoverage(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	f.fitAt(in, end, noisySine)
	points := func(m, pos string) float64 {
		return testutil.ToFloat64(f.eng.quality.points.WithLabelValues("sine", m, pos))
	}
	coverage := func(m string) float64 {
		return testutil.ToFloat64(f.eng.quality.coverage.WithLabelValues("sine", m))
	}

	// Ten cells on the pattern, without the noise: (almost) all inside.
	f.scores(in, end, 10, sine)
	inside := map[string]float64{}
	for _, m := range []string{"fourier", "seasonal_naive"} {
		inside[m] = points(m, "inside")
		require.Equal(t, 10.0, inside[m]+points(m, "outside"), m)
		require.GreaterOrEqual(t, inside[m], 8.0, m)
		require.InDelta(t, inside[m]/10, coverage(m), 0.005, m)
	}
	// Ten far off: all outside. The share halves; the newer points weigh a
	// little more.
	f.scores(in, end+10*minute, 10, func(int64) float64 { return 500 })
	for _, m := range []string{"fourier", "seasonal_naive"} {
		require.Equal(t, inside[m], points(m, "inside"), m)
		require.Equal(t, 20-inside[m], points(m, "outside"), m)
		require.Less(t, coverage(m), inside[m]/20, m)
		require.InDelta(t, inside[m]/20, coverage(m), 0.005, m)
	}

	problems, err := testutil.GatherAndLint(f.reg, "train_prometheus_engine_band_coverage_ratio", "train_prometheus_engine_band_scored_points_total")
	require.NoError(t, err)
	require.Empty(t, problems)

	// A reload without the entry removes its series.
	require.NoError(t, f.eng.ApplyConfig(mustLoad(t, `
forecasts: [{name: other, match: [other]}]
`)))
	f.eng.Evaluate(at(end + 30*minute))
	n, err := testutil.GatherAndCount(f.reg, "train_prometheus_engine_band_coverage_ratio", "train_prometheus_engine_band_scored_points_total")
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestEngineAuto: the auto model writes series labelled model="auto" and
// reports its choices per entry.
func TestEngineAuto(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, min_history: 2h}
forecasts:
  - name: auto
    match: ['{__name__=~"sine|steps"}']
`)
	end := t0 + 4*time.Hour.Milliseconds()
	// A noisy sine with a one hour period: fourier averages the noise out.
	f.feed(labels.FromStrings("__name__", "sine"), t0, end, noisySine)
	// A jagged hourly pattern: only seasonal naive repeats it exactly.
	steps := func(ts int64) float64 {
		m := ts / minute % 60
		return float64(m*m%37) + float64(m%7)*10
	}
	f.feed(labels.FromStrings("__name__", "steps"), t0, end, steps)
	require.Equal(t, 2, f.eng.RetrainDue(context.Background(), f.closed(end)))
	f.eng.Evaluate(at(end + 20000))
	out := f.sink.take()
	require.NotEmpty(t, out)
	for _, s := range out {
		require.Equal(t, "auto", s.Labels.Get("model"), "%s", s.Labels)
	}
	choice := func(m string) float64 {
		return testutil.ToFloat64(f.eng.quality.choice.WithLabelValues("auto", m))
	}
	require.Equal(t, 1.0, choice("fourier"))
	require.Equal(t, 1.0, choice("seasonal_naive"))
	n, err := testutil.GatherAndCount(f.reg, "train_prometheus_engine_auto_choice_series")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	problems, err := testutil.GatherAndLint(f.reg, "train_prometheus_engine_auto_choice_series")
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("auto", "success"))/2)

	// Once the series are gone, their choices are no longer counted.
	f.store.Delete(f.store.Get(labels.FromStrings("__name__", "steps")))
	f.eng.RetrainDue(context.Background(), at(end+1000))
	f.eng.Evaluate(at(end + minute + 20000))
	n, err = testutil.GatherAndCount(f.reg, "train_prometheus_engine_auto_choice_series")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 1.0, choice("fourier"))
}

// state returns the engine's state of the series lset.
func (f *fixture) state(lset labels.Labels) *state {
	f.t.Helper()
	f.eng.mu.RLock()
	defer f.eng.mu.RUnlock()
	for _, st := range f.eng.states {
		if labels.Equal(st.ser.Labels(), lset) {
			return st
		}
	}
	f.t.Fatalf("no state for %s", lset)
	return nil
}
