package engine

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// saved is one series as a snapshot holds it.
type saved struct {
	rs   ring.SeriesState
	blob []byte
}

func saveAll(f *fixture) []saved {
	var out []saved
	f.store.Range(func(ser *ring.Series) bool {
		out = append(out, saved{ser.Export(nil), f.eng.SnapshotState(ser)})
		return true
	})
	return out
}

// restoreInto builds a new engine with cfgYAML whose clock reads now, and
// restores everything in snap into it.
func restoreInto(t *testing.T, cfgYAML string, snap []saved, now int64) (*fixture, int) {
	t.Helper()
	f := &fixture{t: t, store: ring.NewStore(100, nil), sink: &recorder{}, reg: prometheus.NewPedanticRegistry()}
	f.eng = New(nil, f.reg, f.store, f.sink, Options{Workers: 2, Now: func() time.Time { return at(now) }})
	require.NoError(t, f.eng.ApplyConfig(mustLoad(t, cfgYAML)))
	kept := 0
	for _, s := range snap {
		ok, err := f.eng.RestoreSeries(s.rs, s.blob)
		require.NoError(t, err)
		if ok {
			kept++
		}
	}
	return f, kept
}

// TestSnapshotRestoreContinues saves an engine after it fitted and
// forecast, restores it into a new engine, and checks that the new one
// forecasts at once without refitting, writes nothing twice, and from then
// on writes exactly what the original writes.
func TestSnapshotRestoreContinues(t *testing.T) {
	a := newFixture(t, testConfig)
	ctx := context.Background()
	in := []labels.Labels{
		labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor"),
		labels.FromStrings("__name__", "sine", "job", "app", "model", "sensor", "replica", "b"),
	}
	now := t0 + 3*time.Hour.Milliseconds()
	for _, l := range in {
		a.feed(l, t0, now, sine)
	}
	require.Equal(t, 2, a.eng.RetrainDue(ctx, at(now)))
	evalAt := now + 20000
	require.Positive(t, a.eng.Evaluate(at(evalAt)))
	a.sink.take()

	snap := saveAll(a)
	b, kept := restoreInto(t, testConfig, snap, evalAt+1000)
	require.Equal(t, 2, kept)
	require.Zero(t, b.eng.RetrainDue(ctx, at(evalAt+1000)), "restored fits are not refitted at once")
	require.Zero(t, b.eng.Evaluate(at(evalAt+2000)), "the step already forecast is not written again")

	// The next steps: the same samples arrive at both; both write the same.
	for step := int64(1); step <= 3; step++ {
		next := now + step*time.Minute.Milliseconds()
		for _, l := range in {
			a.feed(l, next-time.Minute.Milliseconds(), next, sine)
			b.feed(l, next-time.Minute.Milliseconds(), next, sine)
		}
		require.Zero(t, a.eng.RetrainDue(ctx, at(next)))
		require.Zero(t, b.eng.RetrainDue(ctx, at(next)))
		na, nb := a.eng.Evaluate(at(next+20000)), b.eng.Evaluate(at(next+20000))
		require.Positive(t, na)
		require.Equal(t, na, nb)
		outA, outB := a.sink.take(), b.sink.take()
		require.Equal(t, samplesKey(outA), samplesKey(outB), "step %d", step)
		forecasts := 0
		for _, x := range outA {
			if x.Labels.Get(model.MetricNameLabel) == "sine_forecast" {
				require.Equal(t, next, x.T)
				forecasts++
			}
		}
		require.Equal(t, 2*2*2*3, forecasts, "two series, two models, two horizons, three values")
	}
	require.Zero(t, testutil.ToFloat64(b.eng.metrics.fits.WithLabelValues("fourier", "success")))
}

func samplesKey(s []output.Sample) []string {
	out := make([]string, 0, len(s))
	for _, x := range s {
		out = append(out, x.Labels.String()+"@"+time.UnixMilli(x.T).UTC().Format(time.RFC3339)+"="+
			strconvFloat(x.V))
	}
	slices.Sort(out)
	return out
}

func strconvFloat(v float64) string {
	return strconv.FormatUint(math.Float64bits(v), 16) // exact bits
}

