package engine

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/anomaly"
)

// coverageTimeConstant is the time constant of the exponentially weighted
// band coverage: points a day old weigh 1/e of the newest.
const coverageTimeConstant = 24 * time.Hour

// maxFlags is how many of a series' latest flags the state keeps for the
// status page.
const maxFlags = 5

// Level correction after a shift: the offset is the median of the model's
// errors (before correction) over the offsetCells newest cells since the
// shift began; it ends when it falls below half the error scale.
const offsetCells = 3

// detection is what the engine keeps per series and model to score the
// model's forecasts and to follow a lasting change of level.
type detection struct {
	det anomaly.Detector
	// shiftFrom is the grid time a followed change of level began
	// (math.MinInt64: none); offset is then added to the model's
	// forecasts, and resid holds the model's own errors since then.
	shiftFrom int64
	offset    float64
	resid     []float64 // newest last, at most offsetCells
	sigma     float64   // the error scale of the newest scored step
	applied   bool      // a fit has re-levelled the history for this change
}

// maxAdjust bounds the changes of level a series remembers, maxMasked the
// isolated anomalous cells its fits leave out.
const (
	maxAdjust = 4
	maxMasked = 64
)

// levelAdjust adds delta to the cells before grid time from when a fit
// trains: the series changed level by delta at from.
type levelAdjust struct {
	from  int64
	delta float64
}

// pendingAdjust returns the change of level a fit starting at grid time
// end should train with: the change the first model that follows one
// found, if the data itself moved (see dataShift); a persistent error of
// the model alone is left to the correction. st.mu is held.
func (st *state) pendingAdjust(end int64) (levelAdjust, bool) {
	for i := range st.det {
		d := &st.det[i]
		if d.shiftFrom == math.MinInt64 || len(d.resid) == 0 || d.applied {
			continue
		}
		delta := models.Median(slices.Clone(d.resid))
		moved, ok := st.dataShift(d.shiftFrom, end)
		if !ok || moved*delta <= 0 || math.Abs(moved) < math.Abs(delta)/2 {
			d.applied = true // not a change of the data: never re-level for it
			return levelAdjust{}, false
		}
		return levelAdjust{from: d.shiftFrom, delta: moved}, true
	}
	return levelAdjust{}, false
}

// dataShift measures how far the data moved at grid time from, on the
// cells from it to end, as the fits see them (re-levelled by the changes
// already followed): the median of their seasonal differences (each cell
// minus the cell a period before) when the period is known, else the
// median of the cells minus the median of as many cells before from. It
// reports false when too few cells hold data. st.mu is held.
func (st *state) dataShift(from, end int64) (float64, bool) {
	step := st.entry.Step
	n := min((end-from)/step, 16)
	if n < offsetCells {
		return 0, false
	}
	var after, before []float64
	for k := range n {
		t := from + k*step
		a := st.levelledAt(t)
		if !models.IsObserved(a) {
			continue
		}
		if st.period > 1 {
			if b := st.levelledAt(t - int64(st.period)*step); models.IsObserved(b) {
				after = append(after, a-b)
			}
			continue
		}
		after = append(after, a)
		if b := st.levelledAt(from - (k+1)*step); models.IsObserved(b) {
			before = append(before, b)
		}
	}
	if len(after) < offsetCells || (st.period <= 1 && len(before) < offsetCells) {
		return 0, false
	}
	if st.period > 1 {
		return models.Median(after), true
	}
	return models.Median(after) - models.Median(before), true
}

// levelledAt returns the value of the cell at grid time t as fits see it:
// under st.transform, re-levelled by every change of level after it. st.mu
// is held.
func (st *state) levelledAt(t int64) float64 {
	v := st.actual(t)
	for _, a := range st.adjust {
		if t < a.from {
			v += a.delta
		}
	}
	return v
}

// adjusted applies the series' changes of level to vals, the cells from
// grid time start on: each cell before a change gets its delta added.
func adjusted(vals []float64, start, step int64, adj []levelAdjust) {
	for _, a := range adj {
		n := min(int64(len(vals)), max(0, grid.FloorDiv(a.from-start, step)))
		for k := range n {
			vals[k] += a.delta
		}
	}
}

// masking sets the cells of vals (from grid time start on) that masked
// holds to NaN: fits see them as gaps.
func masking(vals []float64, start, step int64, masked []int64) {
	for _, t := range masked {
		if k := grid.FloorDiv(t-start, step); k >= 0 && k < int64(len(vals)) {
			vals[k] = math.NaN()
		}
	}
}

// appendBounded appends v to s, first dropping the oldest (first) element
// when s already holds n: the state's rolling lists.
func appendBounded[T any](s []T, v T, n int) []T {
	if len(s) >= n {
		s = slices.Delete(s, 0, len(s)-n+1)
	}
	return append(s, v)
}

// Flag is one anomalous step as the status page explains it.
type Flag struct {
	T      int64  // ms, the step's grid time
	Model  string // the model whose forecast it deviated from
	Actual float64
	Point  models.Point // the forecast published for the step
	Score  float64
	Rule   string // magnitude, persistence or shift
}

