package engine

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// goldenFit is a fit whose saved state is fixed bytes.
type goldenFit []byte

func (goldenFit) Predict(int64) models.Point       { return models.NaNPoint() }
func (f goldenFit) MarshalBinary() ([]byte, error) { return f, nil }

// TestStateGolden: a fixed engine state (testConfig's sine, with fixed
// fits, pending forecast, detectors, level corrections and masked cells)
// encodes to the bytes committed in testdata/state-v3.bin (written by the
// encoder of state version 3 as first released), and those bytes decode to
// the same state.
func TestStateGolden(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine")
	entry := f.eng.snap.Load().route(in)
	require.NotNil(t, entry)
	ser, _, err := f.store.GetOrCreate(in, entry.Ring)
	require.NoError(t, err)
	st := newState(ser, entry)
	st.fits = []models.Fitted{goldenFit{3, 1, 4, 1, 5}, goldenFit{}}
	st.fitted, st.stale, st.transform = true, true, models.TransformRate
	st.trainEnd, st.pendingT, st.lastForecastT, st.lastScoreT = t0, t0+60_000, t0, t0-60_000
	st.nextFit = t0 + 900_000
	st.pending = []models.Point{{Yhat: 1.5, Lower: 1, Upper: 2}, {Yhat: -0.25, Lower: math.Inf(-1), Upper: 0}}
	st.noiseFloor, st.bandFloor, st.period = 0.125, 0.5, 60
	st.adjust = []levelAdjust{{from: t0 - 3_600_000, delta: 12.5}, {from: t0 - 60_000, delta: -3}}
	st.masked = []int64{t0 - 600_000, t0 - 540_000, t0 - 120_000}
	st.det = []detection{
		{shiftFrom: math.MinInt64},
		{shiftFrom: t0 - 300_000, offset: 4.25, sigma: 0.75, applied: true, resid: []float64{0.5, -0.25, 1}},
	}
	f.eng.mu.Lock()
	f.eng.states[ser.Ref()] = st
	f.eng.mu.Unlock()

	want := golden.Bytes(t, "state-v3.bin", f.eng.SnapshotState(ser))
	s, err := decodeState(want)
	require.NoError(t, err)
	require.Equal(t, &savedState{
		step: entry.Step, period: int64(entry.Period), width: entry.cfg.IntervalWidth,
		fitted: true, stale: true,
		trainEnd: st.trainEnd, pendingT: st.pendingT, lastForecastT: st.lastForecastT, lastScoreT: st.lastScoreT,
		nextFit: st.nextFit, pending: st.pending,
		names: []string{"fourier", "seasonal_naive"}, fits: [][]byte{{3, 1, 4, 1, 5}, {}},
		noiseFloor: st.noiseFloor, bandFloor: st.bandFloor, fitPeriod: int64(st.period),
		adjust: st.adjust, masked: st.masked, dets: s.dets, transform: models.TransformRate,
	}, s)
	require.Equal(t, st.det, restoreDetections(s.dets))
}
