package holtwinters

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// fitted is a trained Holt-Winters model: the states after the last cell of
// the training series and what the band needs. It is immutable after Fit.
type fitted struct {
	start, step  int64
	n            int // cells in the training series
	kind         kind
	p            params             // the chosen fit's parameters
	cand         [trendKinds]params // each trend kind's fitted parameters, for warm starts
	level, trend float64
	season       []float64 // per phase (series cell mod period); nil without a season
	tail         []float64 // one-step forecasts of the last len(tail) cells
	sigma2       float64   // variance of the one-step errors
	z            float64   // ZScore of the interval width
}

// Predict returns the forecast for time t, snapped to the nearest grid
// cell. Beyond the training data it extrapolates the final states; for the
// last max(period, 1) cells of the training data it returns the in-sample
// one-step forecast with the one-step band; earlier times get a NaN Point.
func (f *fitted) Predict(t int64) models.Point {
	i := f.cell(t)
	if i >= f.n {
		h := i - (f.n - 1)
		y := f.level + f.phiSum(h)*f.trend
		if f.kind.period > 0 {
			y += f.season[i%f.kind.period]
		}
		return f.point(y, h)
	}
	if j := i - (f.n - len(f.tail)); j >= 0 {
		return f.point(f.tail[j], 1)
	}
	return models.NaNPoint()
}

// point returns yhat with the band for h steps ahead.
func (f *fitted) point(y float64, h int) models.Point {
	w := f.z * math.Sqrt(f.sigma2*f.varianceFactor(h))
	return models.Point{Yhat: y, Lower: y - w, Upper: y + w}
}

// phiSum returns φ + φ² + … + φ^h (h when not damped, 0 without a trend).
func (f *fitted) phiSum(h int) float64 {
	phi := f.p.phi
	switch {
	case f.kind.trend == trendNone:
		return 0
	case f.kind.trend == trendAdd || phi == 1:
		return float64(h)
	}
	return phi * (1 - math.Pow(phi, float64(h))) / (1 - phi)
}

// varianceFactor returns v_h/σ² = 1 + Σ_{j=1}^{h-1} c_j² for the class 1
// models ETS(A,N,A), ETS(A,A,A) and ETS(A,Ad,A) (and their non-seasonal
// forms, γ = 0),
// with c_j = α + β·φ_j + γ·[j mod m = 0] and φ_j = φ + … + φ^j, in closed
// form (geometric and power sums), so that any horizon costs O(1).
func (f *fitted) varianceFactor(h int) float64 {
	a, b, g, phi := f.p.alpha, f.p.beta, f.p.gamma, f.p.phi
	n := float64(max(0, h-1))
	m := f.kind.period
	var k float64 // multiples of m among 1..n
	if m > 0 {
		k = math.Floor(n / float64(m))
	}
	var sum float64
	if f.kind.trend != trendDamped || phi == 1 {
		// Σ (a + b·j)² (b = 0 without a trend) and Σ_k [2g(a + b·k·m) + g²].
		sum = n*a*a + a*b*n*(n+1) + b*b*n*(n+1)*(2*n+1)/6
		sum += k*(2*g*a+g*g) + g*b*float64(m)*k*(k+1)
		return 1 + sum
	}
	// a + b·φ_j = P − Q·φ^j with A = φ/(1−φ), P = a + b·A, Q = b·A.
	A := phi / (1 - phi)
	P, Q := a+b*A, b*A
	g1 := phi * (1 - math.Pow(phi, n)) / (1 - phi)
	g2 := phi * phi * (1 - math.Pow(phi, 2*n)) / (1 - phi*phi)
	sum = n*P*P - 2*P*Q*g1 + Q*Q*g2
	if m > 0 && k > 0 {
		pm := math.Pow(phi, float64(m))
		sum += k*(2*g*P+g*g) - 2*g*Q*pm*(1-math.Pow(pm, k))/(1-pm)
	}
	return 1 + sum
}

// cell returns the index of the grid cell nearest to time t (ties round up).
func (f *fitted) cell(t int64) int {
	d := t - f.start + f.step/2
	q := d / f.step
	if d%f.step != 0 && d < 0 {
		q--
	}
	return int(q)
}
