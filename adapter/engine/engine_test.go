package engine

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Sink that keeps everything it is sent.
type recorder struct {
	mu      sync.Mutex
	samples []output.Sample
}

func (r *recorder) Append(s []output.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s...)
}

func (r *recorder) take() []output.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.samples
	r.samples = nil
	return s
}

const testConfig = `
global:
  step: 1m
  window: 1d
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
  external_labels: {cluster: test}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [fourier, seasonal_naive]
    horizons: [0s, 30m]
`

// fixture is an engine over a store, fed by the test.
type fixture struct {
	t     *testing.T
	store *ring.Store
	eng   *Engine
	sink  *recorder
	reg   *prometheus.Registry
}

func newFixture(t *testing.T, cfgYAML string) *fixture {
	t.Helper()
	cfg, err := config.Load(cfgYAML)
	require.NoError(t, err)
	f := &fixture{t: t, store: ring.NewStore(100, nil), sink: &recorder{}, reg: prometheus.NewPedanticRegistry()}
	f.eng = New(nil, f.reg, f.store, f.sink, Options{Workers: 2})
	require.NoError(t, f.eng.ApplyConfig(cfg))
	return f
}

// closed returns the time at which the cells before grid time t are
// closed for evaluation (t plus the evaluation delay): what fits then
// train on ends at t.
func (f *fixture) closed(t int64) time.Time {
	return at(t + f.eng.snap.Load().delay)
}

// sine is the known pattern: period one hour.
func sine(t int64) float64 {
	return 100 + 10*math.Sin(2*math.Pi*float64(t)/float64(time.Hour.Milliseconds()))
}

// feed appends one sample per 15 s in [from, to) to the series lset.
func (f *fixture) feed(lset labels.Labels, from, to int64, fn func(int64) float64) {
	f.t.Helper()
	opts, ok := f.eng.Route(lset)
	require.True(f.t, ok, "series %s not routed", lset)
	ser, _, err := f.store.GetOrCreate(lset, opts)
	require.NoError(f.t, err)
	for ts := from; ts < to; ts += 15000 {
		require.NoError(f.t, ser.Append(ts, fn(ts)))
	}
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

func at(ms int64) time.Time { return time.UnixMilli(ms) }

func TestEngineForecastsAndScores(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor")
	ctx := context.Background()

	// Below min_history: nothing is fitted, nothing written.
	f.feed(in, t0, t0+time.Hour.Milliseconds(), sine)
	now := t0 + time.Hour.Milliseconds()
	require.Zero(t, f.eng.RetrainDue(ctx, at(now)))
	require.Zero(t, f.eng.Evaluate(at(now+20000)))
	require.Empty(t, f.sink.take())

	// Three hours of history: both models fit at once.
	f.feed(in, now, t0+3*time.Hour.Milliseconds(), sine)
	now = t0 + 3*time.Hour.Milliseconds()
	require.Equal(t, 1, f.eng.RetrainDue(ctx, f.closed(now)))
	require.Equal(t, 2.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("fourier", "success"))+
		testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("seasonal_naive", "success")))

	// Evaluate at 20 s past the boundary: T = now is forecast. C = now - 1m
	// was part of the training data, so it is not scored.
	evalAt := now + 20000
	n := f.eng.Evaluate(at(evalAt))
	out := f.sink.take()
	require.Equal(t, n, len(out))
	require.Len(t, out, 2*2*3, "2 models x 2 horizons x 3 value types")
	checkOutput(t, out, now, evalAt)

	// The same tick again produces nothing.
	require.Zero(t, f.eng.Evaluate(at(evalAt+5000)))

	// One step later, cell `now` is scored against the forecast published for it.
	f.feed(in, now, now+time.Minute.Milliseconds(), sine)
	now += time.Minute.Milliseconds()
	evalAt += time.Minute.Milliseconds()
	out = f.sink.take()
	require.Empty(t, out)
	f.eng.Evaluate(at(evalAt))
	out = f.sink.take()
	require.Len(t, out, 2*2*3+2*2, "forecasts plus score and flag per model")
	checkOutput(t, out, now, evalAt)
}

