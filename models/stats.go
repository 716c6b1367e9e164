package models

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Period detection thresholds.
const (
	// minPeakACF is the autocorrelation a peak needs to count as seasonality.
	minPeakACF = 0.3
	// minProminence is how far the autocorrelation must have dipped below a
	// peak at some shorter lag; it rejects ripples on a slowly decaying ACF.
	minProminence = 0.1
	// multipleSlack is how much weaker than the strongest peak a divisor of
	// its lag may be and still be preferred (the strongest is often a
	// multiple of the true period).
	multipleSlack = 0.1
	// flatRatio is the residual-to-raw energy ratio below which a detrended
	// series counts as flat (constant or a pure line).
	flatRatio = 1e-12
	// minRefinePeriod is the shortest period refinePeriod adjusts; shorter
	// ACF peaks are sharp.
	minRefinePeriod = 6
	// refineWindowDivisor sets how far refinePeriod searches around the ACF
	// peak: the peak lag divided by this, and at least 2 lags.
	refineWindowDivisor = 32
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

// DetectPeriod returns the seasonal period (in steps) with the strongest
// autocorrelation peak among lags 2..maxLag, or 0 when there is no
// significant seasonality (peak ACF < 0.3 or fewer than 2 full periods of
// data). NaN cells are skipped pairwise.
//
// The series is trimmed to its observed span and detrended by a least
// squares line, so a trend does not mask the seasonality; maxLag <= 0 means
// half the span, and larger values are capped there. The ACF at lag k is the
// Pearson correlation of the observed pairs k apart. A peak must be a local
// maximum that the ACF dipped at least 0.1 below at some shorter lag, and a
// peak at a divisor of the strongest peak's lag wins when it is at most 0.1
// weaker, so multiples of the true period are not reported.
//
// The broad peak of a long period is then located precisely: the series is
// detrended again by its mean seasonal difference at the chosen lag (a least
// squares line through a periodic signal is tilted by it), and the lag moves
// to the minimum of a local fit to the variogram, the mean squared
// difference of pairs k apart, whose minimum white noise does not shift.
func DetectPeriod(values []float64, maxLag int) int {
	values = observedSpan(values)
	n := len(values)
	if maxLag <= 0 || maxLag > n/2 {
		maxLag = n / 2
	}
	if maxLag < 2 {
		return 0
	}
	_, slope, ok := LinearTrend(values)
	if !ok {
		return 0
	}
	acf := autocorrelation(values, slope, maxLag)
	p := pickPeak(acf)
	if p == 0 {
		return 0
	}
	return refinePeriod(values, p)
}

// pickPeak returns the lag of the strongest qualifying ACF peak, preferring a
// divisor of it that is nearly as strong, or 0 when no peak qualifies.
func pickPeak(acf []float64) int {
	var peaks []int
	best := 0
	runMin := math.Inf(1)
	for k := 2; k+1 < len(acf); k++ {
		if r := acf[k-1]; !math.IsNaN(r) {
			runMin = min(runMin, r)
		}
		r := acf[k]
		if math.IsNaN(r) || !(r > acf[k-1]) || !(r >= acf[k+1]) ||
			r < minPeakACF || runMin > r-minProminence {
			continue
		}
		peaks = append(peaks, k)
		if best == 0 || r > acf[best] {
			best = k
		}
	}
	if best == 0 {
		return 0
	}
	for _, p := range peaks {
		tol := max(1, p/50) // p is only known to about this
		if p >= best {
			break
		}
		m := int(math.Round(float64(best) / float64(p)))
		if m >= 2 && abs(best-m*p) <= m*tol && acf[p] >= acf[best]-multipleSlack {
			return p
		}
	}
	return best
}

// seasonalSlope returns the mean of (y[i]-y[i-p])/p over observed pairs: the
// slope of a linear trend under a p-periodic signal, unbiased by it.
func seasonalSlope(values []float64, p int) (float64, bool) {
	var sum, count float64
	for i := p; i < len(values); i++ {
		if IsObserved(values[i]) && IsObserved(values[i-p]) {
			sum += values[i] - values[i-p]
			count++
		}
	}
	if count == 0 {
		return 0, false
	}
	return sum / count / float64(p), true
}

// refinePeriod locates the period near the ACF peak p precisely: the broad
// ACF peak of a long period lets noise move its maximum by several lags. It
// returns the integer period q within p±max(2, p/refineWindowDivisor) whose
// least squares sinusoid (cos and sin at frequency 1/q, fitted to the
// observed cells of the series detrended by its mean seasonal difference at
// p) explains the most variance: for a sinusoid in white noise that is the
// maximum likelihood period, and any periodic shape has its fundamental at
// 1/q.
func refinePeriod(values []float64, p int) int {
	if p < minRefinePeriod {
		return p
	}
	slope, _ := seasonalSlope(values, p)
	var mean, count float64
	for i, v := range values {
		if IsObserved(v) {
			mean += v - slope*float64(i)
			count++
		}
	}
	mean /= count

	w := max(2, p/refineWindowDivisor)
	best, bestSS := p, -1.0
	for q := max(2, p-w); q <= p+w && 2*q <= len(values); q++ {
		if ss := sinusoidFit(values, slope, mean, q); ss > bestSS {
			best, bestSS = q, ss
		}
	}
	return best
}

// sinusoidFit returns the sum of squares explained by the least squares fit
// of a·cos(2πi/q) + b·sin(2πi/q) to values[i] − slope·i − mean over the
// observed cells.
func sinusoidFit(values []float64, slope, mean float64, q int) float64 {
	// One period of the regressors, so the loop needs no trigonometry.
	cos, sin := make([]float64, q), make([]float64, q)
	for ph := range q {
		sin[ph], cos[ph] = math.Sincos(2 * math.Pi * float64(ph) / float64(q))
	}
	var scc, sss, scs, syc, sys float64
	ph := 0
	for i, v := range values {
		if IsObserved(v) {
			r := v - slope*float64(i) - mean
			c, s := cos[ph], sin[ph]
			scc += c * c
			sss += s * s
			scs += c * s
			syc += r * c
			sys += r * s
		}
		if ph++; ph == q {
			ph = 0
		}
	}
	det := scc*sss - scs*scs
	if !(det > 0) {
		return 0
	}
	a := (syc*sss - sys*scs) / det
	b := (sys*scc - syc*scs) / det
	return a*syc + b*sys
}

// observedSpan returns values trimmed to its first and last observed cells.
func observedSpan(values []float64) []float64 {
	first, last := -1, -1
	for i, v := range values {
		if IsObserved(v) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	return values[first : last+1]
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
	acf, _ := correlogram(values, slope, maxLag)
	return acf
}

// correlogram returns autocorrelation's ACF and, for the same lags and
// observed pairs, the variogram: the mean of (r_i − r_{i+k})² over them.
func correlogram(values []float64, slope float64, maxLag int) ([]float64, []float64) {
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
		return nil, nil
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
		return nil, nil
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
	vario := make([]float64, maxLag+2)
	scale := 1 / float64(size)
	for k := range acf {
		acf[k], vario[k] = math.NaN(), math.NaN()
		np := math.Round(pairs[k] * scale)
		if np < max(3, float64(k)/4) {
			continue
		}
		vario[k] = (sxx[k] + syy[k] - 2*sxy[k]) * scale / np
		mx, my := sx[k]*scale/np, sy[k]*scale/np
		vx := sxx[k]*scale/np - mx*mx
		vy := syy[k]*scale/np - my*my
		if vx > 0 && vy > 0 {
			acf[k] = (sxy[k]*scale/np - mx*my) / math.Sqrt(vx*vy)
		}
	}
	return acf, vario
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

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