// warmUp returns the scored steps a series of entry needs before it can be
// flagged: the entry's anomaly_warm_up, else one seasonal period, at least
// 48 steps and at most a day (a day when the period is unknown).
func (st *state) warmUp() int {
	entry := st.entry
	if entry.WarmUp > 0 {
		return int(max(1, entry.WarmUp/entry.Step))
	}
	perDay := int(max(1, (24*time.Hour).Milliseconds()/entry.Step))
	p := st.period
	if p <= 0 || p > perDay {
		p = perDay
	}
	return max(48, p)
}

// detections returns the per-model detection state, created on first use.
// st.mu is held.
func (st *state) detections() []detection {
	if len(st.det) != len(st.entry.Models) {
		st.det = make([]detection, len(st.entry.Models))
		for i := range st.det {
			st.det[i].shiftFrom = math.MinInt64
		}
	}
	return st.det
}

// scoreCell scores the actual value of cell c for model i against the
// forecast p published for it. When the step ends a lasting change of
// level, the model's forecasts follow the new level from now on and the
// series is refitted at the next retrain pass. st.mu is held.
func (st *state) scoreCell(i int, c, now int64, actual float64, p models.Point) anomaly.Result {
	entry := st.entry
	d := &st.detections()[i]
	cfg := entry.Anomaly
	cfg.WarmUp = st.warmUp()
	cfg.Period = st.period
	if d.det.Observations() == 0 {
		if z := models.ZScore(entry.cfg.IntervalWidth); z > 0 {
			d.det.Prime((p.Upper - p.Lower) / (2 * z)) // the model's own error scale
		}
	}
	res := d.det.Observe(cfg, grid.FloorDiv(c, entry.Step), actual-p.Yhat, st.noiseFloor)
	d.sigma = res.Sigma
	if res.Anomaly && res.Rule == anomaly.Magnitude && res.ShiftSteps == 0 && d.shiftFrom == math.MinInt64 {
		if n := len(st.masked); n == 0 || st.masked[n-1] < c {
			st.masked = appendBounded(st.masked, c, maxMasked)
		}
	}
	if res.Anomaly {
		st.flags = appendBounded(st.flags, Flag{T: c, Model: entry.Models[i].Name(), Actual: actual, Point: p, Score: res.Score, Rule: res.Rule.String()}, maxFlags)
	}
	if d.shiftFrom != math.MinInt64 || res.ShiftSteps > 0 {
		if res.ShiftSteps > 0 && d.shiftFrom == math.MinInt64 {
			d.shiftFrom, d.applied = c-int64(res.ShiftSteps-1)*entry.Step, false
			st.nextFit = min(st.nextFit, now) // refit at the next pass
			// Cells flagged at the start of the change are the new level.
			st.masked = slices.DeleteFunc(st.masked, func(t int64) bool { return t >= d.shiftFrom })
		}
		// The model's own error: p carries the offset it was published with.
		d.resid = appendBounded(d.resid, actual-(p.Yhat-d.offset), offsetCells)
	}
	return res
}

// rebase keeps the level correction of each model continuous across a
// refit: what the new fit changed at grid time t, the first cell it did
// not see, it no longer needs from the correction. st.mu is held.
func (st *state) rebase(old, fits []models.Fitted, t int64) {
	for i := range min(len(st.det), len(old), len(fits)) {
		d := &st.det[i]
		if d.shiftFrom == math.MinInt64 || old[i] == nil || fits[i] == nil {
			continue
		}
		d.applied = true
		delta := fits[i].Predict(t).Yhat - old[i].Predict(t).Yhat
		if !models.IsObserved(delta) {
			continue
		}
		for k := range d.resid {
			d.resid[k] -= delta
		}
		d.offset -= delta // the pending forecast's offset, on the new base
	}
}

// levelOffset returns what is added to model i's forecasts: while a change
// of level is followed, the median of the model's recent errors since it
// began; 0 otherwise. The correction ends once the model has caught up.
// st.mu is held.
func (st *state) levelOffset(i int) float64 {
	if i >= len(st.det) {
		return 0
	}
	d := &st.det[i]
	if d.shiftFrom == math.MinInt64 || len(d.resid) == 0 {
		return 0
	}
	d.offset = models.Median(slices.Clone(d.resid))
	if len(d.resid) == offsetCells && math.Abs(d.offset) < d.sigma/2 {
		d.shiftFrom, d.offset, d.resid, d.applied = math.MinInt64, 0, nil, false
	}
	return d.offset
}

// publish returns the forecast of model i as it is written: shifted by the
// level correction, its band at least the series' band floor wide, and
// everything within the entry's clip range. st.mu is held.
func (st *state) publish(p models.Point, offset float64) models.Point {
	p.Yhat += offset
	p.Lower += offset
	p.Upper += offset
	if f := st.bandFloor; f > 0 {
		p.Lower = min(p.Lower, p.Yhat-f)
		p.Upper = max(p.Upper, p.Yhat+f)
	}
	lo, hi := st.entry.ClipMin, st.entry.ClipMax
	p.Yhat = max(lo, min(hi, p.Yhat))
	p.Lower = max(lo, min(hi, p.Lower))
	p.Upper = max(lo, min(hi, p.Upper))
	return p
}