// TestRestoreUnderChangedConfig restores a snapshot under configurations
// that no longer select a series, changed its grid, or changed its models.
func TestRestoreUnderChangedConfig(t *testing.T) {
	a := newFixture(t, testConfig)
	ctx := context.Background()
	in := labels.FromStrings("__name__", "sine")
	now := t0 + 3*time.Hour.Milliseconds()
	a.feed(in, t0, now, sine)
	require.Equal(t, 1, a.eng.RetrainDue(ctx, at(now)))
	snap := saveAll(a)

	for _, tc := range []struct {
		name     string
		cfg      string
		kept     bool
		wantFits int // fits at the first retrain pass after restoring
	}{
		{"unchanged", testConfig, true, 0},
		{"unselected", "forecasts: [{name: other, match: ['{__name__=\"other\"}']}]\n", false, 0},
		{"grid changed", "global: {step: 2m, window: 1d}\nforecasts: [{name: s, match: ['sine']}]\n", false, 0},
		{"window changed", "global: {step: 1m, window: 2d}\nforecasts: [{name: s, match: ['sine']}]\n", false, 0},
		{"models changed", "global: {step: 1m, window: 1d, min_history: 2h}\nforecasts: [{name: s, match: ['sine'], models: [seasonal_naive]}]\n", true, 1},
		{"band changed", strings.Replace(testConfig, "horizons:", "interval_width: 0.8\n    horizons:", 1), true, 1},
		{"other entry, same grid and models", strings.Replace(testConfig, "name: sine", "name: renamed", 1), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, kept := restoreInto(t, tc.cfg, snap, now+1000)
			require.Equal(t, tc.kept, kept == 1)
			require.Equal(t, kept, b.store.Len())
			if tc.kept {
				requireSeriesEqual(t, a.store.Get(in), b.store.Get(in))
				require.Equal(t, tc.wantFits, b.eng.RetrainDue(ctx, at(now+1000)))
			}
		})
	}
}

func requireSeriesEqual(t *testing.T, a, b *ring.Series) {
	t.Helper()
	sa, va := a.Values(math.MaxInt64, nil)
	sb, vb := b.Values(math.MaxInt64, nil)
	require.Equal(t, sa, sb)
	require.Equal(t, len(va), len(vb))
	for i := range va {
		require.Equal(t, math.Float64bits(va[i]), math.Float64bits(vb[i]))
	}
}

// TestRestoreDamagedState: a damaged engine state keeps the buffer and
// refits; it never panics.
func TestRestoreDamagedState(t *testing.T) {
	a := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine")
	now := t0 + 3*time.Hour.Milliseconds()
	a.feed(in, t0, now, sine)
	require.Equal(t, 1, a.eng.RetrainDue(context.Background(), at(now)))
	snap := saveAll(a)
	require.Len(t, snap, 1)
	blob := snap[0].blob
	for cut := 0; cut < len(blob); cut += 1 + len(blob)/200 {
		b, kept := restoreInto(t, testConfig, []saved{{snap[0].rs, blob[:cut]}}, now+1000)
		require.Equal(t, 1, kept)
		require.Equal(t, 1, b.eng.RetrainDue(context.Background(), at(now+1000)), "truncated to %d: refit", cut)
	}
	bad := append([]byte{99}, blob[1:]...)
	b, _ := restoreInto(t, testConfig, []saved{{snap[0].rs, bad}}, now+1000)
	require.Equal(t, 1, b.eng.RetrainDue(context.Background(), at(now+1000)), "unknown version: refit")
}

// TestRestoreAfterGapFilled: a gap the fit saw is filled before the
// snapshot. The seasonal naive model, which rebuilds its state from the
// buffer, refuses to restore from cells that are not the fit's; fourier's
// fit is restored, and the series refits at the next pass, not a
// retrain interval later.
func TestRestoreAfterGapFilled(t *testing.T) {
	a := newFixture(t, testConfig)
	ctx := context.Background()
	in := labels.FromStrings("__name__", "sine")
	now := t0 + 3*time.Hour.Milliseconds()
	gap := now - 10*time.Minute.Milliseconds()
	a.feed(in, t0, gap, sine)
	a.feed(in, gap+time.Minute.Milliseconds(), now, sine)
	require.Equal(t, 1, a.eng.RetrainDue(ctx, at(now)))

	unchanged := saveAll(a)
	b, _ := restoreInto(t, testConfig, unchanged, now+1000)
	require.Zero(t, b.eng.RetrainDue(ctx, at(now+1000)), "the fit's own cells: both fits restored")

	ser := a.store.Get(in)
	require.NoError(t, ser.Append(gap, sine(gap)))
	b, _ = restoreInto(t, testConfig, saveAll(a), now+1000)
	b.eng.mu.RLock()
	st := b.eng.states[b.store.Get(in).Ref()]
	b.eng.mu.RUnlock()
	require.NotNil(t, st.fits[0], "fourier restored")
	require.Nil(t, st.fits[1], "seasonal naive refused the filled cell")
	require.Equal(t, 1, b.eng.RetrainDue(ctx, at(now+1000)), "refit at once")
	require.Equal(t, 1, int(testutil.ToFloat64(b.eng.metrics.fits.WithLabelValues("seasonal_naive", "success"))))
}

