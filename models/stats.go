package models

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Interpolate returns a copy with interior NaN gaps filled linearly and
// leading/trailing NaNs filled with the nearest value; ok=false (and a nil
// slice) when fewer than 2 non-NaN values. ±Inf counts as a gap too.
func Interpolate(values []float64) (out []float64, ok bool) {
	first, prev, count := -1, -1, 0
	out = make([]float64, len(values))
	for i, v := range values {
		if !IsObserved(v) {
			continue
		}
		out[i] = v
		count++
		if first < 0 {
			first = i
			for j := range i {
				out[j] = v
			}
		} else if i-prev > 1 {
			slope := (v - values[prev]) / float64(i-prev)
			for j := prev + 1; j < i; j++ {
				out[j] = values[prev] + slope*float64(j-prev)
			}
		}
		prev = i
	}
	if count < 2 {
		return nil, false
	}
	for j := prev + 1; j < len(out); j++ {
		out[j] = values[prev]
	}
	return out, true
}

// LinearTrend fits v ≈ intercept + slope*i by least squares over the
// observed cells of values (i is the cell index). ok is false when fewer
// than 2 cells are observed.
func LinearTrend(values []float64) (intercept, slope float64, ok bool) {
	var n, sumI, sumV float64
	for i, v := range values {
		if IsObserved(v) {
			n++
			sumI += float64(i)
			sumV += v
		}
	}
	if n < 2 {
		return 0, 0, false
	}
	meanI, meanV := sumI/n, sumV/n
	var sxx, sxy float64
	for i, v := range values {
		if IsObserved(v) {
			di := float64(i) - meanI
			sxx += di * di
			sxy += di * (v - meanV)
		}
	}
	slope = sxy / sxx
	return meanV - slope*meanI, slope, true
}

// SeasonalTrend fits v ≈ intercept + slope*i under a seasonal pattern of
// the given period (in cells): slope is the mean of (v[i]-v[i-period])/period
// over pairs of observed cells, which a period-periodic component cancels
// out of exactly, and intercept makes the observed residuals average zero.
// A least squares line (LinearTrend) through a seasonal series is generally
// tilted by the seasonal component, even over whole cycles. ok is
// false when period < 1 or no pair of observed cells is period apart.
func SeasonalTrend(values []float64, period int) (intercept, slope float64, ok bool) {
	if period < 1 {
		return 0, 0, false
	}
	var sum, pairs float64
	for i := period; i < len(values); i++ {
		if IsObserved(values[i]) && IsObserved(values[i-period]) {
			sum += values[i] - values[i-period]
			pairs++
		}
	}
	if pairs == 0 {
		return 0, 0, false
	}
	slope = sum / pairs / float64(period)
	var level, count float64
	for i, v := range values {
		if IsObserved(v) {
			level += v - slope*float64(i)
			count++
		}
	}
	return level / count, slope, true
}

// autocorrelation returns, for lags 0..maxLag+1, the Pearson correlation
// between the residual and itself shifted by the lag, over the pairs of
// observed cells, where the residual is values minus slope·i (and then its
// mean); maxLag must be below len(values)-1. Correlating each lag's two
// overlapping segments on their own means and variances keeps the peak of
// a periodic signal exactly at its period, unlike the textbook estimator
// whose partial-period sums skew it. A lag with too few observed pairs is
// NaN. It returns nil when the residual is flat.
func autocorrelation(values []float64, slope float64, maxLag int) []float64 {
	n := len(values)
	var mean, count, raw float64
	for i, v := range values {
		if IsObserved(v) {
			mean += v - slope*float64(i)
			raw += v * v
			count++
		}
	}
	if count == 0 {
		return nil
	}
	mean /= count

	// Zero-padded so the circular correlation equals the linear one for
	// every lag we read.
	size := fastSize(n + maxLag + 2)
	x := make([]float64, size)  // residual at observed cells
	x2 := make([]float64, size) // its square
	m := make([]float64, size)  // 1 at observed cells
	var energy float64
	for i, v := range values {
		if IsObserved(v) {
			r := v - slope*float64(i) - mean
			x[i], x2[i], m[i] = r, r*r, 1
			energy += r * r
		}
	}
	if energy <= flatRatio*raw {
		return nil
	}

	fft := fourier.NewFFT(size)
	fx := fft.Coefficients(nil, x)
	fx2 := fft.Coefficients(nil, x2)
	fm := fft.Coefficients(nil, m)
	// c(a, b)[k] = size · Σ_i a_i b_{i+k}.
	c := func(a, b []complex128) []float64 {
		prod := make([]complex128, len(a))
		for i := range a {
			prod[i] = cmplx.Conj(a[i]) * b[i]
		}
		return fft.Sequence(nil, prod)
	}
	sxy, pairs := c(fx, fx), c(fm, fm)
	sx, sy := c(fx, fm), c(fm, fx)
	sxx, syy := c(fx2, fm), c(fm, fx2)

	acf := make([]float64, maxLag+2)
	scale := 1 / float64(size)
	for k := range acf {
		acf[k] = math.NaN()
		np := math.Round(pairs[k] * scale)
		if np < minPairs(k) {
			continue
		}
		mx, my := sx[k]*scale/np, sy[k]*scale/np
		vx := sxx[k]*scale/np - mx*mx
		vy := syy[k]*scale/np - my*my
		if vx > 0 && vy > 0 {
			acf[k] = (sxy[k]*scale/np - mx*my) / math.Sqrt(vx*vy)
		}
	}
	return acf
}

// minPairs is the fewest observed pairs a lag k needs for its ACF.
func minPairs(k int) float64 {
	return max(3, float64(k)/4)
}

// fastSize returns the smallest n' >= n whose prime factors are all 2, 3
// or 5, a length the FFT handles quickly.
func fastSize(n int) int {
	for ; ; n++ {
		m := n
		for _, p := range [...]int{2, 3, 5} {
			for m%p == 0 {
				m /= p
			}
		}
		if m == 1 {
			return n
		}
	}
}
