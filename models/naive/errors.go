package naive

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// stats are the in-sample errors of the seasonal naive forecasts over the
// recent cells [from, n): sse[k-1] over ne[k-1] cells for the mean of the
// last k periods, whose absolute errors are abs[k-1], and ssd[h-1] over
// nd[h-1] cells for the seasonal difference at lag h periods.
type stats struct {
	from, kmax int
	sse, ssd   [MaxPeriods]float64
	ne, nd     [MaxPeriods]float64
	abs        [MaxPeriods][]float64
	// spread is the standard deviation of the seasonal differences over
	// all the values: how much the series moved in its window.
	spread float64
}

// errorStats computes stats over the last max(period, minErrorCells)
// cells that have kmax = min(MaxPeriods, n/period − 1) periods (at least
// one) before them.
func errorStats(values []float64, period int) stats {
	n := len(values)
	st := stats{kmax: min(MaxPeriods, max(1, n/period-1))}
	st.from = max(st.kmax*period, n-max(period, minErrorCells))
	m := max(0, n-st.from)
	buf := make([]float64, 0, st.kmax*m)
	for k := range st.kmax {
		st.abs[k] = buf[k*m : k*m : (k+1)*m]
	}
	st.spread = differenceSpread(values, period)
	for i := st.from; i < n; i++ {
		y := values[i]
		if !observed(y) {
			continue
		}
		var sum, cnt float64
		for j := 1; j <= st.kmax; j++ {
			if v := values[i-j*period]; observed(v) {
				sum += v
				cnt++
				st.ssd[j-1] += (y - v) * (y - v)
				st.nd[j-1]++
			}
			if cnt > 0 {
				e := y - sum/cnt
				st.sse[j-1] += e * e
				st.ne[j-1]++
				st.abs[j-1] = append(st.abs[j-1], math.Abs(e))
			}
		}
	}
	return st
}

// bestK returns how many periods to average: the k with the least in-sample
// root mean square error, a larger k having to improve on the best so far
// by kGain.
func (st *stats) bestK() int {
	best, bestRMS := 1, rms(st.sse[0], st.ne[0])
	for k := 2; k <= st.kmax; k++ {
		if r := rms(st.sse[k-1], st.ne[k-1]); r < bestRMS*(1-kGain) {
			best, bestRMS = k, r
		}
	}
	return best
}

// halfWidths returns the band half widths 1..kmax periods ahead for the
// mean of k periods: the width-quantile of its absolute in-sample errors
// (at least relFloor of the data's mean absolute value), times the growth
// of the seasonal differences' RMS from lag 1 to lag h (never shrinking
// with h).
func (st *stats) halfWidths(values []float64, k int, width float64) []float64 {
	var q float64
	if errs := st.abs[k-1]; len(errs) > 0 {
		q = models.SelectK(errs, int(math.Ceil(width*float64(len(errs))))-1)
		// A season that repeats up to rounding has errors of rounding
		// size, which new rounding errors would exceed as often as any
		// quantile is exceeded: anomalies out of nothing.
		var scale, cnt float64
		for _, v := range values[st.from:] {
			if observed(v) {
				scale += math.Abs(v)
				cnt++
			}
		}
		q = max(q, relFloor*scale/cnt)
		// A series that moved in its window but not over the recent
		// cells (a count that stepped, then held) has a zero quantile:
		// every change of it, however small, would be an anomaly of
		// infinite score. Half the spread of the seasonal differences
		// over the window keeps a band where it moved; for noise of a
		// stable spread it is a quarter to a third of the quantile.
		q = max(q, spreadShare*st.spread)
	}
	out := make([]float64, st.kmax)
	base := rms(st.ssd[0], st.nd[0])
	growth := 1.0
	for h := range out {
		if r := rms(st.ssd[h], st.nd[h]); base > 0 && r > 0 {
			growth = max(growth, r/base)
		}
		out[h] = q * growth
	}
	return out
}

// meanBack returns the mean of the observed cells among j, j−period, …,
// j−(k−1)·period (those >= 0), or NaN when none is observed.
func meanBack(values []float64, j, period, k int) float64 {
	var sum, cnt float64
	for t := 0; t < k && j >= 0; t, j = t+1, j-period {
		if v := values[j]; observed(v) {
			sum += v
			cnt++
		}
	}
	if cnt == 0 {
		return math.NaN()
	}
	return sum / cnt
}

// spreadShare is the share of the spread of the seasonal differences over
// the whole window that the band's half width is at least.
const spreadShare = 0.5

// differenceSpread returns the standard deviation of the differences of
// observed cells lag apart, 0 with fewer than two.
func differenceSpread(values []float64, lag int) float64 {
	// Shifted by the first difference, for precision.
	var shift, sum, sq, n float64
	for i := lag; i < len(values); i++ {
		if y, v := values[i], values[i-lag]; observed(y) && observed(v) {
			d := y - v
			if n == 0 {
				shift = d
			}
			d -= shift
			sum += d
			sq += d * d
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return math.Sqrt(max(0, (sq-sum*sum/n)/(n-1)))
}

// observed is models.IsObserved in one subtraction: v−v is 0 for a finite
// v and NaN for NaN and ±Inf.
func observed(v float64) bool { return v-v == 0 }

// relFloor is the least band half width relative to the mean absolute
// value of the data: rounding, not a forecast error, below it.
const relFloor = 1e-9

func rms(ss, n float64) float64 {
	if n == 0 {
		return math.Inf(1)
	}
	return math.Sqrt(ss / n)
}
