package models

import "math"

// Period detection thresholds.
const (
	// minPeakACF is the autocorrelation a peak needs to count as seasonality.
	minPeakACF = 0.3
	// minProminence is how far the ACF must have dipped below a peak at some
	// shorter lag; it rejects ripples on a slowly decaying ACF.
	minProminence = 0.1
	// peakNeighbourhood sets the lags a peak at k must dominate:
	// k/peakNeighbourhood either side, so noise ripples on the flank of a
	// broad peak do not count.
	peakNeighbourhood = 12
	// multipleWindow sets how far from m·p the ACF of the m-th multiple of
	// a peak p is looked for: m·p/multipleWindow lags, at least 1.
	multipleWindow = 32
	// multipleTolerance and multipleRelTolerance bound how far best/m may
	// be from a peak p, in lags and relative to p, for best to count as the
	// m-th multiple of p.
	multipleTolerance    = 1.5
	multipleRelTolerance = 1.0 / 8
	// multipleSlack is how much stronger a multiple of a shorter period must
	// be than the shorter period's other multiples to be reported instead.
	multipleSlack = 0.1
	// flatRatio is the residual-to-raw energy ratio below which a detrended
	// series counts as flat (constant or a pure line).
	flatRatio = 1e-12
	// minRefinePeriod is the shortest period refinePeriod adjusts; shorter
	// ACF peaks are sharp.
	minRefinePeriod = 6
	// refineWindowDivisor sets how far refinePeriod searches around the ACF
	// peak: the peak lag divided by this, and at least 3 lags.
	refineWindowDivisor = 32
	// refineHarmonics is how many harmonics of a candidate period make up
	// the seasonal profile refinePeriod fits.
	refineHarmonics = 8
	// significantPower is the explained sum of squares, in units of the
	// noise variance, above which refinePeriod counts a harmonic (about the
	// 95% point of χ² with 2 degrees of freedom).
	significantPower = 6
)

// DetectPeriod returns the seasonal period (in steps) with the strongest
// autocorrelation peak among lags 2..maxLag, or 0 when there is no
// significant seasonality (peak ACF < 0.3 or fewer than 2 full periods of
// data). NaN cells (and ±Inf) are skipped pairwise.
//
// The series is trimmed to its observed span and detrended by a least
// squares line, so a trend does not mask the seasonality; maxLag <= 0 means
// half the span, and larger values are capped there. The ACF at lag k is the
// Pearson correlation of the observed pairs k apart. A peak is a local
// maximum that dominates the lags within k/12 of it and that the ACF dipped
// at least 0.1 below at some shorter lag. A peak's strength is the mean ACF
// at its multiples up to maxLag, and the strongest peak of at least 0.3
// wins, except that a shorter peak (of at least 0.2) whose multiple it is
// wins instead unless the strongest peak stands out from the shorter
// period's other multiples by more than 0.1 (and three standard errors): a
// series with period p also repeats at 2p, 3p, ..., while a weekly pattern
// over a daily one shows as the weekly multiples of 24 being stronger than
// the other multiples of 24.
//
// When that finds nothing, the same search runs on the residual from a
// local trend (a spline through the means of quarters of the data,
// blockTrend), so that a trend change or a wandering level does not hide a
// season of up to a quarter of the span.
//
// A trend that is not a line also shifts the ACF peak, so once a peak p
// is found the series is detrended by a spline through the means of
// blocks of whole periods of p, and the peak is looked for again within
// p/8 of p in that residual's ACF. A broad ACF peak lets noise move its
// maximum by several lags, so the lag p is then refined: among the integer
// periods within max(3, p/32) of it, DetectPeriod returns the one whose least squares sinusoids at its
// fundamental and significant harmonics explain the most variance of the
// series so detrended (for a sinusoid in white noise, the maximum
// likelihood period). The search steps over candidates no closer than the
// width of the explained variance's peak allows, then lag by lag around the
// best. DetectPeriod works in steps, whatever the step's duration.
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
	p := pickPeak(acf, n)
	if p == 0 {
		// A trend that is not a straight line (a level shift, a change of
		// slope, a wandering level) can bury the season under its own
		// slowly decaying autocorrelation. Look again at the residual from
		// a local trend over quarters of the data, which keeps periods up
		// to about a quarter of the span.
		p = detectDetrended(values, min(maxLag, n/4))
		if p == 0 {
			return 0
		}
	}
	return refinePeriod(values, p, maxLag)
}

