package models

import (
	"fmt"
	"math"
)

// Direction selects the deviations from the forecast that can be anomalous.
type Direction int8

// Directions of an AnomalyRule.
const (
	Both Direction = iota // above and below the forecast
	Up                    // above only
	Down                  // below only
)

// Directions lists the names ParseDirection accepts, in Direction order.
func Directions() []string { return []string{"both", "up", "down"} }

// String returns the name of d.
func (d Direction) String() string {
	if d < 0 || int(d) >= len(Directions()) {
		return fmt.Sprintf("Direction(%d)", d)
	}
	return Directions()[d]
}

// ParseDirection returns the Direction called s ("both", "up" or "down").
func ParseDirection(s string) (Direction, error) {
	for i, name := range Directions() {
		if s == name {
			return Direction(i), nil
		}
	}
	return 0, fmt.Errorf("direction %q is not one of %v", s, Directions())
}

// Smoothing of the anomaly score: the score of a cell is the
// ScoreRank-th largest raw score of the last ScoreCells cells.
const (
	ScoreCells = 5
	ScoreRank  = 3
)

// AnomalyRule turns forecasts and actual values into a continuous anomaly
// score and a 0/1 flag.
//
// The raw score of one cell is AnomalyScore: its distance from the forecast
// in half-band widths (>= 1 is outside the band). A cell whose deviation
// |actual - yhat| is below MinDeviation, or lies in the direction the rule
// ignores, has a raw score of 0.
//
// The anomaly score of a cell is the 3rd largest raw score of the last 5
// cells, that cell included (cells with no score count as 0): the band
// distance that at least three of the last five cells reached. One outlier,
// however far out, or two, do not move it; three cells outside the band
// within five steps make it >= 1. It is 0 for a cell that is itself ignored
// (below MinDeviation or in the ignored direction), so such a cell is never
// anomalous. A cell is anomalous when its score is >= Threshold.
//
// With a well calibrated 95% band and independent errors, a raw score
// crosses 1 on 5% of the cells, the anomaly score on about 0.1%.
type AnomalyRule struct {
	Threshold    float64 // anomalous when score >= Threshold; 0 means 1
	MinDeviation float64 // |actual - yhat| below this is never anomalous
	Direction    Direction
}

// Score records the cell at grid index cell (time / step) in w and returns
// its anomaly score, or false when actual or p.Yhat is NaN (nothing is
// recorded then). Cells must be recorded in increasing order; a gap of
// skipped cells counts as cells scoring 0.
func (r AnomalyRule) Score(w *ScoreWindow, cell int64, actual float64, p Point) (float64, bool) {
	raw := AnomalyScore(actual, p)
	if math.IsNaN(raw) {
		return math.NaN(), false
	}
	if d := actual - p.Yhat; math.Abs(d) < r.MinDeviation ||
		(r.Direction == Up && d < 0) || (r.Direction == Down && d > 0) {
		w.add(cell, 0)
		return 0, true
	}
	w.add(cell, raw)
	return w.rank(), true
}

// Anomalous reports whether score is at or above the threshold.
func (r AnomalyRule) Anomalous(score float64) bool {
	t := r.Threshold
	if t == 0 {
		t = 1
	}
	return score >= t
}

// ScoreWindow holds the raw scores of the last ScoreCells cells of one
// series and model. The zero value is empty.
type ScoreWindow struct {
	raw  [ScoreCells]float64 // by cell index modulo ScoreCells
	last int64               // newest cell recorded
	used bool
}

// add records raw as the score of cell, zeroing the cells skipped since the
// newest one. A cell older than the window is ignored.
func (w *ScoreWindow) add(cell int64, raw float64) {
	switch gap := cell - w.last; {
	case !w.used || gap >= ScoreCells:
		w.raw = [ScoreCells]float64{}
		w.last = cell
	case gap > 1:
		for c := w.last + 1; c < cell; c++ {
			w.raw[mod(c, ScoreCells)] = 0
		}
		w.last = cell
	case gap == 1:
		w.last = cell
	case gap <= -ScoreCells:
		return
	}
	w.used = true
	w.raw[mod(cell, ScoreCells)] = raw
}

// rank returns the ScoreRank-th largest score in the window.
func (w *ScoreWindow) rank() float64 {
	s := w.raw
	// Insertion sort, descending: five elements.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] > s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[ScoreRank-1]
}

func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}