// checkOutput checks the names, labels, timestamps and values of one
// evaluation's output; now is the open cell's grid time.
func checkOutput(t *testing.T, out []output.Sample, now, evalAt int64) {
	t.Helper()
	for _, s := range out {
		require.LessOrEqual(t, s.T, evalAt, "never stamped in the future")
		require.Equal(t, "test", s.Labels.Get("cluster"))
		require.Equal(t, "sensor", s.Labels.Get("exported_model"))
		require.Equal(t, "app", s.Labels.Get("job"))
		name := s.Labels.Get(model.MetricNameLabel)
		switch name {
		case "sine_forecast":
			require.Equal(t, now, s.T)
			require.Contains(t, []string{"yhat", "yhat_lower", "yhat_upper"}, s.Labels.Get("value_type"))
			want := sine(now)
			if h := s.Labels.Get("horizon"); h != "" {
				require.Equal(t, "30m", h)
				want = sine(now + 30*time.Minute.Milliseconds())
			}
			if s.Labels.Get("value_type") == "yhat" {
				require.InDelta(t, want, s.V, 2, "%s", s.Labels)
			}
		case "sine_anomaly_score":
			require.Equal(t, now-time.Minute.Milliseconds(), s.T)
			require.Less(t, s.V, 1.0, "a clean sine is no anomaly: %s", s.Labels)
		case "sine_anomaly":
			require.Equal(t, now-time.Minute.Milliseconds(), s.T)
			require.Equal(t, 0.0, s.V)
		default:
			t.Fatalf("unexpected series %s", s.Labels)
		}
	}
}

func TestEngineFlagsAnomaly(t *testing.T) {
	f := newFixture(t, testConfig+"    anomaly_warm_up: 30m\n")
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	f.fitAt(in, end, noisySine)

	// While the detectors learn the errors, nothing is flagged and the
	// score is 0.
	score, flag := f.scores(in, end, 30, noisySine)
	for _, m := range []string{"fourier", "seasonal_naive"} {
		require.Equal(t, make([]float64, 30), score[m], m)
		require.Equal(t, make([]float64, 30), flag[m], m)
	}
	// One cell far off the pattern flags at once, with both models.
	from := end + 30*minute
	score, flag = f.scores(in, from, 1, func(int64) float64 { return 500 })
	for _, m := range []string{"fourier", "seasonal_naive"} {
		require.Equal(t, []float64{1}, flag[m], m)
		require.GreaterOrEqual(t, score[m][0], 1.0, m)
		require.LessOrEqual(t, score[m][0], 100.0, m)
	}
	// Back on the pattern: no more flags.
	_, flag = f.scores(in, from+minute, 10, noisySine)
	for _, m := range []string{"fourier", "seasonal_naive"} {
		require.NotContains(t, flag[m], 1.0, m)
	}
	require.Equal(t, 2.0, testutil.ToFloat64(f.eng.metrics.anomalies.WithLabelValues("magnitude")))
	st := f.state(in)
	require.Len(t, st.flags, 2)
	require.Equal(t, "magnitude", st.flags[0].Rule)
	require.Equal(t, 500.0, st.flags[0].Actual)
}

func TestEngineStaleMarkers(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, end, sine)
	f.eng.RetrainDue(context.Background(), at(end))
	f.eng.Evaluate(at(end + 20000))
	written := map[string]int64{}
	for _, s := range f.sink.take() {
		written[s.Labels.String()] = s.T
	}

	// Nothing arrives for longer than staleness (5m): every output series
	// gets exactly one stale marker, after its last sample.
	later := end + 6*time.Minute.Milliseconds() + 20000
	f.eng.Evaluate(at(later))
	stale := f.sink.take()
	require.Len(t, stale, len(written))
	for _, s := range stale {
		require.True(t, value.IsStaleNaN(s.V))
		last, ok := written[s.Labels.String()]
		require.True(t, ok, "stale marker for a series never written: %s", s.Labels)
		require.Greater(t, s.T, last)
		require.LessOrEqual(t, s.T, later)
	}
	f.eng.Evaluate(at(later + time.Minute.Milliseconds()))
	require.Empty(t, f.sink.take(), "stale markers are sent once")
}

