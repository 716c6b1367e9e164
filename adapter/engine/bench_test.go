package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// The helpers of engine_test.go (newFixture, feed) take a *testing.T and a
// store limited to 100 series; the benchmarks below build the same thing
// for a *testing.B, with an unlimited store, and reuse sine, t0 and at.

// countSink is a Sink that only counts: the benchmarks measure the engine,
// not whatever the sink does with the samples.
type countSink struct{ n int }

func (s *countSink) Append(samples []output.Sample) { s.n += len(samples) }

// benchFixture is an engine over an unlimited store, for benchmarks.
type benchFixture struct {
	b      *testing.B
	store  *ring.Store
	eng    *Engine
	sink   *countSink
	series []*ring.Series
	rngs   []*rand.Rand
}

func newBenchFixture(b *testing.B, cfgYAML string) *benchFixture {
	b.Helper()
	cfg, err := config.Load(cfgYAML)
	require.NoError(b, err)
	f := &benchFixture{b: b, store: ring.NewStore(0, nil), sink: &countSink{}}
	// Workers: 0 means GOMAXPROCS, as in production.
	f.eng = New(nil, prometheus.NewRegistry(), f.store, f.sink, Options{})
	require.NoError(b, f.eng.ApplyConfig(cfg))
	return f
}

// benchLabels returns the labels of bench series i: six labels, as a
// typical scraped series has.
func benchLabels(i int) labels.Labels {
	return labels.FromStrings(
		"__name__", "sine",
		"job", "api",
		"instance", "host-"+strconv.Itoa(i)+":9090",
		"namespace", "prod",
		"pod", "api-"+strconv.Itoa(i%100),
		"region", "eu-west-1",
	)
}

// addSeries creates n series routed by the engine.
func (f *benchFixture) addSeries(n int) {
	f.b.Helper()
	for i := range n {
		lset := benchLabels(i)
		opts, ok := f.eng.Route(lset)
		require.True(f.b, ok, "series %s not routed", lset)
		ser, _, err := f.store.GetOrCreate(lset, opts)
		require.NoError(f.b, err)
		f.series = append(f.series, ser)
		f.rngs = append(f.rngs, rand.New(rand.NewPCG(uint64(i), 1)))
	}
}

// daily is a sine of period one day.
func daily(t int64) float64 {
	return 100 + 10*math.Sin(2*math.Pi*float64(t)/float64(24*time.Hour.Milliseconds()))
}

// feed appends one sample every every ms in [from, to) to every series:
// the hourly sine of engine_test.go, shifted per series, plus noise.
func (f *benchFixture) feed(from, to, every int64) { f.feedFunc(from, to, every, sine) }

// feedFunc is feed with the pattern fn instead of the hourly sine.
func (f *benchFixture) feedFunc(from, to, every int64, fn func(int64) float64) {
	f.b.Helper()
	for i, ser := range f.series {
		shift := int64(i) * 7_919
		rng := f.rngs[i]
		for ts := from; ts < to; ts += every {
			if err := ser.Append(ts, fn(ts+shift)+rng.NormFloat64()); err != nil {
				f.b.Fatalf("append %s at %d: %v", ser.Labels(), ts, err)
			}
		}
	}
}

const benchEvaluateConfig = `
global:
  step: 1m
  window: 1d
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
  staleness: %s
  external_labels: {cluster: test}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [fourier, seasonal_naive]
    horizons: [0s, 30m]
`

