package holtwinters

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// bruteVariance is the definition varianceFactor computes in closed form.
func bruteVariance(p params, period, h int) float64 {
	v := 1.0
	phiJ := 0.0
	for j := 1; j < h; j++ {
		phiJ += math.Pow(p.phi, float64(j))
		c := p.alpha + p.beta*phiJ
		if period > 0 && j%period == 0 {
			c += p.gamma
		}
		v += c * c
	}
	return v
}

func TestVarianceFactorClosedForm(t *testing.T) {
	tests := []struct {
		name string
		k    kind
		p    params
	}{
		{"ANA", kind{trend: trendNone, period: 24}, params{alpha: 0.3, gamma: 0.2, phi: 1}},
		{"AAA", kind{trend: trendAdd, period: 24}, params{alpha: 0.3, beta: 0.05, gamma: 0.2, phi: 1}},
		{"AAdA", kind{trend: trendDamped, period: 24}, params{alpha: 0.3, beta: 0.05, gamma: 0.2, phi: 0.9}},
		{"AAdA period 7", kind{trend: trendDamped, period: 7}, params{alpha: 0.6, beta: 0.3, gamma: 0.3, phi: 0.98}},
		{"ANN", kind{}, params{alpha: 0.5, phi: 1}},
		{"AAN", kind{trend: trendAdd}, params{alpha: 0.5, beta: 0.1, phi: 1}},
		{"AAdN", kind{trend: trendDamped}, params{alpha: 0.5, beta: 0.1, phi: 0.8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fitted{kind: tc.k, p: tc.p}
			for _, h := range []int{1, 2, 3, 7, 8, 23, 24, 25, 48, 49, 100, 333} {
				want := bruteVariance(tc.p, tc.k.period, h)
				require.InEpsilon(t, want, f.varianceFactor(h), 1e-9, "h=%d", h)
			}
			require.Equal(t, 1.0, f.varianceFactor(1))
		})
	}
}

// TestParamsRoundTrip checks encode inverts decode, so a warm start begins
// where the previous fit ended.
func TestParamsRoundTrip(t *testing.T) {
	for _, k := range []kind{{trendNone, 12}, {trendAdd, 0}, {trendDamped, 12}} {
		x := []float64{-1.5, 0.3, 2, -0.7}[:k.dim()]
		p := k.decode(x)
		require.True(t, valid(p, k.trend), "%+v", p)
		y := make([]float64, k.dim())
		k.encode(p, y)
		require.InDeltaSlice(t, x, y, 1e-9)
	}
}
