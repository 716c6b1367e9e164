package models

import "math"

// Weekly seasonality over a daily period.
const (
	day             = 24 * 60 * 60 * 1000 // ms
	week            = 7                   // days
	weeklyGain      = 0.1                 // how much smaller the weekly differences must be
	weeklyHistory   = 3                   // weeks of data needed
	weeklyEvaluated = 2                   // weeks the differences are compared over
)

// WeeklyIfBetter returns 7·period when period is one day of step-ms cells,
// values hold weeklyHistory weeks, and over the last weeklyEvaluated weeks
// the root mean square of the differences a week apart is weeklyGain below
// that of the differences a day apart; else period.
func WeeklyIfBetter(values []float64, period int, step int64) int {
	n := len(values)
	weekly := week * period
	if int64(period)*step != day || n < weeklyHistory*weekly {
		return period
	}
	var daily, wk, nd, nw float64
	for i := n - weeklyEvaluated*weekly; i < n; i++ {
		y := values[i]
		if !IsObserved(y) {
			continue
		}
		if v := values[i-period]; IsObserved(v) {
			daily += (y - v) * (y - v)
			nd++
		}
		if v := values[i-weekly]; IsObserved(v) {
			wk += (y - v) * (y - v)
			nw++
		}
	}
	if nd > 0 && nw > 0 && math.Sqrt(wk/nw) < (1-weeklyGain)*math.Sqrt(daily/nd) {
		return weekly
	}
	return period
}
