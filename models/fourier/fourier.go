// Package fourier implements Fourier extrapolation: a least squares linear
// trend plus the strongest harmonics of the detrended series, extrapolated
// periodically, with a constant-width normal prediction band.
package fourier

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"

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
// harmonics extrapolate badly. With no period the trend is the least
// squares line and the window is shortened to the longest length whose
// prime factors are all at most 7, to keep the FFT fast.
//
// The band is yhat ± ZScore(width)·sigma, where sigma is the standard
// deviation of the in-sample residual (actual − fitted) over observed cells
// of the window.
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
// observed cells, models.ErrInvalidSeries for a non-positive step and
// models.ErrInvalidOptions for bad options.
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
	filled, _ := models.Interpolate(values)
	a, b, ok := models.SeasonalTrend(values, period)
	if !ok {
		a, b, _ = models.LinearTrend(values)
	}

	n := len(filled)
	resid := make([]float64, n)
	for i, v := range filled {
		resid[i] = v - (a + b*float64(i))
	}
	coeff := fourier.NewFFT(n).Coefficients(nil, resid)

	f := &fitted{
		start:     s.Time(offset),
		step:      float64(s.Step),
		n:         float64(n),
		intercept: a,
		slope:     b,
		harmonics: strongest(coeff, n, min(m.harmonics, maxHarmonics(observed))),
	}

	// In-sample fit, cell by cell: the trend plus each harmonic, whose
	// cos(omega·i + phase) is advanced by a rotation instead of a math.Cos
	// per cell and harmonic (that was most of a fit's time). Over a window
	// the rounding of the rotation stays far below the residual.
	fit := resid[:0:n] // reuse: resid is not needed any more
	for i := range n {
		fit = append(fit, a+b*float64(i))
	}
	for _, h := range f.harmonics {
		z := cmplx.Rect(h.amplitude, h.phase)
		r := cmplx.Rect(1, h.omega)
		for i := range fit {
			fit[i] += real(z)
			z *= r
		}
	}
	errs := make([]float64, 0, observed)
	for i, v := range values {
		if models.IsObserved(v) {
			errs = append(errs, v-fit[i])
		}
	}
	f.halfWidth = models.ZScore(m.opts.Width()) * stat.StdDev(errs, nil)
	return f, nil
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
	span := last - first + 1
	period := s.SeasonalPeriod(m.opts, values[first:last+1])
	var keep int
	if period > 0 && period <= span {
		keep = span / period * period
	} else {
		period, keep = 0, smoothLength(span)
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
		amp := scale * cmplx.Abs(coeff[j]) / float64(n)
		if len(top) == k && !(amp > top[k-1].amplitude) {
			continue // ties keep the earlier, lower frequency
		}
		h := harmonic{
			omega:     2 * math.Pi * float64(j) / float64(n),
			amplitude: amp,
			phase:     cmplx.Phase(coeff[j]),
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
	halfWidth float64 // z·sigma
}

// Predict returns the forecast for time t; any t works, inside or beyond the
// training window, on or off the grid.
func (f *fitted) Predict(t int64) models.Point {
	y := f.at(float64(t-f.start) / f.step)
	return models.Point{Yhat: y, Lower: y - f.halfWidth, Upper: y + f.halfWidth}
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
