package engine

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// requestRate is the per-second rate of the test counter: seasonal, period
// one hour.
func requestRate(ts int64) float64 {
	return 10 + 5*math.Sin(2*math.Pi*float64(ts-t0)/float64(time.Hour.Milliseconds()))
}

// requestsCounted is the integral of requestRate from t0 to ts.
func requestsCounted(ts int64) float64 {
	s := float64(ts-t0) / 1000
	return 10*s + 5*3600/(2*math.Pi)*(1-math.Cos(2*math.Pi*s/3600))
}

// counter returns a counter of requestRate (whole events) that resets, as
// a restarted process does, at each time of resets: from then on it counts
// from zero.
func counter(resets ...int64) func(int64) float64 {
	return func(ts int64) float64 {
		from := t0
		for _, r := range resets {
			if r <= ts {
				from = r
			}
		}
		return math.Floor(requestsCounted(ts) - requestsCounted(from))
	}
}

// outputs feeds cells [from, from+n minutes) with fn, evaluating after each,
// and returns every sample written, by metric name and model, as values
// per cell (NaN where nothing was written).
func (f *fixture) outputs(in labels.Labels, from int64, n int, fn func(int64) float64) map[string][]float64 {
	f.t.Helper()
	out := map[string][]float64{}
	for k := range int64(n) {
		cell := from + k*minute
		f.feed(in, cell, cell+minute, fn)
		f.eng.Evaluate(at(cell + minute + 20000))
		for _, s := range f.sink.take() {
			key := s.Labels.Get(model.MetricNameLabel) + "/" + s.Labels.Get("model")
			if vt := s.Labels.Get("value_type"); vt != "" {
				if s.Labels.Has("horizon") {
					continue
				}
				key += "/" + vt
			}
			for len(out[key]) < int(k) {
				out[key] = append(out[key], math.NaN())
			}
			out[key] = append(out[key], s.V)
		}
	}
	return out
}

const counterConfig = `
global: {step: 1m, window: 1d, min_history: 2h, retrain_interval: 6h}
forecasts:
  - name: requests
    match: ['{job="api"}']
    models: [fourier, seasonal_naive]
    anomaly_warm_up: 30m
`

// TestEngineCounterAsRate: under transform auto a counter is modelled as
// its per-second rate: the forecast tracks the rate, the outputs are named
// <name>:rate_..., and counter resets (in the history and while scored,
// mid-cell, so that the cell's rate is only a lower bound) raise no flag,
// neither at the reset nor a period later (the reset cells' rates, scored,
// would flag: the test can fail).
func TestEngineCounterAsRate(t *testing.T) {
	in := labels.FromStrings("__name__", "requests_total", "job", "api")
	end := t0 + 4*time.Hour.Milliseconds()
	resets := []int64{t0 + 150*minute + 25_000, end + 45*minute + 25_000, end + 90*minute + 40_000}
	fn := counter(resets...)
	resetCells := []int{45, 90} // minutes after end

	f := newFixture(t, counterConfig)
	f.fitAt(in, end, fn)
	st := f.state(in)
	require.Equal(t, models.TransformRate, st.transform)
	out := f.outputs(in, end, 120, fn)
	for _, m := range []string{"fourier", "seasonal_naive"} {
		yhat := out["requests_total:rate_forecast/"+m+"/yhat"]
		require.Len(t, yhat, 120, m)
		for k := 1; k < 120; k++ {
			// The forecast for cell end+k: the rate over that minute.
			cell := end + int64(k)*minute
			require.InDelta(t, requestRate(cell+15_000), yhat[k], 1, "%s cell %d", m, k)
		}
		flag := out["requests_total:rate_anomaly/"+m]
		require.NotEmpty(t, flag, m)
		require.NotContains(t, flag, 1.0, "%s: no flag at the resets or elsewhere", m)
		for _, k := range resetCells {
			require.Truef(t, math.IsNaN(flag[k]), "%s: the reset cell %d is not scored", m, k)
		}
		require.NotContains(t, out, "requests_total_forecast/"+m+"/yhat", "no raw-named output")
	}

	// Scored with its rate counted from zero (a lower bound: the cell
	// lost what was counted before the restart), each reset cell would lie
	// far below the band published for it.
	ser := f.store.Get(in)
	for _, k := range resetCells {
		c := end + int64(k)*minute
		r, reset := models.Rate(ser.At(c-minute), ser.At(c), 60)
		require.True(t, reset, "cell %d", k)
		lower := out["requests_total:rate_forecast/seasonal_naive/yhat_lower"][k]
		require.Less(t, r, lower-3, "cell %d", k)
	}
}

// TestEngineIdleCounter: a counter that never moved (all rates 0) gets its
// first increment: it scores a finite value, not +Inf, and one event is not
// an anomaly.
func TestEngineIdleCounter(t *testing.T) {
	in := labels.FromStrings("__name__", "errors_total", "job", "api")
	end := t0 + 3*time.Hour.Milliseconds()
	idle := func(int64) float64 { return 0 }
	for _, tc := range []struct {
		name string
		fn   func(int64) float64
	}{
		{"at zero", idle},
		{"at a level", func(int64) float64 { return 7 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, counterConfig)
			f.fitAt(in, end, tc.fn)
			f.outputs(in, end, 30, tc.fn) // warm-up
			from := end + 30*minute
			first := func(ts int64) float64 {
				if ts >= from+30_000 {
					return tc.fn(ts) + 1
				}
				return tc.fn(ts)
			}
			out := f.outputs(in, from, 3, first)
			for _, m := range []string{"fourier", "seasonal_naive"} {
				score := out["errors_total:rate_anomaly_score/"+m]
				require.Len(t, score, 3, m)
				require.False(t, math.IsInf(score[0], 0), "%s: %v", m, score)
				require.Less(t, score[0], 1.0, "%s: one event is not an anomaly: %v", m, score)
				require.Equal(t, []float64{0, 0, 0}, out["errors_total:rate_anomaly/"+m], m)
			}
		})
	}
}