// TestSnapshotKeepsDetectors: a restored series keeps what its anomaly
// detectors learnt (no new warm-up), its level corrections and its masked
// cells, and scores the next cells exactly as the original does.
func TestSnapshotKeepsDetectors(t *testing.T) {
	cfg := testConfig + "    anomaly_warm_up: 30m\n"
	f := newFixture(t, cfg)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	f.fitAt(in, end, noisySine)
	f.scores(in, end, 40, noisySine)
	f.scores(in, end+40*minute, 1, func(int64) float64 { return 500 }) // masked
	now := end + 41*minute
	st := f.state(in)
	st.mu.Lock()
	require.NotEmpty(t, st.masked)
	want := append([]detection(nil), st.det...)
	st.mu.Unlock()

	g, kept := restoreInto(t, cfg, saveAll(f), now+20_000)
	require.Equal(t, 1, kept)
	rst := g.state(in)
	require.Equal(t, want, rst.det)
	require.Equal(t, st.masked, rst.masked)
	require.Equal(t, st.noiseFloor, rst.noiseFloor)
	require.Equal(t, st.period, rst.period)
	for _, m := range g.eng.Status()[0].Models {
		require.False(t, m.Learning(), "%s: restored detectors need no warm-up", m.Name)
	}
	s1, f1 := f.scores(in, now, 5, noisySine)
	s2, f2 := g.scores(in, now, 5, noisySine)
	require.Equal(t, s1, s2)
	require.Equal(t, f1, f2)
}

// FuzzDecodeState: saved engine state of any bytes is refused or decoded
// without a panic, and its detectors restore or start afresh.
func FuzzDecodeState(f *testing.F) {
	fx := newFixture(&testing.T{}, testConfig)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	fx.feed(in, t0, end, noisySine)
	fx.eng.RetrainDue(context.Background(), at(end))
	for k := range int64(5) {
		fx.feed(in, end+k*minute, end+(k+1)*minute, noisySine)
		fx.eng.Evaluate(at(end + (k+1)*minute + 20_000))
	}
	for _, s := range saveAll(fx) {
		f.Add(s.blob)
	}
	f.Add([]byte{1})
	f.Add([]byte{stateVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		s, err := decodeState(b)
		if err != nil {
			return
		}
		for _, d := range restoreDetections(s.dets) {
			require.LessOrEqual(t, len(d.resid), offsetCells)
		}
	})
}

// TestRestoreStateVersion1: engine state saved by the build before the
// anomaly detectors (testdata/state-v1.bin: testConfig, the sine fitted at
// t0+4h and evaluated once) still restores its fits and output times; the
// detectors start afresh.
func TestRestoreStateVersion1(t *testing.T) {
	blob, err := os.ReadFile("testdata/state-v1.bin")
	require.NoError(t, err)
	require.Equal(t, byte(1), blob[0])
	src := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine")
	end := t0 + 4*time.Hour.Milliseconds()
	src.feed(in, t0, end, sine)
	var rs ring.SeriesState
	src.store.Range(func(ser *ring.Series) bool { rs = ser.Export(nil); return false })

	g, kept := restoreInto(t, testConfig, []saved{{rs, blob}}, end+20_000)
	require.Equal(t, 1, kept)
	st := g.state(in)
	require.True(t, st.fitted, "the fits restore")
	require.Len(t, st.fits, 2)
	require.Equal(t, end, st.lastForecastT)
	require.Empty(t, st.det, "no detectors saved: they start afresh")
}

