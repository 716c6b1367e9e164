package offline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// replayName is the metric name the replayed series gets inside the engine.
const replayName = "offline_input"

// maxReplayCells bounds the grid cells a replay walks, so that a file
// whose timestamps span years at a step of seconds fails fast.
const maxReplayCells = 20_000_000

// DetectOptions tune Detect. Zero durations take the server's defaults
// (config.DefaultGlobalConfig).
type DetectOptions struct {
	Step            time.Duration // 0 = InferStep
	Model           string
	RetrainInterval time.Duration
	Window          time.Duration
	MinHistory      time.Duration
	IntervalWidth   float64 // 0 = the default
	Threshold       float64 // anomaly when score >= Threshold; 0 = the default
	// FalseAlarmsPerDay is the false-alarm budget (anomaly_false_alarms_per_day);
	// 0 = the default.
	FalseAlarmsPerDay float64
	WarmUp            time.Duration // anomaly_warm_up; 0 = one seasonal period
	// Transform rate models the rows as a counter's per-second rate, as
	// the server does for a counter: yhat, the band and the scores are
	// about the rate, the value column stays the counter's.
	Transform models.Transform
	Progress  ProgressFunc
}

// Detection is the engine's output for one input row. NaN fields mean the
// engine wrote nothing: no model was fitted yet, or (for the score) the row's
// cell was not scored.
type Detection struct {
	Row
	Point   models.Point
	Score   float64
	Anomaly float64
}

// InferStep returns the median interval between consecutive rows, rounded
// to whole seconds when it is at least a second (and to milliseconds
// otherwise). Rows at or before the newest timestamp before them (repeated
// or out of order, see CheckOrder) are skipped: the intervals are those
// between the rows that advance the time. It needs two distinct timestamps.
func InferStep(rows []Row) (time.Duration, error) {
	if len(rows) < 2 {
		return 0, errors.New("infer step: need at least two rows")
	}
	var d []int64
	for i, newest := 1, rows[0].Time; i < len(rows); i++ {
		if t := rows[i].Time; t > newest {
			d = append(d, t-newest)
			newest = t
		}
	}
	if len(d) == 0 {
		return 0, errors.New("infer step: need at least two rows with distinct timestamps")
	}
	slices.Sort(d)
	med := time.Duration(d[len(d)/2]) * time.Millisecond
	if med >= time.Second {
		med = med.Round(time.Second)
	}
	return max(med, time.Millisecond), nil
}

// detectConfig returns the configuration the replay engine runs with: one
// forecasts entry selecting the replayed series, scoring each cell as soon
// as it closes (no evaluation delay), and a staleness of a whole window, so
// that gaps in the file do not end the output series.
func detectConfig(opts DetectOptions) (*config.Config, error) {
	g := config.DefaultGlobalConfig
	d := func(v time.Duration, def model.Duration) model.Duration {
		if v == 0 {
			return def
		}
		return model.Duration(v)
	}
	fc := &config.ForecastConfig{
		Name:             "detect",
		Match:            []string{replayName},
		Step:             model.Duration(opts.Step),
		Window:           d(opts.Window, g.Window),
		RetrainInterval:  d(opts.RetrainInterval, g.RetrainInterval),
		MinHistory:       d(opts.MinHistory, g.MinHistory),
		Aggregate:        "last",
		Models:           []string{opts.Model},
		IntervalWidth:    opts.IntervalWidth,
		Horizons:         []model.Duration{0},
		AnomalyThreshold: opts.Threshold,
		Transform:        opts.Transform.String(),
	}
	if opts.FalseAlarmsPerDay != 0 {
		fc.Anomaly.FalseAlarmsPerDay = &opts.FalseAlarmsPerDay
	}
	fc.Anomaly.WarmUp = model.Duration(opts.WarmUp)
	g.Models = slices.Clone(g.Models)
	g.Horizons = slices.Clone(g.Horizons)
	g.EvaluationDelay = 0
	g.Staleness = fc.Window
	cfg := &config.Config{
		Global:    g,
		Forecasts: []*config.ForecastConfig{fc},
		Limits:    config.DefaultLimitsConfig,
		Output:    config.DefaultOutputConfig,
	}
	if err := cfg.Validate(); err != nil {
		// The entry is this function's own; name only the setting.
		return nil, fmt.Errorf("settings: %s", strings.TrimPrefix(err.Error(), "forecasts[0] (detect): "))
	}
	return cfg, nil
}

// capture is the replay's Sink: it keeps the engine's output by time.
type capture struct {
	mu       sync.Mutex
	out      config.OutputConfig
	forecast map[int64]*models.Point
	score    map[int64]float64
	flag     map[int64]float64
}

var _ engine.Sink = (*capture)(nil)

// Append implements engine.Sink.
func (c *capture) Append(samples []output.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range samples {
		if value.IsStaleNaN(s.V) {
			continue
		}
		// The outputs' base name is replayName, or replayName:rate.
		name := strings.TrimPrefix(s.Labels.Get(model.MetricNameLabel), replayName)
		name = strings.TrimPrefix(name, engine.RateSuffix)
		switch name {
		case c.out.ForecastSuffix:
			p := c.forecast[s.T]
			if p == nil {
				np := models.NaNPoint()
				p = &np
				c.forecast[s.T] = p
			}
			switch s.Labels.Get(c.out.ValueTypeLabel) {
			case "yhat":
				p.Yhat = s.V
			case "yhat_lower":
				p.Lower = s.V
			case "yhat_upper":
				p.Upper = s.V
			}
		case c.out.AnomalyScoreSuffix:
			c.score[s.T] = s.V
		case c.out.AnomalySuffix:
			c.flag[s.T] = s.V
		}
	}
}

