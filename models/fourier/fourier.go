// Package fourier implements Fourier extrapolation: a linear trend plus the
// strongest harmonics of the detrended series, extrapolated periodically,
// fitted robustly, with a prediction band sized on a held-out period.
package fourier

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/train-prometheus/train-prometheus/models"
)

// DefaultHarmonics is the number of harmonics kept when New is given 0.
const DefaultHarmonics = 10

// MinObserved is the fewest observed (non-NaN) cells Fit accepts.
const MinObserved = 8

// model is the Fourier extrapolation Model. It is immutable.
type model struct {
	opts      models.Options
	harmonics int
}

// New returns a Fourier extrapolation model keeping the given number of
// strongest harmonics (0 or less means DefaultHarmonics).
//
// Fit fills gaps by linear interpolation, fits a linear trend over the grid
// index (on observed cells only), FFTs the detrended series and keeps the
// strongest harmonics by amplitude, excluding DC. The training window is the
// observed span of the series, shortened at its old end to a whole number
// of seasonal periods (opts.Period, or DetectPeriod with opts.MaxPeriod when
// 0) so the periodic extrapolation continues the season without a seam; a
// given period longer than the data counts as none.
// With a period the trend is models.SeasonalTrend, which the season does not
// tilt; a tilted trend would leave a sawtooth in the residual whose
// harmonics extrapolate badly. A window of one period (the holdout fit of
// a two-period window among them) has no seasonal difference to measure a
// trend by, and its trend is flat: the next period repeats the last. With
// no period the trend is the least squares line and the window is
// shortened to the longest length whose prime factors are all at most 7,
// to keep the FFT fast.
//
// Outliers are pulled in before the fit (robustClip): to within clipScale
// robust standard deviations of a seasonal profile when the window holds
// minCycles whole periods, else of a running median. A period to detect is
// detected on such a clipped copy too, since a burst can favour a period
// that lines it up.
//
// The band is yhat ± q·sigma(h) at h steps past the window (h = 1 inside
// it): sigma(h)² is the larger of the in-sample residual variance and
// base + growth·h, fitted by least squares to the squared errors of the
// same fit made without the window's last period (a quarter with no
// period) forecasting it. Clipped cells count in neither. q is the Student
// t quantile with as many degrees of freedom as that holdout had errors,
// less 2 (the normal one with no holdout): a variance estimated from a few
// dozen errors would otherwise cover less than asked, averaged over series.
func New(opts models.Options, harmonics int) models.Model {
	if harmonics <= 0 {
		harmonics = DefaultHarmonics
	}
	return model{opts: opts, harmonics: harmonics}
}

// Name returns "fourier".
func (model) Name() string { return "fourier" }

