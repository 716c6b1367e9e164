package holtwinters

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// Bounds of the damping parameter (Hyndman et al., 2008: φ in [0.8, 0.98]).
const (
	minPhi = 0.8
	maxPhi = 0.98
)

// params are the smoothing parameters of the error correction form
//
//	ŷ = l + φb + s[phase]     e = y − ŷ
//	l ← l + φb + αe           b ← φb + βe           s[phase] ← s[phase] + γe
//
// with 0 < α < 1, 0 < β < α (β = 0 without a trend), 0 < γ < 1−α and
// φ = 1 when not damped. Each
// is a logistic function of an unconstrained coordinate, so that
// Nelder-Mead searches all of R^k and every point it tries is admissible
// in the usual sense.
type params struct {
	alpha, beta, gamma, phi float64
}

// Trend components.
const (
	trendNone   = iota // ETS(A,N,·): level only
	trendAdd           // ETS(A,A,·)
	trendDamped        // ETS(A,Ad,·)
	trendKinds         // how many there are
)

// kind is one ETS structure: additive errors and seasonality, a trend
// component (none, additive or damped additive), and seasonality when
// period >= 2.
type kind struct {
	trend  int
	period int // 0 = no seasonal component
}

// dim is the number of smoothing parameters the kind fits.
func (k kind) dim() int {
	d := 1 // alpha
	if k.trend != trendNone {
		d++
	}
	if k.period > 0 {
		d++
	}
	if k.trend == trendDamped {
		d++
	}
	return d
}

// decode maps unconstrained coordinates to params.
func (k kind) decode(x []float64) params {
	p := params{alpha: unit(x[0]), phi: 1}
	i := 1
	if k.trend != trendNone {
		p.beta = p.alpha * unit(x[i])
		i++
	}
	if k.period > 0 {
		p.gamma = (1 - p.alpha) * unit(x[i])
		i++
	}
	if k.trend == trendDamped {
		p.phi = minPhi + (maxPhi-minPhi)*logistic(x[i])
	}
	return p
}

// encode is the inverse of decode (for the components the kind uses).
func (k kind) encode(p params, x []float64) {
	x[0] = unitInverse(p.alpha)
	i := 1
	if k.trend != trendNone {
		x[i] = unitInverse(ratio(p.beta, p.alpha))
		i++
	}
	if k.period > 0 {
		x[i] = unitInverse(ratio(p.gamma, 1-p.alpha))
		i++
	}
	if k.trend == trendDamped {
		x[i] = logit((p.phi - minPhi) / (maxPhi - minPhi))
	}
}

// defaultParams is where a cold fit starts.
func defaultParams() params {
	return params{alpha: 0.2, beta: 0.01, gamma: 0.05, phi: 0.95}
}

// ratio returns a/b, or 1/2 when b is not positive (a parameter on the
// boundary of its range).
func ratio(a, b float64) float64 {
	if !(b > 0) {
		return 0.5
	}
	return a / b
}

// minUnit keeps α, β/α and γ/(1−α) in [minUnit, 1−minUnit], away from
// the degenerate boundaries (Hyndman et al. use 1e-4 too).
const minUnit = 1e-4

// unit maps R onto (minUnit, 1−minUnit).
func unit(x float64) float64 { return minUnit + (1-2*minUnit)*logistic(x) }

// unitInverse is the inverse of unit.
func unitInverse(u float64) float64 { return logit((u - minUnit) / (1 - 2*minUnit)) }

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// logit clamps u into (0, 1) first, so that a boundary value maps to a
// finite coordinate.
func logit(u float64) float64 {
	u = min(max(u, 1e-9), 1-1e-9)
	return math.Log(u / (1 - u))
}

// states is the state of the recursion: level, trend and one seasonal state
// per phase (cell index mod period).
type states struct {
	level, trend float64
	season       []float64
}

// data is what the recursion runs over: the cells from the first observed
// one on, and the initial states heuristically estimated from them.
type data struct {
	values []float64 // s.Values[first:]
	scale  float64   // mean absolute observed value
	first  int       // index of values[0] in the series
	init   states    // before values[0]; season indexed by series cell mod period
	season []float64 // scratch for the seasonal states of one run
}

