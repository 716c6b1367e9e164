package prophet

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

const (
	start = int64(1_700_000_000_000)
	step5 = int64(300_000)
)

// gappy returns 15 days of a noisy daily pattern with a trend change at 5m,
// with gaps.
func gappy() models.Series {
	perDay := float64(day / step5)
	s := synth.Spec{Level: 50, Amplitude: 10, Period: perDay, Noise: 2, Seed: 9}.Series(start, step5, 15*int(perDay))
	for i := range s.Values {
		if i > len(s.Values)/2 {
			s.Values[i] += 0.01 * float64(i-len(s.Values)/2)
		}
		if i%17 == 3 || (i > 1000 && i < 1100) {
			s.Values[i] = math.NaN()
		}
	}
	return s
}

// design returns the rows of the additive design matrix of pr, built
// directly: 1, t, (t−s_j)+, and the features from exact sines and cosines,
// and the scaled targets.
func design(pr *problem) ([][]float64, []float64) {
	var xs [][]float64
	var ys []float64
	for r, v := range pr.values {
		if !models.IsObserved(v) {
			continue
		}
		t := float64(r) * pr.dt
		x := []float64{1, t}
		for _, s := range pr.cpT {
			x = append(x, max(0, t-s))
		}
		tm := pr.start + int64(r)*pr.step
		for _, se := range pr.seas {
			for _, h := range se.harmonics {
				sn, c := math.Sincos(float64(h) * phase(tm, se.period))
				x = append(x, sn, c)
			}
		}
		xs = append(xs, x)
		ys = append(ys, v/pr.yScale)
	}
	return xs, ys
}

// TestNormalEquations checks the per-segment sums and the rotated features
// give the same normal equations as the design matrix built row by row.
func TestNormalEquations(t *testing.T) {
	pr, ok := newProblem(gappy(), mustDefaults(t, Options{}), 0)
	require.True(t, ok)
	require.Len(t, pr.cpT, DefaultChangepoints)
	require.Equal(t, 2*(dailyOrder+weeklyOrder), pr.nf)
	ne := pr.additiveNormal()
	xs, ys := design(pr)
	p := ne.p
	require.Equal(t, len(xs[0]), p)
	for i := range p {
		var b float64
		for r, x := range xs {
			b += x[i] * ys[r]
		}
		require.InDelta(t, b, ne.b[i], 1e-9*max(1, math.Abs(b)), "b[%d]", i)
		for j := range p {
			var g float64
			for _, x := range xs {
				g += x[i] * x[j]
			}
			require.InDelta(t, g, ne.g[i*p+j], 1e-9*max(1, math.Abs(g)), "G[%d,%d]", i, j)
		}
	}
}

// TestMAPOptimality checks the solution satisfies the optimality
// conditions of the MAP for its σ: for each column, X'r equals the
// derivative of the prior term (a subgradient for the Laplace prior).
func TestMAPOptimality(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    models.Series
	}{
		{"daily with trend change and gaps", gappy()},
		{"no season, trend changes", func() models.Series {
			s := synth.Spec{Level: 10, Slope: 0.1, Noise: 1, Seed: 2}.Series(start, step5, 500)
			for i := 250; i < 500; i++ {
				s.Values[i] -= 0.3 * float64(i-250)
			}
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			popts := mustDefaults(t, Options{})
			pr, ok := newProblem(tc.s, popts, 0)
			require.True(t, ok)
			nk := len(pr.cpT)
			pen := penalty{l1Lo: colD, l1Hi: colD + nk, tau: popts.ChangepointPriorScale}
			pen.scale = make([]float64, colD+nk+pr.nf)
			for j := range pen.scale {
				pen.scale[j] = trendPriorScale
				if j >= colD+nk {
					pen.scale[j] = popts.SeasonalityPriorScale
				}
			}
			var sv solver
			c, sigma2, err := sv.solve(pr.additiveNormal(), pen, nil, -1)
			require.NoError(t, err)
			xs, ys := design(pr)
			xr := make([]float64, len(c))
			var rss float64
			for r, x := range xs {
				res := ys[r]
				for j := range x {
					res -= x[j] * c[j]
				}
				rss += res * res
				for j := range x {
					xr[j] += x[j] * res
				}
			}
			require.InDelta(t, mapSigma2(rss, float64(len(xs))), sigma2, 1e-6*sigma2)
			lam := sigma2 / pen.tau
			nonzero := 0
			for j := range c {
				switch {
				case j < colD || j >= colD+nk:
					want := sigma2 / (pen.scale[j] * pen.scale[j]) * c[j]
					require.InDelta(t, want, xr[j], 1e-6, "column %d", j)
				case math.Abs(c[j]) > 1e-6:
					nonzero++
					require.InDelta(t, math.Copysign(lam, c[j]), xr[j], 1e-4*lam, "rate change %d = %v", j-colD, c[j])
				default:
					require.LessOrEqual(t, math.Abs(xr[j]), (1+1e-4)*lam, "rate change %d = %v", j-colD, c[j])
				}
			}
			require.Positive(t, nonzero, "some rate change is needed")
			require.Less(t, nonzero, nk, "the Laplace prior zeroes some")
		})
	}
}

func mustDefaults(t *testing.T, o Options) Options {
	t.Helper()
	o, err := o.withDefaults()
	require.NoError(t, err)
	return o
}
