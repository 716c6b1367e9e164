// Package naive implements the seasonal naive forecast: the value one (or
// more) seasonal periods earlier, with a band that widens with the square
// root of the number of seasons ahead.
package naive

import (
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// MinDifferences is the fewest in-sample seasonal differences (pairs of
// observed cells one period apart) Fit accepts.
const MinDifferences = 2

// model is the seasonal naive Model. It is immutable.
type model struct {
	opts models.Options
}

// New returns a seasonal naive model.
//
// The period is opts.Period, or DetectPeriod with opts.MaxPeriod when 0,
// falling back to 1 (plain naive: the last value) when none is found. The
// forecast for a cell is the most recent observed cell a whole number of
// periods k >= 1 before it; the band is yhat ± ZScore(width)·sigma·sqrt(k),
// where sigma is the root mean square of the in-sample seasonal differences
// y[i]−y[i−period] (the in-sample errors of the method itself).
func New(opts models.Options) models.Model {
	return model{opts: opts}
}

// Name returns "seasonal_naive".
func (model) Name() string { return "seasonal_naive" }

// Fit trains on s. prev is ignored. It returns an error wrapping
// models.ErrInsufficientData when s has fewer than MinDifferences seasonal
// differences, models.ErrInvalidSeries for a non-positive step and
// models.ErrInvalidOptions for bad options.
func (m model) Fit(s models.Series, _ models.Fitted) (models.Fitted, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fit seasonal naive: %w", err)
	}
	if err := m.opts.Validate(); err != nil {
		return nil, fmt.Errorf("fit seasonal naive: %w", err)
	}
	values := s.Values
	period := max(1, s.SeasonalPeriod(m.opts, values))

	var sumSq float64
	diffs := 0
	for i := period; i < len(values); i++ {
		if models.IsObserved(values[i]) && models.IsObserved(values[i-period]) {
			d := values[i] - values[i-period]
			sumSq += d * d
			diffs++
		}
	}
	if diffs < MinDifferences {
		return nil, fmt.Errorf("fit seasonal naive: %d seasonal differences at period %d, need %d: %w",
			diffs, period, MinDifferences, models.ErrInsufficientData)
	}

	n := len(values)
	keep := min(n, 2*period)
	f := &fitted{
		start:     s.Start,
		step:      s.Step,
		n:         n,
		period:    period,
		tail:      append([]float64(nil), values[n-keep:]...),
		latest:    make([]float64, period),
		latestAt:  make([]int, period),
		last:      math.NaN(),
		lastAt:    -1,
		halfWidth: models.ZScore(m.opts.Width()) * math.Sqrt(sumSq/float64(diffs)),
	}
	for p := range f.latestAt {
		f.latest[p], f.latestAt[p] = math.NaN(), -1
	}
	for i, v := range values {
		if models.IsObserved(v) {
			p := i % period
			f.latest[p], f.latestAt[p] = v, i
			f.last, f.lastAt = v, i
		}
	}
	return f, nil
}

// fitted is a trained seasonal naive model. It keeps only the last two
// periods of cells plus, per phase, the most recent observed value. It is
// immutable after Fit.
type fitted struct {
	start, step int64
	n           int       // length of the training series
	period      int       // in steps
	tail        []float64 // the last min(n, 2·period) cells, gaps included
	latest      []float64 // per phase i%period: the most recent observed value
	latestAt    []int     // its cell index, or -1 when the phase was never observed
	last        float64   // the most recent observed value of any phase
	lastAt      int       // its cell index
	halfWidth   float64   // z·sigma for one season ahead
}

// Predict returns the forecast for time t, snapped to the nearest grid cell.
//
// Beyond the training data it uses the most recent observed cell at the same
// phase, or, when that phase was never observed, the most recent observed
// cell with k = ceil(distance/period). Inside the training data it searches
// the kept last two periods; a cell with no observed same-phase cell there
// (such as one in the first period of the data) gets a NaN Point.
func (f *fitted) Predict(t int64) models.Point {
	i := f.cell(t)
	if i >= f.n {
		p := mod(i, f.period)
		if j := f.latestAt[p]; j >= 0 {
			return f.point(f.latest[p], (i-j)/f.period)
		}
		return f.point(f.last, ceilDiv(i-f.lastAt, f.period))
	}
	tailStart := f.n - len(f.tail)
	for k := 1; i-k*f.period >= tailStart; k++ {
		if v := f.tail[i-k*f.period-tailStart]; models.IsObserved(v) {
			return f.point(v, k)
		}
	}
	return models.NaNPoint()
}

// point returns yhat with the band for h seasons ahead.
func (f *fitted) point(yhat float64, h int) models.Point {
	w := f.halfWidth * math.Sqrt(float64(max(1, h)))
	return models.Point{Yhat: yhat, Lower: yhat - w, Upper: yhat + w}
}

// cell returns the index of the grid cell nearest to time t (ties round up).
func (f *fitted) cell(t int64) int {
	return int(floorDiv(t-f.start+f.step/2, f.step))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
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