// detectDetrended returns the ACF peak (before refinement) of values minus
// their blockTrend over blocks of n/4 cells, among lags up to maxLag, or 0.
func detectDetrended(values []float64, maxLag int) int {
	n := len(values)
	if maxLag < 2 {
		return 0
	}
	trend, ok := blockTrend(values, n/4)
	if !ok {
		return 0
	}
	resid := make([]float64, n)
	for i, v := range values {
		resid[i] = v - trend[i] // gaps stay gaps
	}
	return pickPeak(autocorrelation(resid, 0, maxLag), n)
}

// pickPeak returns the lag of the peak of acf (lags 0..maxLag+1 of a series
// of n cells) that DetectPeriod reports, before refinement, or 0.
func pickPeak(acf []float64, n int) int {
	maxLag := len(acf) - 2
	var peaks []int
	runMin := math.Inf(1)
	for k := 2; k <= maxLag; k++ {
		if r := acf[k-1]; !math.IsNaN(r) {
			runMin = min(runMin, r)
		}
		r := acf[k]
		// Peaks a little under minPeakACF may still be the period that a
		// qualifying peak is a multiple of.
		if math.IsNaN(r) || !(r > acf[k-1]) || !(r >= acf[k+1]) ||
			r < minPeakACF-multipleSlack || runMin > r-minProminence || !dominates(acf, k) {
			continue
		}
		peaks = append(peaks, k)
	}
	best, bestStrength := 0, math.Inf(-1)
	for _, p := range peaks {
		if acf[p] < minPeakACF {
			continue
		}
		if s := strength(acf, p, 0); s > bestStrength {
			best, bestStrength = p, s
		}
	}
	if best == 0 {
		return 0
	}
	// Pairs behind best's strength, for its standard error.
	var pairs float64
	for m := 1; m*best <= maxLag; m++ {
		pairs += float64(n - m*best)
	}
	stdErr := (1 - bestStrength*bestStrength) / math.Sqrt(pairs)
	for _, p := range peaks {
		if p >= best {
			break
		}
		m := math.Round(float64(best) / float64(p))
		tol := max(multipleTolerance, float64(p)*multipleRelTolerance)
		if m < 2 || math.Abs(float64(best)/m-float64(p)) > tol {
			continue
		}
		if bestStrength-strength(acf, p, int(m)) <= max(multipleSlack, 3*stdErr) {
			return p
		}
	}
	return best
}

// strength returns the mean ACF at the multiples j·p of lag p up to the
// last lag, skipping the multiples of every (when every > 0). The ACF at j·p
// is the maximum within max(1, j·p/multipleWindow) lags, as p is only known
// to a lag or so.
func strength(acf []float64, p, every int) float64 {
	maxLag := len(acf) - 2
	var sum, count float64
	for j := 1; j*p <= maxLag; j++ {
		if every > 0 && j%every == 0 {
			continue
		}
		c := j * p
		h := max(1, c/multipleWindow)
		peak := math.Inf(-1)
		for k := max(1, c-h); k <= min(maxLag, c+h); k++ {
			if !math.IsNaN(acf[k]) {
				peak = max(peak, acf[k])
			}
		}
		if !math.IsInf(peak, -1) {
			sum += peak
			count++
		}
	}
	if count == 0 {
		return math.Inf(-1)
	}
	return sum / count
}

// dominates reports whether acf[k] is the highest value (the first, on a
// tie) within max(1, k/peakNeighbourhood) lags of k.
func dominates(acf []float64, k int) bool {
	h := max(1, k/peakNeighbourhood)
	for j := max(1, k-h); j <= min(len(acf)-1, k+h); j++ {
		if acf[j] > acf[k] || (acf[j] == acf[k] && j < k) {
			return false
		}
	}
	return true
}