// Fit trains on s. prev is ignored. It returns an error wrapping
// models.ErrInsufficientData when the window has fewer than MinObserved
// observed cells, models.ErrInvalidSeries for a non-positive step,
// models.ErrInvalidOptions for bad options and models.ErrNonFinite when
// values near the limits of float64 overflow the fit.
func (m model) Fit(s models.Series, _ models.Fitted) (models.Fitted, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fit fourier: %w", err)
	}
	if err := m.opts.Validate(); err != nil {
		return nil, fmt.Errorf("fit fourier: %w", err)
	}
	offset, values, period := m.window(s)
	observed := models.Series{Values: values}.Observed()
	if observed < MinObserved {
		return nil, fmt.Errorf("fit fourier: %d observed points, need %d: %w",
			observed, MinObserved, models.ErrInsufficientData)
	}
	k := min(m.harmonics, maxHarmonics(observed))
	n := len(values)
	buf := make([]float64, n)

	// Robust pass: pull outliers in towards a robust reference, then fit.
	var clean []float64
	var clipped bool
	if period > 0 && n >= minCycles*period {
		clean, clipped = robustClip(values, period, nil, buf)
	} else {
		// A running median ignores a burst of up to medianHalf cells.
		clean, clipped = robustClip(values, 0, runningMedian(values, medianHalf, buf), make([]float64, n))
	}
	// The band is sized on the cells that were not clipped: an outlier,
	// even pulled in, is not the error the band is for.
	banded := clean
	if clipped {
		banded = make([]float64, n)
		for i, v := range clean {
			banded[i] = v
			if v != values[i] {
				banded[i] = math.NaN()
			}
		}
	}
	c := fitCore(clean, period, k)
	var sigma float64
	if !clipped && observed == n {
		sigma = math.Sqrt(c.residVar)
	} else {
		// The residual over observed, unclipped cells only: a cell filled
		// across a gap is no error of the fit.
		fit := c.inSample(buf)
		errs := make([]float64, 0, observed)
		for i, v := range banded {
			if models.IsObserved(v) {
				errs = append(errs, v-fit[i])
			}
		}
		if len(errs) > 1 {
			sigma = stat.StdDev(errs, nil)
		}
	}
	f := &fitted{
		start:     s.Time(offset),
		step:      float64(s.Step),
		n:         float64(n),
		intercept: c.a,
		slope:     c.b,
		harmonics: c.harmonics,
		z:         models.ZScore(m.opts.Width()),
	}
	f.variance = sigma * sigma
	if e := holdout(clean, banded, period, m.harmonics); e != nil {
		var used int
		f.growthBase, f.growth, used = errorGrowth(e)
		if used > 3 {
			// The band's variance is estimated from a few dozen errors:
			// the Student t quantile, rather than the normal one, keeps
			// the coverage averaged over series at the width asked for.
			f.z = studentT(f.z, float64(used-2))
		}
	}
	if err := models.CheckFinite(f, s, period); err != nil {
		return nil, fmt.Errorf("fit fourier: %w", err)
	}
	return f, nil
}

// studentT returns the quantile of Student's t with nu degrees of freedom
// at the probability where the standard normal has quantile z, by the
// Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5), within 1e-3 of
// it from 8 degrees of freedom at the usual widths, and without the cost of
// inverting the incomplete beta function in every fit; below 8, exactly.
func studentT(z, nu float64) float64 {
	if nu < 8 {
		return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(distuv.UnitNormal.CDF(z))
	}
	z2 := z * z
	return z +
		z*(z2+1)/(4*nu) +
		z*((5*z2+16)*z2+3)/(96*nu*nu) +
		z*(((3*z2+19)*z2+17)*z2-15)/(384*nu*nu*nu) +
		z*((((79*z2+776)*z2+1482)*z2-1920)*z2-945)/(92160*nu*nu*nu*nu)
}

