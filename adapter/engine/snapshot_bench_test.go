package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models/auto"
)

// snapshotStateConfig is benchRetrainConfig with the models as a parameter.
const snapshotStateConfig = `
global:
  step: 5m
  window: 7d
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [%s]
`

// BenchmarkSnapshotState measures the engine state saved per series in a
// snapshot (the models fitted on 7d of 5m data of a noisy daily pattern,
// full-precision values): its size and the time to encode it. Restore
// decodes it back into a new engine, recreating each series' buffer.
// models=auto is the default configuration.
func BenchmarkSnapshotState(b *testing.B) {
	const n = 1_000
	for _, tc := range []struct {
		models, pattern string
		fn              func(int64) float64
	}{
		{"fourier,seasonal_naive", "sine", daily},
		{"auto", "sine", daily},
		{"auto", "office_hours", officeHours},
	} {
		b.Run("models="+tc.models+"/pattern="+tc.pattern, func(b *testing.B) {
			cfg := fmt.Sprintf(snapshotStateConfig, tc.models)
			f := newBenchFixture(b, cfg)
			f.addSeries(n)
			step := (5 * time.Minute).Milliseconds()
			end := t0 + 7*24*time.Hour.Milliseconds()
			f.feedFunc(t0, end, step, tc.fn)
			require.Equal(b, n, f.eng.RetrainDue(context.Background(), at(end)))
			if tc.models == "auto" {
				b.Logf("auto chose: %v", autoChoices(f.eng))
			}

			blobs := make([][]byte, n)
			b.Run("save", func(b *testing.B) {
				total := 0
				b.ReportAllocs()
				for b.Loop() {
					total = 0
					for i, ser := range f.series {
						blobs[i] = f.eng.SnapshotState(ser)
						total += len(blobs[i])
					}
				}
				b.ReportMetric(float64(total)/n, "bytes/series")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
			})
			b.Run("restore", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					g := newBenchFixture(b, cfg)
					for i, ser := range f.series {
						ok, err := g.eng.RestoreSeries(ser.Export(nil), blobs[i])
						if err != nil || !ok {
							b.Fatal(ok, err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
			})
		})
	}
}

// officeHours is 100 from 9:00 to 17:00 and 20 otherwise, every day: a
// season with edges, which the seasonal naive model follows better than a
// few harmonics.
func officeHours(t int64) float64 {
	if h := t / time.Hour.Milliseconds() % 24; h >= 9 && h < 17 {
		return 100
	}
	return 20
}

// autoChoices counts the candidates auto chose over the engine's series.
func autoChoices(e *Engine) map[string]int {
	out := map[string]int{}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, st := range e.states {
		st.mu.Lock()
		for _, f := range st.fits {
			if a, ok := f.(auto.Fitted); ok {
				out[a.Chosen()]++
			}
		}
		st.mu.Unlock()
	}
	return out
}