// refinePeriod returns the integer period q within
// p±max(3, p/refineWindowDivisor) (p first re-centred on the ACF peak of
// the locally detrended series, within p/8) whose least squares sinusoids
// at frequencies h/q, each fitted to the series detrended by blockTrend
// over whole periods of p (or SeasonalTrend at p), explain the most
// variance. For a sinusoid in white noise
// that is the maximum likelihood period. The harmonics h = 2..8 carry the
// shape of non-sinusoidal seasons; only those significant at q = p count,
// as each one fitted to noise adds noise to the comparison.
func refinePeriod(values []float64, p, maxLag int) int {
	if p < minRefinePeriod {
		return p
	}
	// The trend: a spline through the means of blocks of whole periods
	// (about four blocks), which follows level shifts and trend changes;
	// with too few periods, the line SeasonalTrend fits. A trend that is
	// not a line also pulls the ACF peak off the period, so with the local
	// trend the peak is looked for again in the ACF of the residual, when
	// the local trend departs from a line by more than bentTrend of the
	// residual's standard deviation.
	trend, ok := blockTrend(values, p*max(1, len(values)/(4*p)))
	if ok && bent(values, trend) {
		resid := make([]float64, len(values))
		for i, v := range values {
			resid[i] = v - trend[i]
		}
		h := max(1, p/8)
		if acf := autocorrelation(resid, 0, min(maxLag, p+h)); acf != nil {
			best := p
			for k := max(2, p-h); k < len(acf)-1 && k <= p+h; k++ {
				if acf[k] > acf[best] {
					best = k
				}
			}
			p = best
		}
	}
	if !ok {
		a, b, ok := SeasonalTrend(values, p)
		if !ok {
			a, b, _ = LinearTrend(values)
		}
		trend = make([]float64, len(values))
		for i := range trend {
			trend[i] = a + b*float64(i)
		}
	}
	// resid is the residual with gaps as 0, mask 1 at observed cells: the
	// fold then needs no test per cell.
	resid := make([]float64, 2*len(values))
	resid, mask := resid[:len(values)], resid[len(values):]
	var total, observed float64
	for i, v := range values {
		if IsObserved(v) {
			r := v - trend[i]
			resid[i], mask[i] = r, 1
			total += r * r
			observed++
		}
	}

	if observed == float64(len(values)) {
		mask = nil // powers counts the cells per phase itself
	}
	w := max(3, p/refineWindowDivisor)
	scratch := newFoldScratch(p + w)
	powers := make([]float64, refineHarmonics)
	use := make([]bool, refineHarmonics)
	for h := range use {
		use[h] = true
	}
	scratch.powers(resid, mask, p, use, powers)
	var fitted float64
	for _, e := range powers {
		fitted += e
	}
	noise := (total - fitted) / max(1, observed-2*refineHarmonics-1)
	for h := 1; h < refineHarmonics; h++ {
		use[h] = powers[h] > significantPower*noise
	}

	// The explained variance is a smooth peak in q: harmonic h of a fold
	// over C = n/p cycles stays coherent within about p/(2hC) of the true
	// period, so a search every `stride` lags (a quarter of that for the
	// highest harmonic) cannot step over it; the best coarse candidate is
	// then refined lag by lag. For short periods stride is 1.
	lo, hi := max(2, p-w), min(p+w, len(values)/2)
	stride := max(1, p*p/(8*refineHarmonics*len(values)))
	ss := func(q int) float64 {
		scratch.powers(resid, mask, q, use, powers)
		var sum float64
		for _, e := range powers {
			sum += e
		}
		return sum
	}
	best, bestSS := p, -1.0
	for q := lo; q <= hi; q += stride {
		if v := ss(q); v > bestSS {
			best, bestSS = q, v
		}
	}
	if stride > 1 {
		coarse := best
		for q := max(lo, coarse-stride+1); q <= min(hi, coarse+stride-1); q++ {
			if q == coarse {
				continue
			}
			if v := ss(q); v > bestSS {
				best, bestSS = q, v
			}
		}
	}
	return best
}

