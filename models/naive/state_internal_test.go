package naive

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// weekOf5m is 7 days of 5-minute cells of a noisy daily pattern with a few
// gaps.
func weekOf5m() models.Series {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 7*288)
	for i := range vals {
		vals[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
		if i%97 == 0 {
			vals[i] = math.NaN()
		}
	}
	return models.Series{Start: 1_700_000_000_000 / 300_000 * 300_000, Step: 300_000, Values: vals, Period: 288}
}

// TestStateIsSmall: the state holds no values of the series, only the
// grid, the band and a digest.
func TestStateIsSmall(t *testing.T) {
	s := weekOf5m()
	f, err := New(models.Options{}).Fit(s, nil)
	require.NoError(t, err)
	data, err := f.(*fitted).MarshalBinary()
	require.NoError(t, err)
	require.Less(t, len(data), 40+8*MaxPeriods, "no values saved")
	g, err := model{}.Restore(data, s)
	require.NoError(t, err)
	requireSameFit(t, f.(*fitted), g.(*fitted))
}

// requireSameFit requires a and b to be the same fit, bit for bit.
func requireSameFit(t *testing.T, a, b *fitted) {
	t.Helper()
	same := func(x, y []float64) bool {
		return slices.EqualFunc(x, y, func(v, w float64) bool { return math.Float64bits(v) == math.Float64bits(w) })
	}
	require.Equal(t, [6]int64{a.start, a.step, int64(a.n), int64(a.period), int64(a.lastAt), int64(math.Float64bits(a.last))},
		[6]int64{b.start, b.step, int64(b.n), int64(b.period), int64(b.lastAt), int64(math.Float64bits(b.last))})
	require.Equal(t, a.latestAt, b.latestAt)
	require.True(t, same(a.tail, b.tail), "tail")
	require.True(t, same(a.latest, b.latest), "forecasts")
	require.True(t, same(a.halfWidths, b.halfWidths), "band")
}

// TestStateRefusesOtherHistory: the state restores only from the cells the
// fit saw; every other history is refused with ErrHistoryMismatch.
func TestStateRefusesOtherHistory(t *testing.T) {
	s := weekOf5m()
	f, err := New(models.Options{}).Fit(s, nil)
	require.NoError(t, err)
	data, err := f.(*fitted).MarshalBinary()
	require.NoError(t, err)
	with := func(edit func(*models.Series)) models.Series {
		h := s
		h.Values = slices.Clone(s.Values)
		edit(&h)
		return h
	}
	last := len(s.Values) - 1
	weekGap := (last - 3*288) / 97 * 97 // a gap three days or more back
	for name, h := range map[string]models.Series{
		"gap filled in the tail": with(func(h *models.Series) { h.Values[last-97] = 1 }),
		"gap filled days back":   with(func(h *models.Series) { h.Values[weekGap] = 100 }),
		"last cell changed":      with(func(h *models.Series) { h.Values[last] = math.Nextafter(h.Values[last], 0) }),
		"other step":             with(func(h *models.Series) { h.Step = 60_000 }),
		"off the grid":           with(func(h *models.Series) { h.Start += 1000 }),
		"ends early":             with(func(h *models.Series) { h.Values = h.Values[:last] }),
		"shifted a cell":         with(func(h *models.Series) { h.Start += h.Step }),
		"four periods lost":      with(func(h *models.Series) { h.Start += 4 * 288 * h.Step; h.Values = h.Values[4*288:] }),
		"empty":                  {},
	} {
		if name == "gap filled days back" && !math.IsNaN(s.Values[weekGap]) {
			t.Fatal("test data: no gap there")
		}
		_, err := model{}.Restore(data, h)
		require.ErrorIs(t, err, models.ErrHistoryMismatch, name)
	}

	// Cells the fit never needed may leave, and history before the fit's
	// start may be there: the same fit.
	for name, h := range map[string]models.Series{
		"oldest day gone": with(func(h *models.Series) { h.Start += 288 * h.Step; h.Values = h.Values[288:] }),
		"a day more at the start": with(func(h *models.Series) {
			h.Start -= 288 * h.Step
			h.Values = append(make([]float64, 288), h.Values...)
		}),
	} {
		g, err := model{}.Restore(data, h)
		require.NoError(t, err, name)
		requireSameFit(t, f.(*fitted), g.(*fitted))
	}
}

// TestStateRefusesOldVersions: the previous layouts are refused, not misread.
func TestStateRefusesOldVersions(t *testing.T) {
	for _, v := range []byte{2, 3} {
		_, err := model{}.Restore([]byte{v, 0, 0, 0}, weekOf5m())
		require.ErrorIs(t, err, models.ErrUnknownFormat)
	}
}

// FuzzRestore checks Restore never panics on any state with the history
// it was saved with, and that what it accepts predicts without panicking.
func FuzzRestore(f *testing.F) {
	s := weekOf5m()
	s.Values = s.Values[:3*288]
	fit, err := New(models.Options{}).Fit(s, nil)
	require.NoError(f, err)
	data, err := fit.(*fitted).MarshalBinary()
	require.NoError(f, err)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		g, err := model{}.Restore(data, s)
		if err != nil {
			return
		}
		g.Predict(s.Start)
		g.Predict(s.End() + 1e9)
		_, err = g.(*fitted).MarshalBinary()
		require.NoError(t, err)
	})
}
