package engine

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/anomaly"
	"github.com/train-prometheus/train-prometheus/models/registry"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Entry is one forecasts entry compiled for the engine: its grid, its
// models and how its series are scored.
type Entry struct {
	Name            string
	Step            int64 // ms
	Window          int64 // ms
	RetrainInterval int64 // ms
	MinHistory      int64 // ms
	Horizons        []int64
	Threshold       float64
	// Anomaly is how scored errors become flags; its WarmUp is set per
	// series from WarmUp (or the series' period).
	Anomaly anomaly.Config
	WarmUp  int64 // ms of scored steps before the first flag; 0 = one period
	// ClipMin and ClipMax bound published forecasts and bands.
	ClipMin, ClipMax float64
	Period           int // seasonal period in steps; 0 = detect
	// Transform is the entry's transform setting (config.TransformAuto,
	// TransformNone or TransformRate); see transformFor.
	Transform string
	Models    []models.Model
	Ring      ring.Options

	horizonNames []string
	cfg          *config.ForecastConfig
}

// CompileEntry turns a validated forecasts entry into an Entry.
func CompileEntry(fc *config.ForecastConfig, index int) (*Entry, error) {
	agg, err := ring.ParseAggregation(fc.Aggregate)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", fc.Name, err)
	}
	step := time.Duration(fc.Step)
	e := &Entry{
		Name:            fc.Name,
		Step:            step.Milliseconds(),
		Window:          time.Duration(fc.Window).Milliseconds(),
		RetrainInterval: time.Duration(fc.RetrainInterval).Milliseconds(),
		MinHistory:      time.Duration(fc.MinHistory).Milliseconds(),
		Threshold:       fc.AnomalyThreshold,
		Transform:       fc.Transform,
		Ring: ring.Options{
			Step:      step,
			Window:    time.Duration(fc.Window),
			Aggregate: agg,
			Group:     index,
		},
		cfg: fc,
	}
	for _, h := range fc.Horizons {
		e.Horizons = append(e.Horizons, time.Duration(h).Milliseconds())
		e.horizonNames = append(e.horizonNames, model.Duration(h).String())
	}
	dir, err := anomaly.ParseDirection(fc.Anomaly.Direction)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", fc.Name, err)
	}
	e.Anomaly = anomaly.Config{
		Alpha:        anomaly.AlphaFor(fc.Anomaly.FalseAlarmsPerDayValue(), e.Step),
		Threshold:    fc.AnomalyThreshold,
		MinDeviation: fc.Anomaly.MinDeviationValue(),
		Direction:    dir,
	}
	e.Anomaly.Prepare()
	e.WarmUp = time.Duration(fc.Anomaly.WarmUp).Milliseconds()
	e.ClipMin, e.ClipMax = fc.Anomaly.ClipRange()
	e.Period = int(time.Duration(fc.SeasonalPeriod) / step)
	opts := models.Options{IntervalWidth: fc.IntervalWidth, Period: e.Period}
	for _, name := range fc.Models {
		m, err := registry.New(name, opts)
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", fc.Name, err)
		}
		e.Models = append(e.Models, m)
	}
	return e, nil
}

// Selects reports whether the entry's selectors select lset.
func (e *Entry) Selects(lset labels.Labels) bool { return e.cfg.Selects(lset) }

// transformFor decides how the entry models ser: as per-second rates under
// transform rate, and under auto when the series is cumulative by its
// resolved type (ring.Cumulative: counters, and the _bucket, _count and _sum
// of histograms and summaries); as it is otherwise. The fits keep the
// transform they were made with (state.transform); a series whose decision
// changes (metadata arrived after a guess from the name, a reload) is
// refitted at the next retrain pass.
func (e *Entry) transformFor(ser *ring.Series) models.Transform {
	switch e.Transform {
	case config.TransformRate:
		return models.TransformRate
	case config.TransformAuto, "":
		t, _ := ser.Type()
		if ring.Cumulative(ser.Labels().Get(model.MetricNameLabel), t) {
			return models.TransformRate
		}
	}
	return models.TransformNone
}

// sameGrid reports whether series buffered for a can stay as they are under b.
func sameGrid(a, b ring.Options) bool {
	return a.Step == b.Step && a.Window == b.Window && a.Aggregate == b.Aggregate
}

// modelsEqual reports whether two entries fit the same models the same way,
// so that fitted state can be kept across a reload.
func modelsEqual(a, b *Entry) bool {
	if a.Step != b.Step || len(a.Models) != len(b.Models) ||
		a.cfg.IntervalWidth != b.cfg.IntervalWidth || a.cfg.SeasonalPeriod != b.cfg.SeasonalPeriod {
		return false
	}
	for i := range a.Models {
		if a.Models[i].Name() != b.Models[i].Name() {
			return false
		}
	}
	return true
}
