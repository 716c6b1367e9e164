// Package models holds the types shared by the forecast models: the regular
// time series they train on, the forecast point they produce, the options
// common to all of them, and the helpers they share (anomaly score, period
// detection, gap filling, normal quantiles).
package models

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultIntervalWidth is the prediction band width used when
// Options.IntervalWidth is zero.
const DefaultIntervalWidth = 0.95

// ErrInsufficientData reports that a series has too few non-NaN points to fit.
var ErrInsufficientData = errors.New("insufficient data")

// ErrInvalidSeries reports a series that is not a regular grid (Step <= 0).
var ErrInvalidSeries = errors.New("invalid series")

// ErrInvalidOptions reports options outside their documented ranges.
var ErrInvalidOptions = errors.New("invalid options")

// Series is a regular time series on a grid. Values[i] is at grid time
// Start + i*Step (ms). NaN marks a gap; the models also treat ±Inf as a gap
// (see IsObserved).
type Series struct {
	Start  int64
	Step   int64
	Values []float64
	// Period is the seasonal period in steps when the caller already knows
	// it, so that several models fitted to the same data detect it once:
	// > 0 is a period, < 0 means none was found, 0 means unknown (each model
	// detects it). Options.Period, when set, takes precedence.
	Period int
}

// SeasonalPeriod returns the period a model with opts uses for s: the
// configured one, else the one s carries, else DetectPeriod over values
// (the cells the model trains on) with opts.MaxPeriod. 0 means none.
func (s Series) SeasonalPeriod(opts Options, values []float64) int {
	switch {
	case opts.Period > 0:
		return opts.Period
	case s.Period > 0:
		return s.Period
	case s.Period < 0:
		return 0
	}
	return DetectPeriod(values, opts.MaxPeriod)
}

// End returns Start + len(Values)*Step: the first grid time after the data.
func (s Series) End() int64 {
	return s.Start + int64(len(s.Values))*s.Step
}

// Time returns the grid time of cell i.
func (s Series) Time(i int) int64 {
	return s.Start + int64(i)*s.Step
}

// Index returns the (fractional) grid index of time t: (t-Start)/Step.
func (s Series) Index(t int64) float64 {
	return float64(t-s.Start) / float64(s.Step)
}

// Observed returns the number of cells holding an observed value.
func (s Series) Observed() int {
	n := 0
	for _, v := range s.Values {
		if IsObserved(v) {
			n++
		}
	}
	return n
}

// Validate returns an error wrapping ErrInvalidSeries when Step is not positive.
func (s Series) Validate() error {
	if s.Step <= 0 {
		return fmt.Errorf("validate series: step %d ms is not positive: %w", s.Step, ErrInvalidSeries)
	}
	return nil
}

// IsObserved reports whether v is an observed value rather than a gap: NaN
// and ±Inf are gaps.
func IsObserved(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// Point is one forecast: the expected value and its prediction band.
type Point struct {
	Yhat, Lower, Upper float64
}

// NaNPoint returns the Point used when a model has no forecast for a time.
func NaNPoint() Point {
	return Point{Yhat: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
}

// Options are common to all models.
type Options struct {
	IntervalWidth float64 // width of the prediction band, in (0,1), e.g. 0.95; 0 means DefaultIntervalWidth
	Period        int     // seasonal period in steps; 0 = detect from the data
	MaxPeriod     int     // upper bound for detection in steps; 0 = len/2
}

// Width returns IntervalWidth, or DefaultIntervalWidth when it is zero.
func (o Options) Width() float64 {
	if o.IntervalWidth == 0 {
		return DefaultIntervalWidth
	}
	return o.IntervalWidth
}

// Validate returns an error wrapping ErrInvalidOptions when IntervalWidth is
// outside (0,1) (zero is allowed and means the default) or when Period or
// MaxPeriod is negative.
func (o Options) Validate() error {
	w := o.Width()
	switch {
	case math.IsNaN(w) || w <= 0 || w >= 1:
		return fmt.Errorf("validate options: interval width %v not in (0,1): %w", o.IntervalWidth, ErrInvalidOptions)
	case o.Period < 0:
		return fmt.Errorf("validate options: negative period %d: %w", o.Period, ErrInvalidOptions)
	case o.MaxPeriod < 0:
		return fmt.Errorf("validate options: negative max period %d: %w", o.MaxPeriod, ErrInvalidOptions)
	}
	return nil
}

// Model fits a Series. Implementations must be safe for concurrent use by
// many goroutines (Fit has no shared mutable state).
type Model interface {
	Name() string
	// Fit trains on s; prev is this model's previous fit for the same series
	// or nil (for warm starts; may be ignored).
	Fit(s Series, prev Fitted) (Fitted, error)
}

// Fitted is a trained model. Safe for concurrent Predict calls.
type Fitted interface {
	// Predict returns the forecast for grid time t (ms). t is usually >= the
	// End of the training series; must also work for t inside it.
	Predict(t int64) Point
}

// Restorer is implemented by models whose fits can be saved in a snapshot
// and restored after a restart, so that a restarted process forecasts at once
// and warm-starts its next fit. A Fitted of such a model implements
// encoding.BinaryMarshaler; Restore decodes what MarshalBinary wrote. The
// encoding starts with a format version byte, and Restore refuses versions it
// does not know (wrapping ErrUnknownFormat) rather than misread them.
//
// history is the series as the restoring process holds it: on the fit's
// grid, ending where the fit's training data ended; cells at its start may
// be missing (the ring moved on) and gaps may have been filled since the
// fit. A model may leave out of its state what it can rebuild from history,
// and must then check that what it rebuilt is what the fit had and refuse
// the state otherwise (the caller refits), so that a restored fit always
// predicts exactly what the saved one did. Restore must not keep
// history.Values.
type Restorer interface {
	Restore(data []byte, history Series) (Fitted, error)
}

// ErrUnknownFormat reports saved model state in a format this build cannot
// read.
var ErrUnknownFormat = errors.New("unknown model state format")

// ErrHistoryMismatch reports saved model state that relies on the series'
// history and does not match the history given to Restore (cells filled
// or dropped since the fit): the series refits.
var ErrHistoryMismatch = errors.New("saved model state does not match the series history")

// AnomalyScore returns how far actual lies from the forecast, measured in
// half-band widths on the side of the deviation: 0 at Yhat, exactly 1 at the
// band edge, (actual-Yhat)/(Upper-Yhat) above Yhat and
// (Yhat-actual)/(Yhat-Lower) below. A zero-width (or inverted) half band gives
// 0 when actual == Yhat and +Inf otherwise. A NaN actual, Yhat or half band
// gives NaN: a band that is not known scores nothing.
func AnomalyScore(actual float64, p Point) float64 {
	d := actual - p.Yhat
	switch {
	case math.IsNaN(d):
		return math.NaN()
	case d == 0:
		return 0
	}
	half := p.Upper - p.Yhat
	if d < 0 {
		d, half = -d, p.Yhat-p.Lower
	}
	switch {
	case math.IsNaN(half):
		return math.NaN() // no band: no score, never +Inf
	case !(half > 0):
		return math.Inf(1)
	}
	return d / half
}

// ZScore returns the two-sided standard normal quantile for interval width w
// (0.95 → 1.95996...), using gonum distuv. ZScore(0) is 0, ZScore(1) is +Inf,
// and w outside [0,1] or NaN gives NaN.
func ZScore(w float64) float64 {
	switch {
	case math.IsNaN(w) || w < 0 || w > 1:
		return math.NaN()
	case w == 1:
		return math.Inf(1)
	}
	return distuv.UnitNormal.Quantile(0.5 + w/2)
}
