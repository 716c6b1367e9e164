package engine

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/train-prometheus/train-prometheus/models"
)

// coverageTimeConstant is the time constant of the exponentially weighted
// band coverage: points a day old weigh 1/e of the newest.
const coverageTimeConstant = 24 * time.Hour

// scoreCell scores the actual value of cell c for model i of st against the
// forecast p published for it, keeping the model's score window in st. It
// returns false when there is nothing to score. st.mu is held.
func (st *state) scoreCell(i int, c int64, actual float64, p models.Point) (float64, bool) {
	entry := st.entry
	if len(st.windows) != len(entry.Models) {
		st.windows = make([]models.ScoreWindow, len(entry.Models))
	}
	return entry.Anomaly.Score(&st.windows[i], floorDiv(c, entry.Step), actual, p)
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