// TestEngineTransformFollowsType: a series whose name tells nothing is
// modelled as it is; once metadata declares its family a counter, the next
// retrain pass (not the series' slot, hours away) refits it as a rate, and
// until then it is scored against the raw fits it has.
func TestEngineTransformFollowsType(t *testing.T) {
	in := labels.FromStrings("__name__", "requests", "job", "api")
	end := t0 + 4*time.Hour.Milliseconds()
	fn := counter()
	f := newFixture(t, counterConfig)
	f.fitAt(in, end, fn)
	st := f.state(in)
	require.Equal(t, models.TransformNone, st.transform)
	out := f.outputs(in, end, 2, fn)
	require.Contains(t, out, "requests_forecast/fourier/yhat")
	require.Len(t, out["requests_anomaly_score/fourier"], 2, "scored as it is")

	require.True(t, f.store.SetFamilyType("requests", ring.TypeCounter))
	status := f.eng.Status()[0]
	require.Equal(t, ring.TypeCounter, status.Type)
	require.Equal(t, "family", status.TypeSource)
	require.Equal(t, models.TransformNone, status.Transform)
	require.Equal(t, models.TransformRate, status.WantedTransform)

	now := end + 2*minute + 30_000
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), at(now)), "refit at the next pass")
	require.Equal(t, models.TransformRate, st.transform)
	require.Zero(t, f.eng.RetrainDue(context.Background(), at(now+minute)), "once")
	out = f.outputs(in, end+2*minute, 3, fn)
	require.NotContains(t, out, "requests_forecast/fourier/yhat")
	yhat := out["requests:rate_forecast/fourier/yhat"]
	require.Len(t, yhat, 3)
	require.InDelta(t, requestRate(end+3*minute+15_000), yhat[1], 1)
	require.NotContains(t, out["requests:rate_anomaly/fourier"], 1.0)
}

// TestRouteRefusesRateOutputs: a rate forecast written back and sent in
// again (a Prometheus that forwards what it receives) is not selected,
// even by a selector broad enough to match it.
func TestRouteRefusesRateOutputs(t *testing.T) {
	in := labels.FromStrings("__name__", "requests_total", "job", "api")
	end := t0 + 3*time.Hour.Milliseconds()
	for _, preset := range []string{"", "ancestor"} {
		t.Run("preset="+preset, func(t *testing.T) {
			cfg := counterConfig
			if preset != "" {
				cfg += "output: {preset: ancestor, name_label: metric}\n"
			}
			f := newFixture(t, cfg)
			f.fitAt(in, end, counter())
			f.feed(in, end, end+minute, counter())
			f.eng.Evaluate(at(end + minute + 20_000))
			written := f.sink.take()
			require.NotEmpty(t, written)
			names := map[string]bool{}
			for _, s := range written {
				names[s.Labels.Get(model.MetricNameLabel)] = true
				if preset == "" {
					require.True(t, strings.HasPrefix(s.Labels.Get(model.MetricNameLabel), "requests_total:rate_"), s.Labels.String())
				} else {
					require.Equal(t, "requests_total:rate", s.Labels.Get("metric"), s.Labels.String())
				}
				_, ok := f.eng.Route(s.Labels)
				require.False(t, ok, "written-back %s is selected again", s.Labels)
			}
			require.GreaterOrEqual(t, len(names), 3, "%v", names)
			_, ok := f.eng.Route(in)
			require.True(t, ok, "the input itself is selected")
			before := len(f.eng.Status())
			for _, s := range written {
				_, ok := f.eng.Route(s.Labels)
				require.False(t, ok)
			}
			require.Equal(t, before, len(f.eng.Status()))
		})
	}
}

// TestSeriesHistoryAsRate: the status page's history of a counter is its
// rate (a reset counted from zero, as PromQL shows it), and the status
// names the type and where it came from.
func TestSeriesHistoryAsRate(t *testing.T) {
	in := labels.FromStrings("__name__", "requests_total", "job", "api")
	end := t0 + 3*time.Hour.Milliseconds()
	reset := t0 + 2*time.Hour.Milliseconds() + 25_000
	f := newFixture(t, counterConfig)
	f.fitAt(in, end, counter(reset))
	s := f.eng.Status()[0]
	require.Equal(t, ring.TypeCounter, s.Type)
	require.Equal(t, "name", s.TypeSource)
	require.Equal(t, models.TransformRate, s.Transform)
	status, start, vals, ok := f.eng.SeriesHistory(s.Ref, end)
	require.True(t, ok)
	require.Equal(t, models.TransformRate, status.Transform)
	require.Equal(t, t0, start)
	require.Len(t, vals, 180)
	require.True(t, math.IsNaN(vals[0]), "no rate for the first cell")
	k := int((reset - t0) / minute)
	require.InDelta(t, 20.0/60*requestRate(reset), vals[k], 0.5, "the reset cell counts from zero: the 20 s of its minute after the reset")
	for i, v := range vals[1:] {
		if i+1 == k {
			continue
		}
		require.InDelta(t, requestRate(t0+int64(i+1)*minute+15_000), v, 0.2, "cell %d", i+1)
	}
	require.True(t, slices.ContainsFunc(vals, func(v float64) bool { return v > 5 }))
}