// run runs the recursion with p over d and returns the sum of squared
// one-step errors over the observed cells and their count. A gap is
// treated as missing: the one-step forecast stands in for the observation,
// so the error is zero and the states move on without it. When out is
// non-nil it receives the final states, and tail (when not empty) the
// one-step forecasts of the last len(tail) cells.
//
// This loop is the whole cost of a fit (one call per optimiser step), so
// the common cases have their own loops without the tail, and gaps are NaN
// (see newData), tested as y == y.
func (d *data) run(k kind, p params, out *states, tail []float64) (sse float64, count int) {
	l, b := d.init.level, d.init.trend
	if k.trend == trendNone {
		l, b = l+b, 0 // the level at values[0]
	}
	a, be, g, phi := p.alpha, p.beta, p.gamma, p.phi
	n := len(d.values)
	tailFrom := n
	if len(tail) > 0 {
		tailFrom = n - len(tail)
	}
	var s []float64
	ph := 0
	if k.period > 0 {
		s = d.season[:k.period]
		copy(s, d.init.season)
		ph = d.first % k.period
	}
	for i, y := range d.values[:tailFrom] {
		pb := phi * b
		yhat := l + pb
		if s != nil {
			yhat += s[ph]
		}
		e := y - yhat
		if y == y {
			sse += e * e
			count++
		} else {
			e = 0
		}
		l += pb + a*e
		b = pb + be*e
		if s != nil {
			s[ph] += g * e
			if ph++; ph == k.period {
				ph = 0
			}
		}
		_ = i
	}
	for i, y := range d.values[tailFrom:] {
		pb := phi * b
		yhat := l + pb
		if s != nil {
			yhat += s[ph]
		}
		tail[i] = yhat
		e := y - yhat
		if y == y {
			sse += e * e
			count++
		} else {
			e = 0
		}
		l += pb + a*e
		b = pb + be*e
		if s != nil {
			s[ph] += g * e
			if ph++; ph == k.period {
				ph = 0
			}
		}
	}
	if out != nil {
		out.level, out.trend = l, b
		if s != nil {
			out.season = append(out.season[:0], s...)
		}
	}
	return sse, count
}

// newData returns the recursion's data for values (values[0] observed, the
// cell first of the series): a copy with every gap (±Inf too) as NaN, and
// the initial states.
func newData(values []float64, first, period int) *data {
	vals := make([]float64, len(values))
	var scale, count float64
	for i, v := range values {
		if models.IsObserved(v) {
			vals[i] = v
			scale += math.Abs(v)
			count++
		} else {
			vals[i] = math.NaN()
		}
	}
	return &data{
		values: vals,
		scale:  scale / max(1, count),
		first:  first,
		init:   initialStates(vals, first, period),
		season: make([]float64, period),
	}
}

// initialStates estimates the states before values[0] (values[0] observed)
// from the first periods of data: the trend is the mean seasonal difference
// over up to initPeriods periods (models.SeasonalTrend, which the season
// does not tilt), the seasonal states are the per-phase means of the
// detrended values, centred to sum to zero, and the level is the trend line
// one cell before values[0]. Without a season the trend is the least
// squares line over the first initCells cells.
func initialStates(values []float64, first, period int) states {
	var st states
	if period == 0 {
		w := values[:min(len(values), initCells)]
		a, b, ok := models.LinearTrend(w)
		if !ok {
			a, b = values[0], 0
		}
		st.level, st.trend = a-b, b
		return st
	}
	w := values[:min(len(values), initPeriods*period)]
	a, b, ok := models.SeasonalTrend(w, period)
	if !ok {
		a, b, ok = models.LinearTrend(w)
		if !ok {
			a, b = values[0], 0
		}
	}
	st.level, st.trend = a-b, b
	sum := make([]float64, period)
	cnt := make([]float64, period)
	ph := first % period
	for i, v := range w {
		if models.IsObserved(v) {
			sum[ph] += v - (a + b*float64(i))
			cnt[ph]++
		}
		if ph++; ph == period {
			ph = 0
		}
	}
	var mean, phases float64
	for p := range sum {
		if cnt[p] > 0 {
			sum[p] /= cnt[p]
			mean += sum[p]
			phases++
		}
	}
	mean /= phases
	for p := range sum {
		if cnt[p] > 0 {
			sum[p] -= mean
		} else {
			sum[p] = 0
		}
	}
	st.season = sum
	return st
}

// Initialisation windows.
const (
	initPeriods = 4  // periods of data the seasonal initial states average over
	initCells   = 10 // cells the non-seasonal initial level and trend are fitted to
)
