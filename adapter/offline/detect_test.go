package offline

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SyntheticRows returns n rows one minute apart from t0 (ms): an hourly
// cycle of amplitude 5 around 10, uniform noise of ±0.5, and +40
// on the burst rows from spike on (none when spike < 0).

// burst is how many consecutive rows a test anomaly lasts.
const burst = 5

func syntheticRows(n int, t0 int64, spike int) []Row {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]Row, n)
	for i := range rows {
		v := 10 + 5*math.Sin(2*math.Pi*float64(i)/60) + rng.Float64() - 0.5
		if spike >= 0 && i >= spike && i < spike+burst {
			v += 40
		}
		rows[i] = Row{Time: t0 + int64(i)*60000, Value: v, Line: i + 1}
	}
	return rows
}

func TestDetectReplay(t *testing.T) {
	const spike = 500
	rows := syntheticRows(720, 1704067200000, spike)
	ds, step, err := Detect(context.Background(), rows, DetectOptions{Model: "fourier"})
	require.NoError(t, err)
	require.Equal(t, time.Minute, step)
	require.Len(t, ds, len(rows))
	// min_history is 1h: nothing before the 60th cell.
	for _, d := range ds[:60] {
		require.True(t, math.IsNaN(d.Point.Yhat))
		require.True(t, math.IsNaN(d.Anomaly))
	}
	require.Equal(t, 1.0, ds[spike].Anomaly, "a row 80 noise sigmas off flags at once")
	require.GreaterOrEqual(t, ds[spike].Score, 1.0)
	require.LessOrEqual(t, ds[spike].Score, 100.0)
	for i := 180; i < len(ds); i++ {
		if i >= spike && i < spike+burst+6 { // the burst, and its end (a change of level too)
			continue
		}
		d := ds[i]
		require.Equal(t, 0.0, d.Anomaly, "row %d: %+v", i, d)
		require.LessOrEqual(t, d.Point.Lower, d.Point.Yhat)
		require.LessOrEqual(t, d.Point.Yhat, d.Point.Upper)
		// Before the burst and after it (fits that trained on it): within
		// 1 of the clean pattern.
		clean := 10 + 5*math.Sin(2*math.Pi*float64(i)/60)
		require.InDelta(t, clean, d.Point.Yhat, 1, "row %d", i)
	}
}

// TestDetectGap checks that a gap longer than the window (after which the
// engine's garbage collection drops the series) is survived: scoring resumes
// once the new data holds min_history.
func TestDetectGap(t *testing.T) {
	rows := syntheticRows(400, 0, -1)
	for i := 200; i < len(rows); i++ {
		rows[i].Time += 3 * 3600 * 1000 // a 3h gap; the window is 2h
	}
	ds, _, err := Detect(context.Background(), rows, DetectOptions{
		Model: "seasonal_naive", Step: time.Minute, Window: 2 * time.Hour, Threshold: 3,
	})
	require.NoError(t, err)
	require.False(t, math.IsNaN(ds[199].Point.Yhat))
	require.True(t, math.IsNaN(ds[200].Point.Yhat), "no model right after the gap")
	require.False(t, math.IsNaN(ds[399].Point.Yhat), "fitted again after the gap")
}

// TestDetectSeveralRowsPerCell checks that rows sharing a grid cell share
// its output.
func TestDetectSeveralRowsPerCell(t *testing.T) {
	rows := syntheticRows(600, 0, -1)
	ds, _, err := Detect(context.Background(), rows, DetectOptions{Model: "seasonal_naive", Step: 5 * time.Minute})
	require.NoError(t, err)
	for i := 300; i < 305; i++ {
		require.Equal(t, ds[300].Point, ds[i].Point)
	}
	require.NotEqual(t, ds[300].Point, ds[305].Point)
}

func TestInferStep(t *testing.T) {
	rows := []Row{{Time: 0}, {Time: 59_900}, {Time: 120_000}, {Time: 180_100}, {Time: 400_000}}
	step, err := InferStep(rows)
	require.NoError(t, err)
	require.Equal(t, time.Minute, step) // median 60.1s, rounded to seconds
	step, err = InferStep([]Row{{Time: 0}, {Time: 250}, {Time: 500}})
	require.NoError(t, err)
	require.Equal(t, 250*time.Millisecond, step)
	_, err = InferStep(rows[:1])
	require.Error(t, err)
}

func TestDetectErrors(t *testing.T) {
	rows := syntheticRows(10, 0, -1)
	for _, tc := range []struct {
		opts DetectOptions
		want string
	}{
		{DetectOptions{Model: "nope"}, `unknown model "nope"`},
		{DetectOptions{Model: "fourier", Window: time.Minute}, "settings: window 1m0s must hold at least two steps of 1m0s"},
		{DetectOptions{Model: "fourier", IntervalWidth: 2}, "interval_width 2 must be between 0 and 1"},
		{DetectOptions{Model: "fourier", Step: time.Millisecond, Window: 2 * time.Hour}, "holds 7200000 steps"},
	} {
		_, _, err := Detect(context.Background(), rows, tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
	_, _, err := Detect(context.Background(), []Row{{Time: 0}, {Time: 1e12}}, DetectOptions{Model: "fourier", Step: time.Second, Window: time.Hour})
	require.ErrorContains(t, err, "use a longer step")
}

// BenchmarkDetect replays one day of 1-minute rows (default settings:
// refits every 15m on up to the whole day, fourier).
func BenchmarkDetect(b *testing.B) {
	rows := syntheticRows(1440, 1704067200000, 700)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Detect(context.Background(), rows, DetectOptions{Model: "fourier"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1440, "ns/row")
}

// TestDetectCommittedAnomalies replays testdata/anomalies.csv (5 days at 5m
// of a daily request-rate shape, noise sigma 2; a spike of +30 at row 800, a
// dip of -30 at row 950, +15 from row 1200 on) with the defaults: the spike
// and the dip flag at their row, the shift within 3 rows (its first rows
// only: the forecast then follows it), and nothing else flags.
func TestDetectCommittedAnomalies(t *testing.T) {
	f, err := os.Open("testdata/anomalies.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, err := ReadRows(f, "anomalies.csv")
	require.NoError(t, err)
	ds, _, err := Detect(context.Background(), rows, DetectOptions{Model: "auto"})
	require.NoError(t, err)
	require.Equal(t, 1.0, ds[800].Anomaly, "spike")
	require.Equal(t, 1.0, ds[950].Anomaly, "dip")
	shift := -1
	for i := 1200; i < 1203; i++ {
		if ds[i].Anomaly == 1 {
			shift = i
			break
		}
	}
	require.GreaterOrEqual(t, shift, 1200, "the level shift flags within 3 rows")
	for i, d := range ds {
		if i == 800 || i == 950 || (i >= 1200 && i < 1203) {
			continue
		}
		require.NotEqual(t, 1.0, d.Anomaly, "row %d: no anomaly, or one already followed", i)
		require.False(t, math.IsInf(d.Score, 0) || math.IsNaN(d.Score) && i > 100, "row %d", i)
	}
}