// Detect replays rows through the live engine (adapter/engine) with a
// simulated clock, exactly as the server would have processed them had they
// arrived in real time, and returns the engine's output for each row.
//
// The clock walks the grid cell by cell. At each cell start T the engine
// evaluates (forecast for T, score of the cell before T); then the rows of
// the cell [T, T+step) arrive; then the retrain pass runs at the cell's
// last millisecond, fitting due models on the cells before T, as any pass
// of the live server within that cell would. A row is thus forecast only
// by models trained on earlier cells, and scored against the forecast
// published when its cell began (or, in the first cell after a fit, when
// none was, against that fit, also trained on earlier cells). Several rows
// in one cell are aggregated (last value) as the ring buffers do, and share
// the cell's output.
//
// rows are taken in their order, as the arrival order of the samples, not
// sorted: a row at or before an earlier row's timestamp (repeated or out of
// order, see CheckOrder) arrives with the row before it, in the cell of the
// newest timestamp so far, and the ring buffer takes it as it takes a late
// sample from the receiver: it fills its cell if that is still empty, else
// it is dropped. Its output is that of its own cell, like every row's.
func Detect(ctx context.Context, rows []Row, opts DetectOptions) ([]Detection, time.Duration, error) {
	if len(rows) == 0 {
		return nil, 0, ErrNoData
	}
	if opts.Step == 0 {
		var err error
		if opts.Step, err = InferStep(rows); err != nil {
			return nil, 0, err
		}
	}
	cfg, err := detectConfig(opts)
	if err != nil {
		return nil, 0, err
	}
	step := opts.Step.Milliseconds()
	first := grid.FloorDiv(rows[0].Time, step) * step
	last := grid.FloorDiv(newestTime(rows), step) * step
	cells := (last-first)/step + 2
	if cells > maxReplayCells {
		return nil, 0, fmt.Errorf("the rows span %d steps of %s, more than %d; use a longer step", cells, opts.Step, maxReplayCells)
	}

	sink := &capture{
		out:      cfg.Output,
		forecast: map[int64]*models.Point{},
		score:    map[int64]float64{},
		flag:     map[int64]float64{},
	}
	store := ring.NewStore(1, nil)
	// One series writes at most a few samples per evaluation; the default
	// batch (sized for 100k series) would allocate ~400 KB per cell.
	eng := engine.New(nil, nil, store, sink, engine.Options{Workers: 1, BatchSize: 16})
	if err := eng.ApplyConfig(cfg); err != nil {
		return nil, 0, err
	}
	lset := labels.FromStrings(model.MetricNameLabel, replayName)
	ropts, ok := eng.Route(lset)
	if !ok {
		return nil, 0, errors.New("replay series not selected") // cannot happen: the entry matches it
	}

	var ser *ring.Series
	j := 0
	for c := int64(0); c < cells; c++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		t := first + c*step
		eng.Evaluate(time.UnixMilli(t))
		for ; j < len(rows) && rows[j].Time < t+step; j++ {
			if ser, err = appendRow(store, ser, lset, ropts, rows[j]); err != nil {
				return nil, 0, err
			}
		}
		eng.RetrainDue(ctx, time.UnixMilli(t+step-1))
		if opts.Progress != nil {
			opts.Progress(int(c+1), int(cells))
		}
	}

	out := make([]Detection, len(rows))
	for i, r := range rows {
		cell := grid.FloorDiv(r.Time, step) * step
		d := Detection{Row: r, Point: models.NaNPoint(), Score: math.NaN(), Anomaly: math.NaN()}
		if p := sink.forecast[cell]; p != nil {
			d.Point = *p
		}
		if v, ok := sink.score[cell]; ok {
			d.Score = v
		}
		if v, ok := sink.flag[cell]; ok {
			d.Anomaly = v
		}
		out[i] = d
	}
	return out, opts.Step, nil
}

// appendRow appends r to the replayed series, creating it again if the
// engine's garbage collection removed it after a gap of a whole window. A
// row the ring refuses as the receiver would drop it is not an error.
func appendRow(store *ring.Store, ser *ring.Series, lset labels.Labels, opts ring.Options, r Row) (*ring.Series, error) {
	for range 2 {
		if ser == nil {
			var err error
			if ser, _, err = store.GetOrCreate(lset, opts); err != nil {
				return nil, fmt.Errorf("line %d: %w", r.Line, err)
			}
		}
		err := ser.Append(r.Time, r.Value)
		if !errors.Is(err, ring.ErrSeriesRemoved) {
			return ser, dropRefused(err)
		}
		ser = nil
	}
	return nil, fmt.Errorf("line %d: %w", r.Line, ring.ErrSeriesRemoved)
}

// WriteDetections writes the header
// timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score,anomaly and a row
// per detection, with the timestamp as it was read and empty cells where the
// engine wrote nothing.
func WriteDetections(w io.Writer, ds []Detection) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"timestamp", "value", "yhat", "yhat_lower", "yhat_upper", "anomaly_score", "anomaly"}); err != nil {
		return err
	}
	rec := make([]string, 7)
	for _, d := range ds {
		rec[0] = d.Stamp
		rec[1] = strconv.FormatFloat(d.Value, 'g', -1, 64)
		rec[2] = formatFloat(d.Point.Yhat)
		rec[3] = formatFloat(d.Point.Lower)
		rec[4] = formatFloat(d.Point.Upper)
		rec[5] = formatFloat(d.Score)
		rec[6] = formatFloat(d.Anomaly)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