// foldScratch holds refinePeriod's per-phase buffers, reused across
// candidate periods.
type foldScratch struct {
	sum, count, cos, sin []float64
}

func newFoldScratch(n int) *foldScratch {
	return &foldScratch{
		sum: make([]float64, n), count: make([]float64, n),
		cos: make([]float64, n), sin: make([]float64, n),
	}
}

// powers sets powers[h-1], for each harmonic h with use[h-1], to the sum of
// squares explained by the least squares sinusoid
// a·cos(2πhi/q) + b·sin(2πhi/q) fitted to the observed cells of resid
// (mask 1, or every cell when mask is nil; resid 0 elsewhere), and the others (and those above the Nyquist
// limit) to 0. The regressors repeat every q cells, so resid is first
// folded onto q phases and each fit costs O(q).
func (f *foldScratch) powers(resid, mask []float64, q int, use []bool, powers []float64) {
	sum, count, cos, sin := f.sum[:q], f.count[:q], f.cos[:q], f.sin[:q]
	clear(sum)
	clear(count)
	clear(powers)
	for i := 0; i < len(resid); i += q {
		r := resid[i:min(i+q, len(resid))]
		s := sum[:len(r)]
		for j := range r {
			s[j] += r[j]
		}
	}
	if mask == nil { // no gaps: phase ph has n/q cells, one more below n%q
		full, rest := float64(len(resid)/q), len(resid)%q
		for ph := range count {
			count[ph] = full
			if ph < rest {
				count[ph]++
			}
		}
	} else {
		for i := 0; i < len(mask); i += q {
			m := mask[i:min(i+q, len(mask))]
			c := count[:len(m)]
			for j := range m {
				c[j] += m[j]
			}
		}
	}
	unitCircle(cos, sin)
	for h := 1; h <= min(len(powers), (q-1)/2); h++ {
		if !use[h-1] {
			continue
		}
		var scc, sss, scs, syc, sys float64
		k := 0 // h·ph mod q
		for ph := range q {
			c, s, n := cos[k], sin[k], count[ph]
			scc += n * c * c
			sss += n * s * s
			scs += n * c * s
			syc += sum[ph] * c
			sys += sum[ph] * s
			if k += h; k >= q {
				k -= q
			}
		}
		if det := scc*sss - scs*scs; det > 0 {
			a := (syc*sss - sys*scs) / det
			b := (sys*scc - syc*scs) / det
			powers[h-1] = a*syc + b*sys
		}
	}
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

// unitCircle sets cos[k], sin[k] to cos and sin of 2πk/q for q = len(cos),
// by rotation, re-anchored with math.Sincos every unitCircleAnchor steps
// so that rounding does not accumulate (errors stay near 1e-15).
func unitCircle(cos, sin []float64) {
	q := len(cos)
	ds, dc := math.Sincos(2 * math.Pi / float64(q))
	var c, s float64
	for k := range q {
		if k%unitCircleAnchor == 0 {
			s, c = math.Sincos(2 * math.Pi * float64(k) / float64(q))
		} else {
			c, s = c*dc-s*ds, s*dc+c*ds
		}
		cos[k], sin[k] = c, s
	}
}

// unitCircleAnchor is how many rotation steps unitCircle takes between
// exact values.
const unitCircleAnchor = 32

// bentTrend is how far, relative to the residual's standard deviation, a
// local trend must depart from the least squares line to count as bent.
const bentTrend = 0.25

// bent reports whether trend departs from the least squares line through
// values by more than bentTrend of the residual values − trend (root mean
// squares over the observed cells).
func bent(values, trend []float64) bool {
	a, b, ok := LinearTrend(values)
	if !ok {
		return false
	}
	var dev, res float64
	for i, v := range values {
		if IsObserved(v) {
			d := trend[i] - (a + b*float64(i))
			r := v - trend[i]
			dev += d * d
			res += r * r
		}
	}
	return dev > bentTrend*bentTrend*res
}