// BenchmarkEvaluate measures one Evaluate over N series fitted on 3 h of
// 1m data (both models, horizons 0s and 30m), each call one step after the
// previous one so that every series is really evaluated.
//
//   - score: every series has a sample in the cell that just closed, so each
//     call scores it against the published forecast and forecasts the open
//     cell: 2 models × (2 horizons × 3 value types + score + flag) = 16
//     samples per series. The samples are fed ahead of time, outside the
//     timed loop, in chunks.
//   - forecast_only: nothing new arrives and staleness is 100d, so each call
//     only forecasts: 12 samples per series.
func BenchmarkEvaluate(b *testing.B) {
	const (
		step    = int64(60_000)
		history = 3 * 60 * step
		chunk   = 600 * step // fed ahead at a time; less than the 1d window
	)
	for _, n := range []int{1_000, 10_000} {
		for _, mode := range []string{"score", "forecast_only"} {
			b.Run(fmt.Sprintf("series=%dk/%s", n/1000, mode), func(b *testing.B) {
				staleness := "5m"
				if mode == "forecast_only" {
					staleness = "100d"
				}
				f := newBenchFixture(b, fmt.Sprintf(benchEvaluateConfig, staleness))
				f.addSeries(n)
				f.feed(t0, t0+history, 15_000)
				fitAt := t0 + history
				// Fitted once the last cell is closed (evaluation_delay 10s),
				// so that the fit covers it and the first evaluation only
				// forecasts.
				require.Equal(b, n, f.eng.RetrainDue(context.Background(), at(fitAt+10_000)))

				// The first evaluation after the fit only forecasts; do it
				// here so that every timed call is the steady state.
				fedEnd := fitAt
				if mode == "score" {
					f.feed(fitAt, fitAt+chunk, step)
					fedEnd = fitAt + chunk
				}
				evalAt := fitAt + 20_000
				require.Equal(b, n*12, f.eng.Evaluate(at(evalAt)))
				want := n * 12
				if mode == "score" {
					want = n * 16
				}

				b.ReportAllocs()
				samples := 0
				for b.Loop() {
					evalAt += step
					if mode == "score" && evalAt-step >= fedEnd {
						// The cell that closes has no data yet: feed the
						// next chunk. Rare (once per 600 calls), untimed.
						b.StopTimer()
						f.feed(fedEnd, fedEnd+chunk, step)
						fedEnd += chunk
						b.StartTimer()
					}
					got := f.eng.Evaluate(at(evalAt))
					if got != want {
						b.Fatalf("evaluation at %d produced %d samples, want %d", evalAt, got, want)
					}
					samples += got
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
				b.ReportMetric(float64(samples)/float64(b.N), "samples/op")
			})
		}
	}
}

const benchDailyConfig = `
global:
  step: 1m
  window: 2d
  min_history: 2h
  evaluation_delay: 10s
  external_labels: {cluster: test}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [fourier, seasonal_naive]
    horizons: [0s, 30m]
    seasonal_period: 1d
`

const benchRetrainConfig = `
global:
  step: %s
  window: %s
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [fourier, seasonal_naive]
`

// BenchmarkRetrainDue measures one RetrainDue pass that refits 1000 series,
// every one of them due, on a full window (both models, GOMAXPROCS
// workers). Each call is one retrain_interval after the previous one, which
// makes every series due again; no new data arrives, so every fit sees the
// same full window. The first fits happen during setup: the timed passes
// are refits, as in the steady state.
func BenchmarkRetrainDue(b *testing.B) {
	const n = 1_000
	for _, tc := range []struct {
		name   string
		step   time.Duration
		window time.Duration
	}{
		{"window=1d_step=1m", time.Minute, 24 * time.Hour},         // 1440 cells
		{"window=7d_step=5m", 5 * time.Minute, 7 * 24 * time.Hour}, // 2016 cells
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newBenchFixture(b, fmt.Sprintf(benchRetrainConfig, tc.step, tc.window))
			f.addSeries(n)
			step := tc.step.Milliseconds()
			end := t0 + tc.window.Milliseconds()
			f.feed(t0, end, step)
			cells := int(tc.window / tc.step)
			require.Equal(b, cells, f.series[0].Count(end))
			ctx := context.Background()
			now := end
			require.Equal(b, n, f.eng.RetrainDue(ctx, at(now)))
			nModels := len(f.eng.snap.Load().entries[0].Models)

			// A first fit puts the next one at least half an interval
			// later: one warm-up pass 1.5 intervals on makes every series
			// due at each following interval.
			interval := (15 * time.Minute).Milliseconds()
			now += interval * 3 / 2
			require.Equal(b, n, f.eng.RetrainDue(ctx, at(now)))
			b.ReportAllocs()
			for b.Loop() {
				now += interval
				// Series are removed once they sent nothing for a whole
				// window: 96 calls for 1d. b.Loop stays far below that with
				// the default -benchtime.
				if got := f.eng.RetrainDue(ctx, at(now)); got != n {
					b.Fatalf("RetrainDue at +%s fitted %d series, want %d",
						time.Duration(now-end)*time.Millisecond, got, n)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
			b.ReportMetric(float64(b.N*n)/sec, "series/s")
			b.ReportMetric(float64(b.N*n*nModels)/sec, "fits/s")
		})
	}
}

// BenchmarkStoreMemory measures the heap a buffered series costs: 10k
// series of 1d at 1m (1440 cells) with six labels each, one sample each
// (the buffer is allocated on the first sample). It reports the heap growth
// per series, the part of it that is the value buffer (Store.BufferBytes)
// and the rest: labels, Series struct, index.
//
// The engine sub-benchmarks do the same for the engine's per-series state
// once the series has been fitted (both models) and evaluated (output label
// sets built): the heap growth over the buffered series alone, for an
// hourly pattern (3 h of data) and a daily one (2 d of data, seasonal_period
// 1d).
func BenchmarkStoreMemory(b *testing.B) {
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	opts := ring.Options{Step: time.Minute, Window: 24 * time.Hour, Aggregate: ring.AggLast}

	b.Run("ring", func(b *testing.B) {
		const n = 10_000
		b.ReportAllocs()
		var total, buffers int64
		for b.Loop() {
			before := heap()
			st := ring.NewStore(0, nil)
			for i := range n {
				ser, _, err := st.GetOrCreate(benchLabels(i), opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := ser.Append(t0, 1); err != nil {
					b.Fatal(err)
				}
			}
			after := heap()
			total += int64(after) - int64(before)
			buffers += st.BufferBytes()
			runtime.KeepAlive(st)
		}
		b.ReportMetric(float64(total)/float64(b.N*n), "bytes/series")
		b.ReportMetric(float64(buffers)/float64(b.N*n), "buffer_bytes/series")
		b.ReportMetric(float64(total-buffers)/float64(b.N*n), "overhead_bytes/series")
	})

	// The engine's state depends on the detected period: the seasonal naive
	// model keeps 4·period values per series.
	for _, tc := range []struct {
		name, cfg string
		window    int64 // data fed, ms
		fn        func(int64) float64
	}{
		{"engine/period=1h", fmt.Sprintf(benchEvaluateConfig, "5m"), 3 * 60 * 60_000, sine},
		{"engine/period=1d", benchDailyConfig, 2 * 24 * 60 * 60_000, daily},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1_000
			b.ReportAllocs()
			var total int64
			for b.Loop() {
				f := newBenchFixture(b, tc.cfg)
				f.addSeries(n)
				f.feedFunc(t0, t0+tc.window, 60_000, tc.fn)
				before := heap()
				// Once the last cell is closed (evaluation_delay 10s): the
				// first evaluation then only forecasts.
				if got := f.eng.RetrainDue(context.Background(), at(t0+tc.window+10_000)); got != n {
					b.Fatalf("fitted %d series, want %d", got, n)
				}
				if got := f.eng.Evaluate(at(t0 + tc.window + 20_000)); got != 12*n {
					b.Fatalf("evaluation produced %d samples, want %d", got, 12*n)
				}
				after := heap()
				total += int64(after) - int64(before)
				runtime.KeepAlive(f)
			}
			b.ReportMetric(float64(total)/float64(b.N*n), "bytes/series")
		})
	}
}

// BenchmarkRetrainIdle measures the pass RetrainDue makes every second when
// nothing is due: 100k fitted series, window 1h/1m (small, to keep the
// setup short; the pass does not touch the buffers).
func BenchmarkRetrainIdle(b *testing.B) {
	f := newBenchFixture(b, `
global: {step: 1m, window: 1h, retrain_interval: 15m, min_history: 10m, staleness: 100d}
forecasts: [{name: sine, match: ['{__name__="sine"}'], models: [seasonal_naive], seasonal_period: 10m}]
`)
	const n = 100_000
	f.addSeries(n)
	f.feed(t0, t0+time.Hour.Milliseconds(), time.Minute.Milliseconds())
	now := t0 + time.Hour.Milliseconds()
	require.Equal(b, n, f.eng.RetrainDue(context.Background(), at(now)))
	b.ReportAllocs()
	for b.Loop() {
		now += 1000
		if k := f.eng.RetrainDue(context.Background(), at(now)); k > n/100 {
			b.Fatalf("%d series due in an idle second", k)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/series")
}
