package offline

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// writeShortHistoryCSV writes the reproduction as the CLI reads
// it, to a file in a temporary directory: timestamp,value rows in Unix
// seconds, one a minute for four days, of a daily sine of amplitude 5 with
// noise σ 0.3, and +6 for 30 minutes from minute 3500.
func writeShortHistoryCSV(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.csv")
	fh, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(fh)
	rng := rand.New(rand.NewPCG(1, 2))
	const t0 = 1_699_920_000 // a midnight, UTC
	for i := range 4 * 1440 {
		v := 5*math.Sin(2*math.Pi*float64(i)/1440) + 0.3*rng.NormFloat64()
		if i >= 3500 && i < 3530 {
			v += 6
		}
		fmt.Fprintf(w, "%d,%.4f\n", t0+60*i, v)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, fh.Close())
	return path
}

// TestDetectShortHistoryBand replays the CSV through the default
// model with the CLI's defaults (detect: window 7d, retrain 15m,
// min-history 1h). While the series held two to three and a half days,
// auto's band was 20–65 times the noise's (2·z·σ = 1.18), then 0.5 times
// for a day; every hour's mean width now stays between 0.8 and 6 times it
// (the most, 5×, is the hour after the +6 shift entered the backtest).
func TestDetectShortHistoryBand(t *testing.T) {
	path := writeShortHistoryCSV(t)
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	rows, err := ReadRows(fh, path)
	require.NoError(t, err)
	ds, step, err := Detect(context.Background(), rows, DetectOptions{
		Model: "auto", Window: 7 * 24 * time.Hour, RetrainInterval: 15 * time.Minute, MinHistory: time.Hour,
	})
	require.NoError(t, err)
	require.Equal(t, time.Minute, step)
	ideal := 2 * models.ZScore(models.DefaultIntervalWidth) * 0.3
	for hour := 2; hour < 96; hour++ {
		var sum float64
		for _, d := range ds[hour*60 : (hour+1)*60] {
			require.False(t, math.IsNaN(d.Point.Yhat), "row %d", d.Line)
			sum += d.Point.Upper - d.Point.Lower
		}
		ratio := sum / 60 / ideal
		require.LessOrEqual(t, ratio, 6.0, "hour %d: mean band width %.3g", hour, sum/60)
		require.GreaterOrEqual(t, ratio, 0.8, "hour %d: mean band width %.3g", hour, sum/60)
	}
}
