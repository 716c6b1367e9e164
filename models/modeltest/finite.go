package modeltest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// ExtremeSeries returns finite series whose values are near the ends of
// the float64 range, where sums, squares and differences overflow: huge
// positive and negative levels, values at the largest float64, a season
// of ±1e308 and a mix of huge and tiny values. Every value is finite, so
// the ring buffers accept them all.
func ExtremeSeries() map[string]models.Series {
	const n = 24 * 7
	gen := func(f func(i int) float64) models.Series {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = f(i)
		}
		return models.Series{Start: start, Step: step, Values: vals}
	}
	season := func(i int) float64 { return math.Sin(2 * math.Pi * float64(i) / 24) }
	return map[string]models.Series{
		"1e300":  gen(func(i int) float64 { return 1e300 * (2 + season(i)) }),
		"-1e300": gen(func(i int) float64 { return -1e300 * (2 + season(i)) }),
		"1e308":  gen(func(int) float64 { return 1e308 }),
		"max":    gen(func(i int) float64 { return math.MaxFloat64 * (0.75 + season(i)/4) }),
		"±1e308": gen(func(i int) float64 { return 1e308 * season(i) }),
		"huge and tiny": gen(func(i int) float64 {
			if i%5 == 0 {
				return 1e300
			}
			return 1e-300 * float64(i%7)
		}),
		"huge steps": gen(func(i int) float64 {
			if (i/12)%2 == 0 {
				return -1.5e308
			}
			return 1.5e308
		}),
	}
}

// Finite requires every fit m makes of an ExtremeSeries to either fail or
// forecast finite values with finite bands that contain them: no NaN or
// infinite value may reach write-back.
func Finite(t *testing.T, m models.Model) {
	t.Helper()
	for name, s := range ExtremeSeries() {
		for _, period := range []int{0, 24} {
			s.Period = period
			f, err := m.Fit(s, nil)
			if err != nil {
				t.Logf("%s: period %d: %v", name, period, err)
				continue
			}
			require.NotNil(t, f)
			for h, p := range future(f, s) {
				require.True(t, finite(p), "%s: period %d: horizon %d: %+v", name, period, h, p)
				require.LessOrEqual(t, p.Lower, p.Yhat, "%s: period %d: horizon %d", name, period, h)
				require.LessOrEqual(t, p.Yhat, p.Upper, "%s: period %d: horizon %d", name, period, h)
			}
			// A warm start from a finite fit stays finite (or fails).
			if g, err := m.Fit(s, f); err == nil {
				for h, p := range future(g, s) {
					require.True(t, finite(p), "%s: warm: period %d: horizon %d: %+v", name, period, h, p)
				}
			}
		}
	}
}
