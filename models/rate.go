package models

import "math"

// Transform is how the values a series stores become the values its models
// fit, forecast and are scored on.
type Transform uint8

// The transforms: TransformNone models the stored values as they are,
// TransformRate models a counter's per-second rate (see Rate).
const (
	TransformNone Transform = iota
	TransformRate
)

// String returns the transform's name in the configuration ("none", "rate").
func (t Transform) String() string {
	if t == TransformRate {
		return "rate"
	}
	return "none"
}

// Rate returns the per-second rate of a counter between two consecutive
// grid cells stepSeconds apart, prev the older: (cur - prev) / stepSeconds,
// or, when the counter dropped (a reset: the process restarted and counts
// from zero again), cur / stepSeconds, as PromQL's rate counts a reset. It
// is NaN when either cell is missing (NaN or ±Inf). reset reports the drop:
// the rate of that cell misses what the counter counted before the reset
// within the cell, so it is only a lower bound.
func Rate(prev, cur, stepSeconds float64) (rate float64, reset bool) {
	if !IsObserved(prev) || !IsObserved(cur) {
		return math.NaN(), false
	}
	if cur < prev {
		return cur / stepSeconds, true
	}
	return (cur - prev) / stepSeconds, false
}

// Rates turns the cells of a counter, oldest first, into their per-second
// rates in place (see Rate); prev is the cell before vals[0] (NaN when
// unknown, which makes the first rate NaN). With resetGaps the cells at a
// reset become NaN instead of their lower bound: fits then see a gap where
// the counter restarted rather than a dip they would learn.
func Rates(vals []float64, prev, stepSeconds float64, resetGaps bool) {
	for k, cur := range vals {
		r, reset := Rate(prev, cur, stepSeconds)
		if reset && resetGaps {
			r = math.NaN()
		}
		vals[k] = r
		prev = cur
	}
}
