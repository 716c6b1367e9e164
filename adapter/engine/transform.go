package engine

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// The ring buffers keep every series' raw values; what the models see is
// the series under its transform (models.Transform), applied where the
// engine reads cells: the history of a fit, the actual value scored, the
// status page's chart. A counter is modelled as its per-second rate
// (models.Rate); a counter reset counts from zero, as PromQL's rate does,
// except that the engine treats the cell of a reset as missing: its rate
// misses what was counted before the restart within the cell, so it is
// never scored (a restart is not an anomaly) and fits see a gap (no dip
// learnt and echoed a period later).

// stepSeconds returns a grid step of step ms in seconds.
func stepSeconds(step int64) float64 { return float64(step) / 1000 }

// transformedValues returns the cells of st's series before end under tr,
// oldest first, with the grid time of the first one (as ring.Series.Values,
// whose dst it passes on). With resetGaps the cells at counter resets are
// NaN (fits), else their rate counted from zero (charts).
func (st *state) transformedValues(end int64, tr models.Transform, step int64, resetGaps bool, dst []float64) (int64, []float64) {
	start, vals := st.ser.Values(end, dst)
	if tr == models.TransformRate && len(vals) > 0 {
		models.Rates(vals, st.ser.At(start-step), stepSeconds(step), resetGaps)
	}
	return start, vals
}

// actual returns the value of the cell at grid time t as st's fits see it:
// under st.transform, and NaN at a counter reset. st.mu is held.
func (st *state) actual(t int64) float64 {
	cur := st.ser.At(t)
	if st.transform != models.TransformRate {
		return cur
	}
	step := st.entry.Step
	r, reset := models.Rate(st.ser.At(t-step), cur, stepSeconds(step))
	if reset {
		return math.NaN()
	}
	return r
}

// idleRateFloors are the noise and band floors of a series modelled as a
// rate whose history never moved (an idle counter, all rates 0), where
// anomaly.Floors finds none: a counter counts events, so its smallest
// move is one event per step. Without them the first increment would be
// infinitely improbable.
func idleRateFloors(step int64) (noise, band float64) {
	perStep := 1 / stepSeconds(step)
	return perStep / 2, perStep
}
