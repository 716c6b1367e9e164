package models

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite reports a fit whose forecast or band is NaN or infinite
// where it should have one: values near the limits of float64 (1e300,
// 1e308) overflow a model's sums and squares. A model returns it rather
// than such a fit, so that the caller keeps a previous fit or uses
// another model.
var ErrNonFinite = errors.New("forecast or band not finite")

// checkedCells is how many cells after the training data CheckFinite
// predicts: spread evenly over the first max(2·period, 48) cells.
const checkedCells = 64

// IsFinite reports whether v is neither NaN nor infinite.
func IsFinite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// Finite reports whether the forecast and both bounds of p are finite.
func (p Point) Finite() bool {
	return IsFinite(p.Yhat) && IsFinite(p.Lower) && IsFinite(p.Upper)
}

// CheckFinite returns an error wrapping ErrNonFinite when f, fitted on s
// with seasonal period period (0 or less: none), forecasts a NaN or
// infinite value or band for a cell after s, or a band that does not
// contain its forecast. It predicts at most 64 cells, spread evenly over
// the first two periods (at least 48 cells): a check that a fit's
// arithmetic did not overflow, cheap next to the fit, not a bound for
// every horizon (the engine checks what it writes as well).
func CheckFinite(f Fitted, s Series, period int) error {
	span := max(2*period, 48)
	stride := max(1, span/checkedCells)
	for h := 0; h < span; h += stride {
		t := s.End() + int64(h)*s.Step
		if p := f.Predict(t); !p.Finite() || !(p.Lower <= p.Yhat && p.Yhat <= p.Upper) {
			return fmt.Errorf("check forecast %d steps ahead: %+v: %w", h+1, p, ErrNonFinite)
		}
	}
	return nil
}
