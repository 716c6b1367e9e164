package prophet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// TestTrendVarianceMatchesSimulation checks the band's variance against
// Prophet's own procedure, simulated: future changepoints as a Poisson
// process with the historical rate over (1, t], Laplace rate changes of
// scale mean|δ|, and normal noise σ. The band uses the simulated variance
// in a normal quantile.
func TestTrendVarianceMatchesSimulation(t *testing.T) {
	s := gappy()
	m := New(models.Options{IntervalWidth: 0.9}, Options{})
	ft, err := m.Fit(s, nil)
	require.NoError(t, err)
	f := ft.(*fitted)
	require.Positive(t, f.lambda)
	rng := rand.New(rand.NewPCG(7, 8))
	const draws = 50_000
	for _, h := range []float64{0.1, 0.5, 1} {
		ts := f.t0 + int64((1+h)*f.tScale)
		tt := float64(ts-f.t0) / f.tScale
		var sum, sumSq float64
		for range draws {
			dev := f.sigma * rng.NormFloat64()
			// Poisson number of changepoints in (1, tt], uniform positions.
			n := poisson(rng, f.rate*(tt-1))
			for range n {
				u := 1 + rng.Float64()*(tt-1)
				dev += laplace(rng, f.lambda) * (tt - u)
			}
			sum += dev
			sumSq += dev * dev
		}
		mean := sum / draws
		simVar := sumSq/draws - mean*mean
		p := f.Predict(ts)
		halfWidth := (p.Upper - p.Yhat) / (f.z * f.yScale)
		bandVar := halfWidth * halfWidth
		t.Logf("h=%v: band variance %.4g, simulated %.4g", h, bandVar, simVar)
		require.InEpsilon(t, simVar, bandVar, 0.05, "h=%v", h)
	}
}

func poisson(rng *rand.Rand, mean float64) int {
	// Knuth's method; the means here are a few dozen at most.
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func laplace(rng *rand.Rand, scale float64) float64 {
	return scale * rng.ExpFloat64() * float64(1-2*rng.IntN(2))
}