// chooser is a fit that chose among candidate models (models/auto).
type chooser interface {
	Chosen() string
}

type bandKey struct{ entry, model string }

type choiceKey struct{ entry, choice string }

// quality collects what one evaluation learns about the forecasts: how many
// scored actuals fell inside the band, per entry and model, and how many
// series each auto model choice covers.
type quality struct {
	bands   map[*Entry][]bandTally // per model of the entry
	choices map[choiceKey]int
}

type bandTally struct{ inside, total float64 }

func newQuality() *quality {
	return &quality{bands: map[*Entry][]bandTally{}, choices: map[choiceKey]int{}}
}

// band records whether actual lay inside model i's band p. st.mu is held.
func (q *quality) band(entry *Entry, i int, actual float64, p models.Point) {
	if math.IsNaN(p.Lower) || math.IsNaN(p.Upper) {
		return
	}
	t := q.bands[entry]
	if t == nil {
		t = make([]bandTally, len(entry.Models))
		q.bands[entry] = t
	}
	t[i].total++
	if p.Lower <= actual && actual <= p.Upper {
		t[i].inside++
	}
}

// choose records the choices of st's fits that chose a model. st.mu is held.
func (q *quality) choose(st *state) {
	for _, f := range st.fits {
		if c, ok := f.(chooser); ok {
			q.choices[choiceKey{st.entry.Name, c.Chosen()}]++
		}
	}
}

// qualityMetrics reports band coverage and auto model choices.
type qualityMetrics struct {
	coverage *prometheus.GaugeVec
	points   *prometheus.CounterVec
	choice   *prometheus.GaugeVec

	mu      sync.Mutex // guards below
	ew      map[bandKey]*ewCoverage
	choices map[choiceKey]bool // label pairs of choice set at the last update
}

// ewCoverage is an exponentially weighted count of scored points and of
// those inside the band.
type ewCoverage struct {
	inside, total float64
	at            int64 // ms of the last update
}

func newQualityMetrics(reg prometheus.Registerer) *qualityMetrics {
	f := promauto.With(reg)
	const ns, sub = "train_prometheus", "engine"
	return &qualityMetrics{
		coverage: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "band_coverage_ratio",
			Help: "Share of scored actual values inside the interval_width band published for them (out of sample), " +
				"by forecasts entry and model, exponentially weighted with a time constant of one day. Compare with interval_width.",
		}, []string{"forecast", "model"}),
		points: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "band_scored_points_total",
			Help: "Actual values scored against the band published for them, by forecasts entry, model and position (inside, outside).",
		}, []string{"forecast", "model", "position"}),
		choice: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "auto_choice_series",
			Help: "Series whose auto model currently uses each candidate (or \"a+b\" weighted pair), by forecasts entry.",
		}, []string{"forecast", "model"}),
		ew:      map[bandKey]*ewCoverage{},
		choices: map[choiceKey]bool{},
	}
}

// update folds one evaluation's quality into the metrics at time now (ms),
// and forgets entries and models the configuration no longer has.
func (m *qualityMetrics) update(snap *snapshot, q *quality, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tau := float64(coverageTimeConstant.Milliseconds())
	for entry, tallies := range q.bands {
		for i, t := range tallies {
			if t.total == 0 {
				continue
			}
			k := bandKey{entry.Name, entry.Models[i].Name()}
			m.points.WithLabelValues(k.entry, k.model, "inside").Add(t.inside)
			m.points.WithLabelValues(k.entry, k.model, "outside").Add(t.total - t.inside)
			c := m.ew[k]
			if c == nil {
				c = &ewCoverage{at: now}
				m.ew[k] = c
			}
			d := math.Exp(-float64(max(0, now-c.at)) / tau)
			c.inside = c.inside*d + t.inside
			c.total = c.total*d + t.total
			c.at = now
			m.coverage.WithLabelValues(k.entry, k.model).Set(c.inside / c.total)
		}
	}

	valid := map[bandKey]bool{}
	for _, e := range snap.entries {
		for _, mdl := range e.Models {
			valid[bandKey{e.Name, mdl.Name()}] = true
		}
	}
	for k := range m.ew {
		if !valid[k] {
			delete(m.ew, k)
			m.coverage.DeleteLabelValues(k.entry, k.model)
			m.points.DeleteLabelValues(k.entry, k.model, "inside")
			m.points.DeleteLabelValues(k.entry, k.model, "outside")
		}
	}

	for k, n := range q.choices {
		m.choice.WithLabelValues(k.entry, k.choice).Set(float64(n))
	}
	for k := range m.choices {
		if _, ok := q.choices[k]; !ok {
			m.choice.DeleteLabelValues(k.entry, k.choice)
			delete(m.choices, k)
		}
	}
	for k := range q.choices {
		m.choices[k] = true
	}
}
