package models

import (
	"math"
	"slices"
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

// Median returns the median of v (the mean of the middle two when len(v)
// is even), sorting v in place; NaN when v is empty.
func Median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// SelectK returns the k-th smallest (from 0) of a, reordering a
// (quickselect with a median-of-three pivot; expected O(len(a))). With
// k = len(a)/2 it is the (upper) median without a sort.
func SelectK(a []float64, k int) float64 {
	k = min(max(k, 0), len(a)-1)
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
