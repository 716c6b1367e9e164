package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSnapshotState measures the engine state saved per series in a
// snapshot (both default models fitted on 7d of 5m data of a noisy daily
// pattern): its size and the time to encode it. Restore decodes it back.
func BenchmarkSnapshotState(b *testing.B) {
	const n = 1_000
	f := newBenchFixture(b, fmt.Sprintf(benchRetrainConfig, 5*time.Minute, 7*24*time.Hour))
	f.addSeries(n)
	step := (5 * time.Minute).Milliseconds()
	end := t0 + 7*24*time.Hour.Milliseconds()
	f.feedFunc(t0, end, step, daily)
	require.Equal(b, n, f.eng.RetrainDue(context.Background(), at(end)))

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
			g := newBenchFixture(b, fmt.Sprintf(benchRetrainConfig, 5*time.Minute, 7*24*time.Hour))
			for i, ser := range f.series {
				ok, err := g.eng.RestoreSeries(ser.Export(nil), blobs[i])
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
	})
}
