package prophet_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

// TestRobust fits awkward series: extreme scales, constants, spikes,
// steps, sparse cells, short histories with many seasonal columns, and
// checks every fit succeeds and forecasts finite values with ordered
// bands.
func TestRobust(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	steps := []int64{15_000, minute, 5 * minute, hour, 6 * hour}
	shapes := map[string]func(i, n int) float64{
		"zero":     func(int, int) float64 { return 0 },
		"negative": func(i, _ int) float64 { return -5 - math.Sin(float64(i)) },
		"spike":    func(i, n int) float64 { return map[bool]float64{true: 1e6}[i == n/2] },
		"step":     func(i, n int) float64 { return map[bool]float64{true: 100}[i > n/3] },
		"counter":  func(i, n int) float64 { return float64(i % (n/4 + 1)) },
		"huge":     func(i, _ int) float64 { return 1e300 * (1 + 0.1*math.Sin(float64(i)/10)) },
		"tiny":     func(i, _ int) float64 { return 1e-300 * (1 + 0.1*math.Sin(float64(i)/10)) },
		"noise":    func(int, int) float64 { return rng.NormFloat64() },
		"zigzag":   func(i, _ int) float64 { return float64(i % 2) },
	}
	for name, shape := range shapes {
		for range 6 {
			step := steps[rng.IntN(len(steps))]
			n := 3 + rng.IntN(1500)
			keep := []float64{1, 0.5, 0.05}[rng.IntN(3)]
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = math.NaN()
				if rng.Float64() < keep {
					vals[i] = shape(i, n)
				}
			}
			vals[0], vals[n-1] = shape(0, n), shape(n-1, n)
			vals[n/2] = shape(n/2, n)
			s := models.Series{Start: start, Step: step, Values: vals, Period: rng.IntN(100) - 10}
			for _, popts := range []prophet.Options{{}, multiplicative} {
				f, err := prophet.New(models.Options{}, popts).Fit(s, nil)
				require.NoError(t, err, "%s n=%d step=%d keep=%v", name, n, step, keep)
				for _, h := range []int{-n, 0, n / 2, n, n + 1, 2 * n} {
					p := f.Predict(s.Time(h))
					for _, v := range []float64{p.Yhat, p.Lower, p.Upper} {
						require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s n=%d step=%d keep=%v h=%d: %+v", name, n, step, keep, h, p)
					}
					require.LessOrEqual(t, p.Lower, p.Yhat)
					require.LessOrEqual(t, p.Yhat, p.Upper)
				}
			}
		}
	}
}
