// Package naive implements the seasonal naive forecast: the value one
// seasonal period earlier, or the mean over the last few periods when that
// forecasts better in sample, with an empirical band (quantiles of the
// in-sample errors) that widens with the number of seasons ahead as the
// in-sample errors do. NewDrift's variant adds the recent change of the
// level per period, season by season.
package naive

import (
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
)

// MinDifferences is the fewest in-sample seasonal differences (pairs of
// observed cells one period apart) Fit accepts.
const MinDifferences = 2

// model is the seasonal naive Model. It is immutable.
type model struct {
	opts  models.Options
	drift bool // NewDrift's model
}

// New returns a seasonal naive model.
//
// The period is opts.Period, or DetectPeriod with opts.MaxPeriod when 0,
// falling back to 1 (plain naive: the last value) when none is found. A
// detected period of one day becomes a week when the data has three weeks
// and last fortnight's week-apart differences are 10% smaller than its
// day-apart ones (weekday and weekend differ). The
// forecast for a phase is the mean of its observed values in the last K
// periods, K from 1 to MaxPeriods: the K whose one-period-ahead in-sample
// errors over the recent cells are smallest (a larger K must win by
// kGain), so a noisy but stable season is averaged and a changing one
// follows its last period. A phase not observed in the data falls back to
// the most recent observed cell.
//
// The band is empirical: its half width one period ahead is the
// interval-width quantile of the absolute in-sample errors of that forecast
// over the recent cells, and it grows with the number of periods ahead h
// as the root mean square of the in-sample seasonal differences at lag h
// periods grows over lag one period (flat for a stable season with noise,
// like sqrt(h) for a wandering one), up to MaxPeriods and like sqrt(h)
// beyond. The half width is at least half the standard deviation of the
// seasonal differences over the whole series, so that a series that moved
// in its window but not over the recent cells (a count that stepped, then
// held) keeps a band.
func New(opts models.Options) models.Model {
	return model{opts: opts}
}

// MaxPeriods is the most periods the forecast averages and the band's
// growth is measured over.
const MaxPeriods = 4

// Fit statistics.
const (
	// kGain is how much lower (relatively) the in-sample error of
	// averaging more periods must be to be chosen.
	kGain = 0.03
	// minErrorCells is the fewest recent cells the in-sample errors are
	// taken over when the data allows (at least one period otherwise).
	minErrorCells = 256
)

// Name returns "seasonal_naive", or "seasonal_naive_drift" for NewDrift's
// model.
func (m model) Name() string {
	if m.drift {
		return "seasonal_naive_drift"
	}
	return "seasonal_naive"
}

// Fit trains on s. prev is ignored. It returns an error wrapping
// models.ErrInsufficientData when s has fewer than MinDifferences seasonal
// differences, models.ErrInvalidSeries for a non-positive step,
// models.ErrInvalidOptions for bad options and models.ErrNonFinite when
// values near the limits of float64 overflow the fit (its differences or
// squared errors).
func (m model) Fit(s models.Series, _ models.Fitted) (models.Fitted, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fit seasonal naive: %w", err)
	}
	if err := m.opts.Validate(); err != nil {
		return nil, fmt.Errorf("fit seasonal naive: %w", err)
	}
	values := s.Values
	period := max(1, s.SeasonalPeriod(m.opts, values))
	if m.opts.Period == 0 {
		period = models.WeeklyIfBetter(values, period, s.Step)
	}
	n := len(values)

	f := &fitted{
		start:    s.Start,
		step:     s.Step,
		n:        n,
		period:   period,
		latest:   make([]float64, period),
		latestAt: make([]int, period),
		last:     math.NaN(),
		lastAt:   -1,
	}
	for p := range f.latestAt {
		f.latest[p], f.latestAt[p] = math.NaN(), -1
	}
	// Backwards from the end: the most recent observed cell of each phase
	// and of all, and enough seasonal differences to fit. Usually one
	// period of cells.
	diffs, found, ph := 0, 0, (n-1)%period
	for i := n - 1; i >= 0 && (found < period || diffs < MinDifferences); i-- {
		if v := values[i]; observed(v) {
			if f.latestAt[ph] < 0 {
				f.latest[ph], f.latestAt[ph] = v, i
				found++
			}
			if f.lastAt < 0 {
				f.last, f.lastAt = v, i
			}
			if i >= period && observed(values[i-period]) {
				diffs++
			}
		}
		if ph--; ph < 0 {
			ph = period - 1
		}
	}
	if diffs < MinDifferences {
		return nil, fmt.Errorf("fit seasonal naive: %d seasonal differences at period %d, need %d: %w",
			diffs, period, MinDifferences, models.ErrInsufficientData)
	}

	st := errorStats(values, period)
	k := st.bestK()
	if m.drift {
		f.drift = seasonalDrift(values, period)
	}
	for p, j := range f.latestAt {
		if j >= 0 {
			f.latest[p] = meanBack(values, j, period, k)
		}
	}
	keep := min(n, 2*period)
	f.tail = append([]float64(nil), values[n-keep:]...)
	f.halfWidths = st.halfWidths(values, k, m.opts.Width())
	if err := f.checkFinite(); err != nil {
		return nil, fmt.Errorf("fit %s: %w", m.Name(), err)
	}
	if err := models.CheckFinite(f, s, period); err != nil {
		return nil, fmt.Errorf("fit %s: %w", m.Name(), err)
	}
	return f, nil
}