// errorGrowth fits the mean squared forecast error at h steps ahead,
// base + growth·h (both at least 0), to the squared errors e of a holdout
// forecast (e[j] is h = j+1 steps ahead, NaN at gaps) by least squares,
// and returns how many errors it used.
func errorGrowth(e []float64) (base, growth float64, used int) {
	var n, sx, sy, sxx, sxy float64
	for j, v := range e {
		if math.IsNaN(v) {
			continue
		}
		x, y := float64(j+1), v*v
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	used = int(n)
	if n == 0 {
		return 0, 0, 0
	}
	if d := n*sxx - sx*sx; d > 0 {
		growth = (n*sxy - sx*sy) / d
		base = (sy - growth*sx) / n
	}
	switch {
	case !(growth > 0): // and a single error
		return sy / n, 0, used
	case base < 0:
		return 0, sxy / sxx, used
	}
	return base, growth, used
}

// minCycles is the fewest whole seasonal cycles for the seasonal profile
// of robustClip (a median over fewer is no median).
const minCycles = 3

// core is the trend and harmonics fitted to a window.
type core struct {
	a, b      float64
	harmonics []harmonic
	n         int
	residVar  float64 // sample variance of the residual over the window
}

// fitCore fits the trend (models.SeasonalTrend with a period, else the
// least squares line) and the k strongest harmonics of the detrended,
// gap-filled values. With a period but no pair of observed cells a period
// apart (a window of one period) the trend is flat at the mean: the least
// squares line through one cycle is tilted by the season (by about the
// amplitude over the cycle), and extrapolated a cycle ahead that tilt
// was an error of several amplitudes.
func fitCore(values []float64, period, k int) core {
	filled, _ := models.Interpolate(values)
	a, b, ok := models.SeasonalTrend(values, period)
	switch {
	case ok:
	case period > 0:
		a, b = mean(values), 0
	default:
		a, b, _ = models.LinearTrend(values)
	}
	n := len(filled)
	resid := filled // reuse: filled is a copy
	for i, v := range filled {
		resid[i] = v - (a + b*float64(i))
	}
	coeff := fourier.NewFFT(n).Coefficients(nil, resid)
	c := core{a: a, b: b, harmonics: strongest(coeff, n, k), n: n}

	// The sample variance of the in-sample residual over the whole window
	// by Parseval, without evaluating the fit cell by cell: the power of
	// the bins not kept (DC is never kept), less the mean's.
	var power float64
	for j, x := range coeff {
		w := 2.0
		if j == 0 || 2*j == n {
			w = 1
		}
		power += w * (real(x)*real(x) + imag(x)*imag(x))
	}
	for _, h := range c.harmonics {
		w := 2.0
		if h.nyquist {
			w = 1
		}
		a := h.amplitude * float64(n) / w // |coeff| of the bin
		power -= w * a * a
	}
	if n > 1 {
		mean := real(coeff[0]) / float64(n)
		c.residVar = max(0, (power/float64(n)-float64(n)*mean*mean)/float64(n-1))
	}
	return c
}

// inSample writes the fit of the first len(out) cells to out and returns
// it: the trend plus each harmonic, whose cos(omega·i + phase) is advanced
// by a rotation instead of a math.Cos per cell and harmonic (that was most
// of a fit's time). Over a window the rounding of the rotation stays far
// below the residual. Past the window (len(out) > n) it is not periodic.
func (c core) inSample(out []float64) []float64 {
	for i := range out {
		out[i] = c.a + c.b*float64(i)
	}
	for _, h := range c.harmonics {
		z := cmplx.Rect(h.amplitude, h.phase)
		r := cmplx.Rect(1, h.omega)
		for i := range out {
			out[i] += real(z)
			z *= r
		}
	}
	return out
}

// holdout fits values minus its last period (or quarter without a period)
// as Fit would and returns the errors of its forecast of those cells
// against target, NaN at its gaps; nil when the rest is too short to fit.
func holdout(values, target []float64, period, harmonics int) []float64 {
	n := len(values)
	var L, from int
	if period > 0 {
		L = period
		if n-L < period {
			return nil
		}
	} else {
		L = n / 4
		from = n - L - smoothLength(n-L)
	}
	train := values[from : n-L]
	observed := models.Series{Values: train}.Observed()
	if observed < MinObserved || L < 1 {
		return nil
	}
	c := fitCore(train, period, min(harmonics, maxHarmonics(observed)))
	m := len(train)
	out := make([]float64, L)
	// The forecast of cell m+j repeats the fit of cell j plus the trend's
	// further m steps.
	c.inSample(out)
	for j := range out {
		out[j] = target[n-L+j] - (out[j] + c.b*float64(m))
	}
	return out
}

// mean returns the mean of the observed values (0 when none is).
func mean(values []float64) float64 {
	var sum, n float64
	for _, v := range values {
		if models.IsObserved(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// maxHarmonics bounds the harmonics fitted to n observed points: each takes
// two degrees of freedom, and keeping them to a third of the data leaves a
// residual to size the band from. Without the bound, 10 harmonics pass
// exactly through a dozen points: a zero-width band that flags everything,
// and wild extrapolation.
func maxHarmonics(n int) int { return max(1, n/6) }

// window returns the offset into values and the cells Fit trains on, and
// the seasonal period (0 if none): the observed span, shortened at its start
// to whole seasonal periods or, with no period, to a length with only small
// prime factors.
func (m model) window(s models.Series) (int, []float64, int) {
	values := s.Values
	first, last := -1, -1
	for i, v := range values {
		if models.IsObserved(v) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, nil, 0
	}
	span := values[first : last+1]
	if m.opts.Period == 0 && s.Period == 0 {
		// Detect the period on a copy with bursts clipped, which would
		// otherwise favour a period that lines them up.
		if clean, clipped := robustClip(span, 0, runningMedian(span, medianHalf, make([]float64, len(span))), make([]float64, len(span))); clipped {
			span = clean
		}
	}
	period := s.SeasonalPeriod(m.opts, span)
	n, keep := last-first+1, 0
	if period > 0 && period <= n {
		keep = n / period * period
	} else {
		period, keep = 0, smoothLength(n)
	}
	start := last + 1 - keep
	return start, values[start : last+1], period
}

// smoothLength returns the largest length <= n whose prime factors are all
// at most 7, a length the FFT handles in O(n log n).
func smoothLength(n int) int {
	for ; n > 1; n-- {
		m := n
		for _, p := range [...]int{2, 3, 5, 7} {
			for m%p == 0 {
				m /= p
			}
		}
		if m == 1 {
			return n
		}
	}
	return n
}

// harmonic is one kept frequency: amplitude·cos(omega·x + phase) where x is
// the grid index modulo the window length.
type harmonic struct {
	omega, amplitude, phase float64
	nyquist                 bool // the Nyquist bin (not saved: only Fit uses it)
}

// strongest returns the k harmonics of the real FFT coeff (of a length-n
// sequence) with the largest amplitudes, excluding DC, strongest first;
// ties keep the lower frequency. k is small: a running top-k costs O(n·k)
// and allocates only the result, where sorting every bin cost a fifth of a
// fit.
func strongest(coeff []complex128, n, k int) []harmonic {
	k = min(k, len(coeff)-1)
	top := make([]harmonic, 0, k)
	for j := 1; j < len(coeff); j++ {
		scale := 2.0
		if 2*j == n { // Nyquist bin of an even-length sequence
			scale = 1
		}
		if len(top) == k {
			// Most bins are far below the weakest kept one: a squared
			// magnitude, loosely compared, skips them without a Hypot.
			re, im := real(coeff[j]), imag(coeff[j])
			if bound := top[k-1].amplitude * float64(n) / scale; re*re+im*im < bound*bound*(1-1e-9) {
				continue
			}
		}
		amp := scale * cmplx.Abs(coeff[j]) / float64(n)
		if len(top) == k && !(amp > top[k-1].amplitude) {
			continue // ties keep the earlier, lower frequency
		}
		h := harmonic{
			omega:     2 * math.Pi * float64(j) / float64(n),
			amplitude: amp,
			phase:     cmplx.Phase(coeff[j]),
			nyquist:   2*j == n,
		}
		// Insert after every kept harmonic at least as strong.
		at := len(top)
		for at > 0 && top[at-1].amplitude < amp {
			at--
		}
		if len(top) < k {
			top = append(top, harmonic{})
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = h
	}
	return top
}

// fitted is a trained Fourier model. It is immutable after Fit.
type fitted struct {
	start     int64   // grid time of window index 0
	step      float64 // ms
	n         float64 // window length: the period of the extrapolation
	intercept float64
	slope     float64
	harmonics []harmonic
	// The band at h steps past the window (h >= 1; 1 inside it) is
	// z·sqrt(max(variance, growthBase + growth·h)).
	z          float64
	variance   float64 // of the in-sample residual
	growthBase float64
	growth     float64
}

// Predict returns the forecast for time t; any t works, inside or beyond the
// training window, on or off the grid.
func (f *fitted) Predict(t int64) models.Point {
	i := float64(t-f.start) / f.step
	y := f.at(i)
	h := max(1, i-(f.n-1))
	w := f.z * math.Sqrt(max(f.variance, f.growthBase+f.growth*h))
	return models.Point{Yhat: y, Lower: y - w, Upper: y + w}
}

// at evaluates trend plus harmonics at window index i.
func (f *fitted) at(i float64) float64 {
	y := f.intercept + f.slope*i
	x := math.Mod(i, f.n)
	for _, h := range f.harmonics {
		y += h.amplitude * math.Cos(h.omega*x+h.phase)
	}
	return y
}