func TestEngineRetrainSpread(t *testing.T) {
	f := newFixture(t, testConfig)
	end := t0 + 3*time.Hour.Milliseconds()
	const n = 40
	for i := range n {
		f.feed(labels.FromStrings("__name__", "sine", "i", string(rune('a'+i))), t0, end, sine)
	}
	ctx := context.Background()
	require.Equal(t, n, f.eng.RetrainDue(ctx, at(end)), "first fits happen as soon as history suffices")
	require.Zero(t, f.eng.RetrainDue(ctx, at(end+1000)))

	// No series is refitted within half an interval of its first fit; by
	// one and a half intervals each was refitted exactly once, at its slot,
	// spread over several slots rather than all at once; in every interval
	// after that, exactly once again.
	interval := 15 * time.Minute.Milliseconds()
	pass := func(from, to int64) (total, busySlots int) {
		for ts := from; ts <= to; ts += 60000 {
			k := f.eng.RetrainDue(ctx, at(ts))
			total += k
			if k > 0 {
				busySlots++
			}
		}
		return total, busySlots
	}
	early, _ := pass(end+60000, end+interval/2-60000)
	require.Zero(t, early)
	total, busy := pass(end+interval/2, end+interval*3/2)
	require.Equal(t, n, total)
	require.Greater(t, busy, 5)
	total, _ = pass(end+interval*3/2+60000, end+interval*5/2)
	require.Equal(t, n, total)
}

// TestEngineRetriesShortModels checks that a model lacking data is tried
// again at the next step, not a whole retrain interval later.
func TestEngineRetriesShortModels(t *testing.T) {
	// min_history 5m = 5 cells: enough for seasonal_naive, not for fourier (8).
	f := newFixture(t, `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 5m}
forecasts: [{name: s, match: ['{__name__="sine"}'], models: [fourier, seasonal_naive]}]
`)
	in := labels.FromStrings("__name__", "sine")
	ctx := context.Background()
	end := t0 + 5*time.Minute.Milliseconds()
	f.feed(in, t0, end, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, f.closed(end)))
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("fourier", "insufficient_data")))
	for ts := end; ts < end+4*time.Minute.Milliseconds(); ts += time.Minute.Milliseconds() {
		f.feed(in, ts, ts+time.Minute.Milliseconds(), sine)
		f.eng.RetrainDue(ctx, f.closed(ts+time.Minute.Milliseconds()))
	}
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.fits.WithLabelValues("fourier", "success")),
		"fourier fitted once 8 cells were there")
}

func TestNextPhaseTime(t *testing.T) {
	for _, tc := range []struct {
		name          string
		now, interval int64
		phase         uint64
		want          int64
	}{
		{"before phase", 1000, 100, 30, 1030},
		{"at phase", 1030, 100, 30, 1130},
		{"after phase", 1031, 100, 30, 1130},
		{"phase wraps", 1000, 100, 250, 1050},
		{"negative now", -20, 100, 30, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, nextPhaseTime(tc.now, tc.interval, tc.phase))
		})
	}
}

func TestRouteAndReload(t *testing.T) {
	f := newFixture(t, testConfig)
	_, ok := f.eng.Route(labels.FromStrings("__name__", "sine"))
	require.True(t, ok)
	_, ok = f.eng.Route(labels.FromStrings("__name__", "other"))
	require.False(t, ok)
	// The adapter's own output is never modelled, even if a selector matches it.
	loop, err := config.Load(`
forecasts:
  - name: all
    match: ['{__name__=~"sine.*"}']
`)
	require.NoError(t, err)
	require.NoError(t, f.eng.ApplyConfig(loop))
	_, ok = f.eng.Route(labels.FromStrings("__name__", "sine_forecast", "model", "fourier", "value_type", "yhat"))
	require.False(t, ok)
	_, ok = f.eng.Route(labels.FromStrings("__name__", "sine_forecast"))
	require.True(t, ok, "a user series that merely ends in _forecast is still modelled")

	// Reload: series no entry selects are deleted; a changed grid resets.
	require.NoError(t, f.eng.ApplyConfig(mustLoad(t, testConfig)))
	in := labels.FromStrings("__name__", "sine")
	f.feed(in, t0, t0+3*time.Hour.Milliseconds(), sine)
	f.feed(labels.FromStrings("__name__", "sine", "x", "1"), t0, t0+3*time.Hour.Milliseconds(), sine)
	require.Equal(t, 2, f.eng.RetrainDue(context.Background(), at(t0+3*time.Hour.Milliseconds())))
	require.NoError(t, f.eng.ApplyConfig(mustLoad(t, `
forecasts:
  - name: only-x
    match: ['{__name__="sine", x="1"}']
    step: 5m
`)))
	require.Nil(t, f.store.Get(in), "unselected series deleted")
	ser := f.store.Get(labels.FromStrings("__name__", "sine", "x", "1"))
	require.NotNil(t, ser)
	require.Equal(t, 5*time.Minute, ser.Options().Step)
	require.Zero(t, ser.Count(math.MaxInt64), "grid change drops the old cells")
}

