package eval

import (
	"fmt"
	"math"
)

// ACF returns the sample autocorrelations of x at lags 1..maxLag, as R's
// acf computes them: sum over t of (x[t]−m)(x[t+k]−m), divided by the sum
// of (x[t]−m)², m the mean. Lags at or beyond len(x) are NaN.
func ACF(x []float64, maxLag int) []float64 {
	n := len(x)
	out := make([]float64, maxLag)
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(n)
	var den float64
	for _, v := range x {
		den += (v - m) * (v - m)
	}
	for k := 1; k <= maxLag; k++ {
		if k >= n {
			out[k-1] = math.NaN()
			continue
		}
		var s float64
		for t := 0; t+k < n; t++ {
			s += (x[t] - m) * (x[t+k] - m)
		}
		out[k-1] = s / den
	}
	return out
}

// SeasonalityTest reports whether x is seasonal with period ppy by the M4
// benchmarks' test: the autocorrelation at lag ppy must exceed, in absolute
// value, 1.645·sqrt((1 + 2·Σ_{k<ppy} r_k²) / n), the 90% limit of Bartlett's
// formula. As in the M4 code, a series shorter than 3·ppy is not seasonal,
// and neither is one whose R acf default lag limit, floor(10·log10(n)), is
// below ppy (R returns NA there, which the M4 code reads as false).
func SeasonalityTest(x []float64, ppy int) bool {
	n := len(x)
	if ppy <= 1 || n < 3*ppy || min(int(math.Floor(10*math.Log10(float64(n)))), n-1) < ppy {
		return false
	}
	r := ACF(x, ppy)
	s := 1.0
	for k := 0; k < ppy-1; k++ {
		s += 2 * r[k] * r[k]
	}
	limit := 1.645 / math.Sqrt(float64(n)) * math.Sqrt(s)
	return math.Abs(r[ppy-1]) > limit // NaN compares false
}

// MultiplicativeSeasonal returns the seasonal indices of R's
// decompose(x, type = "multiplicative") for period f, one per position of x:
// x is divided by its centred moving average of order f (a 2×f average when
// f is even), the ratios are averaged per phase t mod f, and the f averages
// are scaled to mean 1. It needs at least two full periods.
func MultiplicativeSeasonal(x []float64, f int) ([]float64, error) {
	n := len(x)
	if f <= 1 || n < 2*f {
		return nil, fmt.Errorf("decompose: %d values, need two periods of %d: %w", n, f, ErrLength)
	}
	// Centred moving average: weights 1/f, with the two end weights halved
	// for even f (order f+1).
	w := make([]float64, f+1-f%2)
	for i := range w {
		w[i] = 1 / float64(f)
	}
	if f%2 == 0 {
		w[0], w[len(w)-1] = 0.5/float64(f), 0.5/float64(f)
	}
	half := len(w) / 2
	sum := make([]float64, f)
	cnt := make([]int, f)
	for t := half; t < n-half; t++ {
		var trend float64
		for j, wj := range w {
			trend += wj * x[t-half+j]
		}
		ratio := x[t] / trend
		if math.IsNaN(ratio) {
			continue
		}
		sum[t%f] += ratio
		cnt[t%f]++
	}
	figure := make([]float64, f)
	var mean float64
	for i := range figure {
		figure[i] = sum[i] / float64(cnt[i])
		mean += figure[i]
	}
	mean /= float64(f)
	out := make([]float64, n)
	for t := range out {
		out[t] = figure[t%f] / mean
	}
	return out, nil
}

// Naive2 returns the M4 Naive2 forecast of the h values after x for period
// ppy: when SeasonalityTest passes, x is seasonally adjusted with
// MultiplicativeSeasonal, its last adjusted value is carried forward and
// multiplied back by the seasonal indices of the matching phases; otherwise
// it is the plain naive forecast (the last value).
func Naive2(x []float64, h, ppy int) ([]float64, error) {
	if len(x) == 0 {
		return nil, fmt.Errorf("naive2: no values: %w", ErrLength)
	}
	out := make([]float64, h)
	last := x[len(x)-1]
	if !SeasonalityTest(x, ppy) {
		for i := range out {
			out[i] = last
		}
		return out, nil
	}
	si, err := MultiplicativeSeasonal(x, ppy)
	if err != nil {
		return nil, fmt.Errorf("naive2: %w", err)
	}
	n := len(x)
	level := last / si[n-1]
	for i := range out {
		// The indices of the last period, repeated: phase (n+i) mod ppy.
		out[i] = level * si[n-ppy+i%ppy]
	}
	return out, nil
}
