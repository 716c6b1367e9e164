package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"
)

// bruteACF is the O(n·maxLag) definition autocorrelation computes by FFT:
// detrend by the least squares line, then for each lag the Pearson
// correlation of the observed pairs (x_i, x_{i+k}).
func bruteACF(values []float64, maxLag int) []float64 {
	a, b, _ := LinearTrend(values)
	out := make([]float64, maxLag+2)
	for k := range out {
		var xs, ys []float64
		for i := 0; i+k < len(values); i++ {
			if IsObserved(values[i]) && IsObserved(values[i+k]) {
				xs = append(xs, values[i]-(a+b*float64(i)))
				ys = append(ys, values[i+k]-(a+b*float64(i+k)))
			}
		}
		out[k] = math.NaN()
		if float64(len(xs)) >= max(3, float64(k)/4) {
			out[k] = stat.Correlation(xs, ys, nil)
		}
	}
	return out
}

func TestAutocorrelationMatchesBruteForce(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		gaps   float64
		maxLag int
	}{
		{"no gaps", 200, 0, 0},
		{"sparse gaps", 300, 0.1, 0},
		{"heavy gaps", 300, 0.6, 0},
		{"odd length, small maxLag", 257, 0.05, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), 7))
			v := make([]float64, tc.n)
			for i := range v {
				v[i] = 3 + 0.02*float64(i) + math.Sin(float64(i)/5) + rng.NormFloat64()
				if i > 0 && i < tc.n-1 && rng.Float64() < tc.gaps {
					v[i] = math.NaN()
				}
			}
			maxLag := tc.maxLag
			if maxLag == 0 {
				maxLag = tc.n / 2
			}
			want := bruteACF(v, maxLag)
			_, slope, _ := LinearTrend(v)
			got := autocorrelation(v, slope, maxLag)
			require.Len(t, got, len(want))
			require.InDelta(t, 1.0, got[0], 1e-9)
			for k := range want {
				if math.IsNaN(want[k]) {
					require.True(t, math.IsNaN(got[k]), "lag %d: got %v", k, got[k])
					continue
				}
				require.InDelta(t, want[k], got[k], 1e-9, "lag %d", k)
			}
		})
	}
}