func mustLoad(t *testing.T, s string) *config.Config {
	t.Helper()
	cfg, err := config.Load(s)
	require.NoError(t, err)
	return cfg
}

func TestEngineMetricsLint(t *testing.T) {
	f := newFixture(t, testConfig)
	f.feed(labels.FromStrings("__name__", "sine"), t0, t0+3*time.Hour.Milliseconds(), sine)
	f.eng.RetrainDue(context.Background(), at(t0+3*time.Hour.Milliseconds()))
	f.eng.Evaluate(at(t0 + 3*time.Hour.Milliseconds() + 20000))
	problems, err := testutil.GatherAndLint(f.reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestEngineRunStops(t *testing.T) {
	f := newFixture(t, testConfig)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.eng.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestEngineSeesSeriesComeAndGo checks that the cached series list follows
// the store: series created after a pass are fitted at the next one, and
// series the store removed are forgotten.
func TestEngineSeesSeriesComeAndGo(t *testing.T) {
	f := newFixture(t, testConfig)
	ctx := context.Background()
	end := t0 + 3*time.Hour.Milliseconds()
	a := labels.FromStrings("__name__", "sine", "s", "a")
	f.feed(a, t0, end, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(end)))
	require.Zero(t, f.eng.RetrainDue(ctx, at(end+1000)))

	b := labels.FromStrings("__name__", "sine", "s", "b")
	f.feed(b, t0, end, sine)
	require.Equal(t, 1, f.eng.RetrainDue(ctx, at(end+2000)), "the new series is fitted at the next pass")
	require.Equal(t, 2.0, testutil.ToFloat64(f.eng.metrics.series))

	require.True(t, f.store.Delete(f.store.Get(a)))
	f.eng.RetrainDue(ctx, at(end+3000))
	require.Equal(t, 1.0, testutil.ToFloat64(f.eng.metrics.series), "the removed series is forgotten")
}

func TestEngineOutputNames(t *testing.T) {
	f := newFixture(t, testConfig+`
output:
  forecast_suffix: :predicted
  anomaly_score_suffix: :score
  anomaly_suffix: :flag
  model_label: algo
  value_type_label: kind
  horizon_label: ahead
`)
	in := labels.FromStrings("__name__", "sine", "algo", "mine")
	end := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, end, sine)
	f.eng.RetrainDue(context.Background(), at(end))
	f.eng.Evaluate(at(end + 20000))
	f.feed(in, end, end+time.Minute.Milliseconds(), sine)
	f.eng.Evaluate(at(end + time.Minute.Milliseconds() + 20000))
	names := map[string]bool{}
	for _, s := range f.sink.take() {
		names[s.Labels.Get(model.MetricNameLabel)] = true
		require.Contains(t, []string{"fourier", "seasonal_naive"}, s.Labels.Get("algo"))
		require.Equal(t, "mine", s.Labels.Get("exported_algo"), "collision with the renamed model label")
		require.False(t, s.Labels.Has("model"))
		if s.Labels.Get(model.MetricNameLabel) == "sine:predicted" {
			require.Contains(t, []string{"yhat", "yhat_lower", "yhat_upper"}, s.Labels.Get("kind"))
			require.Contains(t, []string{"", "30m"}, s.Labels.Get("ahead"))
		}
	}
	require.Equal(t, map[string]bool{"sine:predicted": true, "sine:score": true, "sine:flag": true}, names)
	// The loop guard follows the configured names.
	n := f.eng.snap.Load().namer
	require.True(t, n.isOutput(labels.FromStrings("__name__", "sine:predicted", "algo", "fourier")))
	require.True(t, n.isOutput(labels.FromStrings("__name__", "sine:flag", "algo", "fourier")))
	require.False(t, n.isOutput(labels.FromStrings("__name__", "sine_forecast", "model", "fourier")))
	require.False(t, n.isOutput(labels.FromStrings("__name__", "sine:predicted")))
}
