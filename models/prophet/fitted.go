package prophet

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// fitted is a trained Prophet model, in scaled units (y/yScale, t in
// history spans from t0). It is immutable after Fit.
type fitted struct {
	mode   Mode
	yScale float64
	t0     int64   // ms at t = 0: the first observed cell
	tScale float64 // ms per unit of t: the observed span
	rows   int64   // cells of the history minus one: changepoints lie at row/rows
	k, m   float64 // base slope and offset
	cpT    []float64
	delta  []float64 // rate change at each changepoint
	seas   []seasonality
	beta   []float64 // sin, cos coefficient of each harmonic, in seas order
	sigma  float64   // noise
	lambda float64   // Laplace scale of future rate changes: mean|δ|
	rate   float64   // future changepoints per unit of t
	z      float64   // normal quantile of the interval width
}

// Predict returns the forecast for time t (ms), on or off the grid,
// inside the history or past it.
func (f *fitted) Predict(t int64) models.Point {
	tt := float64(t-f.t0) / f.tScale
	trend := f.m + f.k*tt
	for j, s := range f.cpT {
		if tt > s {
			trend += f.delta[j] * (tt - s)
		}
	}
	season := f.seasonal(t)
	y, spread := trend+season, 1.0
	if f.mode == Multiplicative {
		y, spread = trend*(1+season), 1+season
	}
	v := f.sigma * f.sigma
	if h := tt - 1; h > 0 {
		// Variance at h of Σ δ_i·(h−u_i) over a Poisson process of
		// changepoints u_i with the given rate and Var δ = 2λ².
		v += spread * spread * f.rate * 2 * f.lambda * f.lambda * h * h * h / 3
	}
	half := f.z * math.Sqrt(v) * f.yScale
	yhat := y * f.yScale
	return models.Point{Yhat: yhat, Lower: yhat - half, Upper: yhat + half}
}

// seasonal returns Σ β·features at time t.
func (f *fitted) seasonal(t int64) float64 {
	var sum float64
	b := f.beta
	for _, s := range f.seas {
		sn, c := math.Sincos(phase(t, s.period))
		pc, ps := c, sn
		k := 1
		for _, h := range s.harmonics {
			for ; k < h; k++ {
				pc, ps = pc*c-ps*sn, ps*c+pc*sn
			}
			sum += b[0]*ps + b[1]*pc
			b = b[2:]
		}
	}
	return sum
}