// TestRestoreStateVersion2: engine state saved before the transform was
// kept with it (testdata/state-v2-counter.bin: requests_total, a counter by
// its name, fitted as it is at t0+4h on v2Counter and evaluated once)
// restores with transform none, the values its fits were made on; under
// transform auto the next retrain pass refits it as a rate.
func TestRestoreStateVersion2(t *testing.T) {
	blob, err := os.ReadFile("testdata/state-v2-counter.bin")
	require.NoError(t, err)
	require.Equal(t, byte(2), blob[0])
	const cfg = `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 10s}
forecasts:
  - name: requests
    match: ['{__name__=~"requests_total"}']
    models: [fourier, seasonal_naive]
`
	v2Counter := func(ts int64) float64 { return float64(int64(2*float64(ts-t0)/1000 + 100*sine(ts))) }
	src := newFixture(t, strings.Replace(cfg, "models:", "transform: none\n    models:", 1))
	in := labels.FromStrings("__name__", "requests_total")
	end := t0 + 4*time.Hour.Milliseconds()
	src.feed(in, t0, end, v2Counter)
	var rs ring.SeriesState
	src.store.Range(func(ser *ring.Series) bool { rs = ser.Export(nil); return false })

	g, kept := restoreInto(t, cfg, []saved{{rs, blob}}, end+20_000)
	require.Equal(t, 1, kept)
	st := g.state(in)
	require.True(t, st.fitted, "the fits restore")
	require.Len(t, st.fits, 2)
	require.NotNil(t, st.fits[0])
	require.Equal(t, models.TransformNone, st.transform, "v2 fits were made on the values as they are")
	require.Equal(t, end, st.lastForecastT)
	yhat := st.fits[0].Predict(end).Yhat
	require.InDelta(t, v2Counter(end), yhat, 0.05*v2Counter(end), "a raw fit forecasts the counter's level")

	// The next pass refits it as a rate, though its slot is far.
	require.Equal(t, 1, g.eng.RetrainDue(context.Background(), at(end+30_000)))
	require.Equal(t, models.TransformRate, st.transform)
	rate := (v2Counter(end+45_000) - v2Counter(end-15_000)) / 60 // the cells' last samples
	require.InDelta(t, rate, st.fits[0].Predict(end).Yhat, 0.3, "now a rate per second")

	// Under transform none it stays as it is.
	h, _ := restoreInto(t, strings.Replace(cfg, "models:", "transform: none\n    models:", 1), []saved{{rs, blob}}, end+20_000)
	require.Zero(t, h.eng.RetrainDue(context.Background(), at(end+30_000)))
	require.Equal(t, models.TransformNone, h.state(in).transform)
}

// TestSnapshotKeepsRateTransform: a counter fitted as a rate saves its
// transform (state version 3) and restores it with its fits, which rebuild
// from the history as rates, so that the restored engine forecasts the
// same rate at once without refitting.
func TestSnapshotKeepsRateTransform(t *testing.T) {
	in := labels.FromStrings("__name__", "requests_total", "job", "api")
	end := t0 + 4*time.Hour.Milliseconds()
	fn := counter(t0 + 100*minute + 10_000)
	a := newFixture(t, counterConfig)
	a.fitAt(in, end, fn)
	require.Equal(t, models.TransformRate, a.state(in).transform)
	snap := saveAll(a)
	require.Len(t, snap, 1)
	require.Equal(t, byte(stateVersion), snap[0].blob[0])
	require.Equal(t, byte(3), snap[0].blob[0])

	b, kept := restoreInto(t, counterConfig, snap, end+30_000)
	require.Equal(t, 1, kept)
	st := b.state(in)
	require.True(t, st.fitted)
	require.Equal(t, models.TransformRate, st.transform)
	for i, f := range st.fits {
		require.NotNil(t, f, "model %d restored", i)
		require.InDelta(t, a.state(in).fits[i].Predict(end+minute).Yhat, f.Predict(end+minute).Yhat, 1e-9)
	}
	require.Zero(t, b.eng.RetrainDue(context.Background(), at(end+30_000)), "no refit")

	// A damaged transform byte is refused.
	bad := slices.Clone(snap[0].blob)
	bad[len(bad)-1] = 7
	_, err := decodeState(bad)
	require.ErrorIs(t, err, errBadState)
}