// checkFinite returns an error wrapping models.ErrNonFinite when a band
// half width, the drift or the forecast of a phase one period ahead, with
// its band, is not finite: every phase, where models.CheckFinite samples.
func (f *fitted) checkFinite() error {
	for h, w := range f.halfWidths {
		if !models.IsFinite(w) {
			return fmt.Errorf("band %d periods ahead is %v: %w", h+1, w, models.ErrNonFinite)
		}
	}
	if !models.IsFinite(f.drift) {
		return fmt.Errorf("drift is %v: %w", f.drift, models.ErrNonFinite)
	}
	for p, j := range f.latestAt {
		if j < 0 {
			continue
		}
		if pt := f.point(f.latest[p]+f.drift, 1); !pt.Finite() {
			return fmt.Errorf("forecast of phase %d: %+v: %w", p, pt, models.ErrNonFinite)
		}
	}
	return nil
}

// fitted is a trained seasonal naive model. It keeps only the last two
// periods of cells plus, per phase, the forecast. It is immutable after
// Fit.
type fitted struct {
	start, step int64
	n           int       // length of the training series
	period      int       // in steps
	tail        []float64 // the last min(n, 2·period) cells, gaps included
	latest      []float64 // per phase i%period: the forecast (mean of the last K periods' observed values)
	latestAt    []int     // its cell index, or -1 when the phase was never observed
	last        float64   // the most recent observed value of any phase
	lastAt      int       // its cell index
	halfWidths  []float64 // band half width 1..len periods ahead
	drift       float64   // level change per period (NewDrift), else 0
}

// Predict returns the forecast for time t, snapped to the nearest grid cell.
//
// Beyond the training data it uses the phase's forecast (h counted from the
// phase's most recent observed cell), or, when that phase was never
// observed, the most recent observed cell with k = ceil(distance/period). Inside the training data it searches
// the kept last two periods; a cell with no observed same-phase cell there
// (such as one in the first period of the data) gets a NaN Point.
func (f *fitted) Predict(t int64) models.Point {
	i := f.cell(t)
	if i >= f.n {
		p := mod(i, f.period)
		if j := f.latestAt[p]; j >= 0 {
			h := (i - j) / f.period
			return f.point(f.latest[p]+f.drift*float64(h), h)
		}
		h := ceilDiv(i-f.lastAt, f.period)
		return f.point(f.last+f.drift*float64(h), h)
	}
	tailStart := f.n - len(f.tail)
	for k := 1; i-k*f.period >= tailStart; k++ {
		if v := f.tail[i-k*f.period-tailStart]; models.IsObserved(v) {
			return f.point(v+f.drift*float64(k), k)
		}
	}
	return models.NaNPoint()
}

// point returns yhat with the band for h seasons ahead.
func (f *fitted) point(yhat float64, h int) models.Point {
	h = max(1, h)
	hw := f.halfWidths
	var w float64
	if h <= len(hw) {
		w = hw[h-1]
	} else {
		w = hw[len(hw)-1] * math.Sqrt(float64(h)/float64(len(hw)))
	}
	return models.Point{Yhat: yhat, Lower: yhat - w, Upper: yhat + w}
}

// cell returns the index of the grid cell nearest to time t (ties round up).
func (f *fitted) cell(t int64) int {
	return int(grid.FloorDiv(t-f.start+f.step/2, f.step))
}

func mod(a, b int) int {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

func ceilDiv(a, b int) int {
	return (a + b - 1) / b
}
