package engine

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/models"
)

// Wake makes the series with ref due for a fit at the next retrain pass
// (at most a second away), for example after a backfill gave it history: an
// unfitted series has its min_history checked again at once instead of at
// the next step, and a fitted one is refitted on the longer history.
func (e *Engine) Wake(ref uint64) {
	e.mu.RLock()
	st := e.states[ref]
	e.mu.RUnlock()
	if st == nil {
		// Not synced yet: a new state is checked on the next pass anyway.
		return
	}
	now := e.opts.Now().UnixMilli()
	st.mu.Lock()
	st.nextCheck = 0
	if st.fitted {
		st.nextFit = min(st.nextFit, now)
	}
	st.mu.Unlock()
}

// Forecasts calls f for every fitted model of every series until f returns
// false. keep, when not nil, is asked first with the labels of the input
// series, so that the output labels are built only for series that can
// match. Fitted models are safe for concurrent use. Their Predict answers
// a forecast whose value or band is not finite with a NaN point (no
// forecast), counted as Evaluate counts what it withholds.
func (e *Engine) Forecasts(keep func(input labels.Labels) bool, f func(output.Forecast) bool) {
	snap := e.snap.Load()
	e.mu.RLock()
	states := make([]*state, 0, len(e.states))
	for _, st := range e.states {
		states = append(states, st)
	}
	e.mu.RUnlock()

	b := labels.NewBuilder(labels.EmptyLabels())
	for _, st := range states {
		if keep != nil && !keep(st.ser.Labels()) {
			continue
		}
		st.mu.Lock()
		entry, fits, written, tr := st.entry, st.fits, st.lastForecastT, st.transform
		fitted := st.fitted
		st.mu.Unlock()
		if !fitted {
			continue
		}
		orig := st.ser.Labels()
		for i, fit := range fits {
			if fit == nil || i >= len(entry.Models) {
				continue
			}
			fc := output.Forecast{Fitted: finiteFit{fit, e, entry, i}, Step: entry.Step, Written: written}
			for v := range valueTypes {
				// Named as the write-back names them (output.preset too).
				fc.Labels[v] = snap.namer.forecastSeries(b, orig, entry.Models[i].Name(), v, tr)
			}
			if !f(fc) {
				return
			}
		}
	}
}

// finiteFit is a fit served to remote read: never a NaN or infinite value.
type finiteFit struct {
	models.Fitted
	e     *Engine
	entry *Entry
	i     int // the model's index in entry.Models
}

func (f finiteFit) Predict(t int64) models.Point {
	return f.e.finite(f.entry, f.i, f.Fitted.Predict(t))
}
