// Package synth generates synthetic series for the model tests and
// benchmarks: a linear trend plus a sine plus seeded Gaussian noise.
package synth

import (
	"math"
	"math/rand/v2"

	"github.com/train-prometheus/train-prometheus/models"
)

// Spec describes a synthetic signal y(i) = Level + Slope*i +
// Amplitude*sin(2πi/Period + Phase) + Noise*N(0,1), with i the grid index.
type Spec struct {
	Level     float64
	Slope     float64
	Amplitude float64
	Period    float64 // in steps; 0 means no seasonal term
	Phase     float64
	Noise     float64 // standard deviation of the Gaussian noise
	Seed      uint64
}

// Clean returns the noiseless signal at grid index i.
func (s Spec) Clean(i int) float64 {
	y := s.Level + s.Slope*float64(i)
	if s.Period > 0 {
		y += s.Amplitude * math.Sin(2*math.Pi*float64(i)/s.Period+s.Phase)
	}
	return y
}

// Values returns n noisy samples at grid indices 0..n-1. The same Spec gives
// the same values; a longer n extends a shorter one.
func (s Spec) Values(n int) []float64 {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	out := make([]float64, n)
	for i := range out {
		out[i] = s.Clean(i) + s.Noise*rng.NormFloat64()
	}
	return out
}

// Series returns the first n noisy samples as a Series starting at start
// with the given step (ms).
func (s Spec) Series(start, step int64, n int) models.Series {
	return models.Series{Start: start, Step: step, Values: s.Values(n)}
}

// Split returns a training series of the first train samples and the
// following test samples (noisy), so tests can check out-of-sample forecasts.
func (s Spec) Split(start, step int64, train, test int) (models.Series, []float64) {
	all := s.Values(train + test)
	return models.Series{Start: start, Step: step, Values: all[:train:train]}, all[train:]
}

// WithGaps returns a copy of values with NaN written at the given indices.
func WithGaps(values []float64, idx ...int) []float64 {
	out := append([]float64(nil), values...)
	for _, i := range idx {
		out[i] = math.NaN()
	}
	return out
}
