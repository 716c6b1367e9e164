package models

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// autocorrelation returns, for lags 0..maxLag+1, the Pearson correlation
// between the residual and itself shifted by the lag, over the pairs of
// observed cells, where the residual is values minus slope·i (and then its
// mean); maxLag must be below len(values)-1. Correlating each lag's two
// overlapping segments on their own means and variances keeps the peak of
// a periodic signal exactly at its period, unlike the textbook estimator
// whose partial-period sums skew it. A lag with too few observed pairs is
// NaN. It returns nil when the residual is flat.
//
// Each lag needs the pair count and the sums of x, y, x², y² and xy over
// its pairs. Without gaps all but Σxy are prefix sums, and one forward and
// one inverse FFT give Σxy; with gaps the sums over the pairs are
// correlations with the observation mask, and Σy, Σy² are Σx, Σx² at the
// negative lag, so 3 forward and 4 inverse FFTs give them all.
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
	// every lag we read, the negative ones included.
	size := fastSize(n + maxLag + 2)
	buf := make([]float64, 3*size)
	x, tmp := buf[:size], buf[size:2*size] // x: residual at observed cells
	var energy float64
	for i, v := range values {
		if IsObserved(v) {
			r := v - slope*float64(i) - mean
			x[i] = r
			energy += r * r
		}
	}
	if energy <= flatRatio*raw {
		return nil
	}
	acf := make([]float64, maxLag+2)
	fft := fourier.NewFFT(size)
	coeff := make([]complex128, 3*(size/2+1))
	fx, fa, prod := coeff[:size/2+1], coeff[size/2+1:2*(size/2+1)], coeff[2*(size/2+1):]
	fft.Coefficients(fx, x)
	// corr returns size·Σ_i a_i b_{i+k} at index k (and at size-k for -k),
	// for the transforms fa, fb of a and b.
	corr := func(fa, fb []complex128, dst []float64) []float64 {
		for i := range fa {
			prod[i] = complex(real(fa[i]), -imag(fa[i])) * fb[i]
		}
		return fft.Sequence(dst, prod)
	}
	scale := 1 / float64(size)

	if int(count) == n {
		sxy := corr(fx, fx, tmp)
		// prefix[j] = Σ_{i<j} x_i, prefix2[j] = Σ_{i<j} x_i².
		prefix := buf[2*size : 2*size+n+1]
		prefix2 := make([]float64, n+1)
		for i, r := range x[:n] {
			prefix[i+1] = prefix[i] + r
			prefix2[i+1] = prefix2[i] + r*r
		}
		for k := range acf {
			np := float64(n - k)
			acf[k] = pearson(np, minPairs(k), prefix[n-k], prefix[n]-prefix[k],
				prefix2[n-k], prefix2[n]-prefix2[k], sxy[k]*scale)
		}
		return acf
	}

	x2, m := tmp, buf[2*size:] // the residual's square, the observation mask
	for i, v := range values {
		if IsObserved(v) {
			x2[i], m[i] = x[i]*x[i], 1
		}
	}
	fx2 := coeff[2*(size/2+1):]
	prod = make([]complex128, size/2+1)
	fft.Coefficients(fx2, x2)
	fft.Coefficients(fa, m) // fa: the mask's transform
	out := make([]float64, 4*size)
	sxy := corr(fx, fx, out[:size])
	pairs := corr(fa, fa, out[size:2*size])
	sx := corr(fx, fa, out[2*size:3*size])
	sxx := corr(fx2, fa, out[3*size:])
	for k := range acf {
		neg := (size - k) % size
		acf[k] = pearson(math.Round(pairs[k]*scale), minPairs(k), sx[k]*scale, sx[neg]*scale,
			sxx[k]*scale, sxx[neg]*scale, sxy[k]*scale)
	}
	return acf
}

// pearson returns the correlation of np pairs from their sums, or NaN when
// np is below minNP or either side has no variance.
func pearson(np, minNP, sx, sy, sxx, syy, sxy float64) float64 {
	if np < minNP {
		return math.NaN()
	}
	mx, my := sx/np, sy/np
	vx := sxx/np - mx*mx
	vy := syy/np - my*my
	if vx > 0 && vy > 0 {
		return (sxy/np - mx*my) / math.Sqrt(vx*vy)
	}
	return math.NaN()
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
