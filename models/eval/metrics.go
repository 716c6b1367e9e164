// Package eval holds the accuracy measures of the M4 competition (sMAPE,
// MASE, OWA), its Naive2 benchmark, and the coverage of prediction bands.
// The functions are pure: slices in, numbers out.
//
// The definitions follow the M4 organisers' R code ("Benchmarks and
// Evaluation.R" in github.com/M4Competition/M4-methods): sMAPE in percent,
// MASE scaled by the in-sample mean absolute error of the seasonal naive
// forecast, and OWA as the mean of a method's sMAPE and MASE, each divided
// by Naive2's, both averaged over all series first.
package eval

import (
	"errors"
	"fmt"
	"math"
)

// ErrLength reports slices whose lengths do not match or that are too short.
var ErrLength = errors.New("length mismatch")

// SMAPE returns the symmetric mean absolute percentage error of forecast
// against actual, in percent (0 to 200): the mean of
// 200·|a−f| / (|a|+|f|). A term with a == f == 0 counts as 0.
func SMAPE(actual, forecast []float64) (float64, error) {
	if err := sameLen(actual, forecast); err != nil {
		return math.NaN(), fmt.Errorf("smape: %w", err)
	}
	var sum float64
	for i, a := range actual {
		f := forecast[i]
		if d := math.Abs(a) + math.Abs(f); d != 0 {
			sum += 200 * math.Abs(a-f) / d
		}
	}
	return sum / float64(len(actual)), nil
}

// SeasonalNaiveScale returns the MASE denominator of an in-sample series:
// the mean of |y[t] − y[t−period]| over t >= period (period 1 is the plain
// naive error). It is NaN when the series is not longer than period.
func SeasonalNaiveScale(insample []float64, period int) float64 {
	period = max(period, 1)
	if len(insample) <= period {
		return math.NaN()
	}
	var sum float64
	for t := period; t < len(insample); t++ {
		sum += math.Abs(insample[t] - insample[t-period])
	}
	return sum / float64(len(insample)-period)
}

// MASE returns the mean absolute scaled error of forecast against actual:
// the mean absolute error divided by scale (SeasonalNaiveScale of the
// in-sample data). A zero scale gives +Inf (or NaN for a perfect forecast),
// as in the M4 code.
func MASE(actual, forecast []float64, scale float64) (float64, error) {
	if err := sameLen(actual, forecast); err != nil {
		return math.NaN(), fmt.Errorf("mase: %w", err)
	}
	var sum float64
	for i, a := range actual {
		sum += math.Abs(a - forecast[i])
	}
	return sum / float64(len(actual)) / scale, nil
}

// OWA returns the overall weighted average of a method relative to Naive2:
// (sMAPE/sMAPE_naive2 + MASE/MASE_naive2) / 2, where each argument is the
// mean over all series. Naive2 itself scores exactly 1.
func OWA(smape, mase, naive2SMAPE, naive2MASE float64) float64 {
	return (smape/naive2SMAPE + mase/naive2MASE) / 2
}

// Coverage returns the fraction of actual values inside [lower, upper]
// (bounds included). Points whose bounds are NaN count as outside.
func Coverage(actual, lower, upper []float64) (float64, error) {
	if err := sameLen(actual, lower); err != nil {
		return math.NaN(), fmt.Errorf("coverage: %w", err)
	}
	if err := sameLen(actual, upper); err != nil {
		return math.NaN(), fmt.Errorf("coverage: %w", err)
	}
	in := 0
	for i, a := range actual {
		if a >= lower[i] && a <= upper[i] {
			in++
		}
	}
	return float64(in) / float64(len(actual)), nil
}

func sameLen(a, b []float64) error {
	switch {
	case len(a) != len(b):
		return fmt.Errorf("%w: %d actual values, %d forecasts", ErrLength, len(a), len(b))
	case len(a) == 0:
		return fmt.Errorf("%w: no values", ErrLength)
	}
	return nil
}
