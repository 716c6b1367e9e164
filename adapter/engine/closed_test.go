package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestFitTrainsOnClosedCellsOnly: with aggregate sum and a sender still
// sending samples for the cell that just ended (within evaluation_delay),
// a fit made then does not train on that partial cell: its history ends
// where evaluation's does, and seasonal_naive's forecast for the same phase
// a period later is the full cell's sum, not half of it (which the full
// cell would then exceed: an anomaly out of nothing).
func TestFitTrainsOnClosedCellsOnly(t *testing.T) {
	f := newFixture(t, `
global: {step: 1m, window: 1d, retrain_interval: 15m, min_history: 2h, evaluation_delay: 30s}
forecasts:
  - name: sum
    match: ['{__name__="sine"}']
    aggregate: sum
    models: [seasonal_naive]
    seasonal_period: 1h
`)
	in := labels.FromStrings("__name__", "sine")
	minute := time.Minute.Milliseconds()
	b := t0 + 3*time.Hour.Milliseconds() // a grid boundary
	// Four samples a cell (every 15 s) up to b - 1m, then two of the four
	// of cell b - 1m: the sender lags, the rest comes within the delay.
	f.feed(in, t0, b-minute/2, sine)
	cellSum := func(c int64) float64 {
		var s float64
		for ts := c; ts < c+minute; ts += 15000 {
			s += sine(ts)
		}
		return s
	}

	// 5 s past the boundary: cell b - 1m is not closed for another 25 s.
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), at(b+5000)))
	st := f.eng.states[f.store.Get(in).Ref()]
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Equal(t, b-minute, st.trainEnd, "the history ends at the last closed cell")
	c := b - minute
	p := st.fits[0].Predict(c + time.Hour.Milliseconds())
	require.InDelta(t, cellSum(c), p.Yhat, 1e-6, "a period later: the full cell's sum (a partial one is %v)", cellSum(c)/2)
	require.True(t, p.Lower <= cellSum(c) && cellSum(c) <= p.Upper, "%+v", p)
}
