package engine

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// SeriesStatus is what the status page shows of one tracked series: a copy
// taken under the series' lock.
type SeriesStatus struct {
	Ref    uint64
	Labels labels.Labels
	Entry  string
	Step   int64 // ms
	Models []ModelStatus
	// LastFit is when the last fit ran (zero before the first one), and
	// LastFitErr how its models failed ("" when all fitted).
	LastFit    time.Time
	LastFitErr string
	Fitting    bool
	Fitted     bool
	TrainEnd   int64 // ms; the fits saw the cells before it
	Stale      bool
	Horizons   []int64 // ms
	// History is how much data the series holds in closed cells (cells
	// with data × step, ms), and MinHistory how much its first fit waits
	// for (min_history, at least two steps): an unfitted series with less
	// is learning.
	History, MinHistory int64
	// Type is the series' metric type and TypeSource where it comes from
	// (ring.Series.Type: "series", "family", "name", or "" when unknown).
	Type       ring.MetricType
	TypeSource string
	// Transform is what the fits model (and the history of SeriesHistory
	// holds): the values as they are, or their per-second rates. Wanted is
	// what the entry now decides; it differs from Transform until the
	// next retrain pass refits.
	Transform, WantedTransform models.Transform
	// Latest is what the last evaluation wrote for the series (only from
	// SeriesHistory: the list leaves it out, to stay cheap at many series).
	Latest []output.Sample
	// Flags are the series' latest anomalous steps, oldest first, with
	// what made them so.
	Flags []Flag
}

// ModelStatus is one model of a series.
type ModelStatus struct {
	Name string
	// Chosen is what the fit reports it chose (a model that picks among
	// others implements interface{ Chosen() string }); else Name.
	Chosen string
	// Fit is nil until the model has fitted. It is safe to Predict with.
	Fit models.Fitted
	// Score and Anomaly are the latest anomaly score and 0/1 flag written,
	// stamped ScoreT; NaN when none was written by the last evaluation.
	Score, Anomaly float64
	ScoreT         int64
	// Scored and WarmUp count the steps the anomaly detector has learnt
	// from and needs before it flags: Scored < WarmUp is "learning".
	Scored, WarmUp int
	// Shift is set while the forecast follows a change of level (the
	// correction added to the model's forecasts).
	Shift float64
}

// Learning reports whether the model's anomaly detector is still in its
// warm-up (no flags yet).
func (m ModelStatus) Learning() bool { return m.Scored < m.WarmUp }

// Status returns every tracked series, sorted by labels.
func (e *Engine) Status() []SeriesStatus {
	e.mu.RLock()
	states := make([]*state, 0, len(e.states))
	for _, st := range e.states {
		states = append(states, st)
	}
	e.mu.RUnlock()
	out := make([]SeriesStatus, 0, len(states))
	now := e.opts.Now().UnixMilli()
	for _, st := range states {
		out = append(out, st.status(false, now))
	}
	slices.SortFunc(out, func(a, b SeriesStatus) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// SeriesHistory returns the status of the series ref and its buffered
// cells before end (ms): the grid time of the first cell and the values.
func (e *Engine) SeriesHistory(ref uint64, end int64) (st SeriesStatus, start int64, vals []float64, ok bool) {
	e.mu.RLock()
	s, ok := e.states[ref]
	e.mu.RUnlock()
	if !ok {
		return SeriesStatus{}, 0, nil, false
	}
	status := s.status(true, e.opts.Now().UnixMilli())
	// The chart shows what the models see; a reset's rate counts from zero.
	start, vals = s.transformedValues(end, status.Transform, status.Step, false, nil)
	return status, start, vals, true
}

func (st *state) status(latest bool, now int64) SeriesStatus {
	typ, src := st.ser.Type()
	st.mu.Lock()
	entry := st.entry
	st.mu.Unlock()
	// Counted as RetrainDue counts for a first fit: closed cells with data.
	cells := st.ser.Count(grid.Floor(now, entry.Step))
	st.mu.Lock()
	defer st.mu.Unlock()
	s := SeriesStatus{
		History:         int64(cells) * entry.Step,
		MinHistory:      max(entry.MinHistory, 2*entry.Step),
		Type:            typ,
		TypeSource:      src,
		Transform:       st.transform,
		WantedTransform: st.entry.transformFor(st.ser),
		Ref:             st.ser.Ref(),
		Labels:          st.ser.Labels(),
		Entry:           st.entry.Name,
		Step:            st.entry.Step,
		LastFitErr:      st.lastFitErr,
		Fitting:         st.fitting,
		Fitted:          st.fitted,
		TrainEnd:        st.trainEnd,
		Stale:           st.stale,
		Horizons:        st.entry.Horizons,
	}
	if latest {
		s.Latest = slices.Clone(st.latest)
	}
	s.Flags = slices.Clone(st.flags)
	if st.lastFitAt != 0 {
		s.LastFit = time.UnixMilli(st.lastFitAt)
	}
	for i, m := range st.entry.Models {
		ms := ModelStatus{Name: m.Name(), Chosen: m.Name(), Score: math.NaN(), Anomaly: math.NaN(), WarmUp: st.warmUp()}
		if i < len(st.det) {
			ms.Scored = int(min(st.det[i].det.Observations(), math.MaxInt32))
			ms.Shift = st.det[i].offset
		}
		if i < len(st.fits) && st.fits[i] != nil {
			ms.Fit = st.fits[i]
			if c, ok := ms.Fit.(chooser); ok {
				ms.Chosen = c.Chosen()
			}
		}
		if st.out != nil && i < len(st.out.score) {
			for _, smp := range st.latest {
				if value.IsStaleNaN(smp.V) {
					continue
				}
				switch {
				case labels.Equal(smp.Labels, st.out.score[i]):
					ms.Score, ms.ScoreT = smp.V, smp.T
				case labels.Equal(smp.Labels, st.out.flag[i]):
					ms.Anomaly = smp.V
				}
			}
		}
		s.Models = append(s.Models, ms)
	}
	return s
}
