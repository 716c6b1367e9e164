package offline

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/registry"
)

// DefaultModel is the model the offline tools use when none is named: the
// registry's first, auto.
func DefaultModel() string {
	return registry.Names()[0]
}

// ForecastOptions tune Forecast.
type ForecastOptions struct {
	Model         string
	Step          time.Duration // grid of the series; they start at the Unix epoch
	Horizon       int           // points to forecast after each series
	IntervalWidth float64       // 0 = models.DefaultIntervalWidth
	Period        int           // seasonal period in steps; 0 = each model detects it
	Workers       int           // 0 = GOMAXPROCS
	// Transform rate forecasts the per-second rate of counters (as the
	// server does, models.Rates: resets count from zero, and the reset
	// cells are gaps to the fit) instead of the values.
	Transform models.Transform
	Progress  ProgressFunc
}

// ParseTransform parses the --transform flag of the offline tools: none
// or rate (auto needs a metric type, which a CSV file does not carry).
func ParseTransform(s string) (models.Transform, error) {
	switch s {
	case "none":
		return models.TransformNone, nil
	case "rate":
		return models.TransformRate, nil
	}
	return 0, fmt.Errorf("transform %q is not one of none, rate", s)
}

// Result is the forecast of one series: Horizon points, or the error of
// its fit.
type Result struct {
	ID     string
	Points []models.Point
	Err    error
}

// newModel builds a registered model, rejecting unknown names up front.
func newModel(name string, width float64, period int) (models.Model, error) {
	opts := models.Options{IntervalWidth: width, Period: period}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return registry.New(name, opts)
}

// Forecast fits opts.Model to every series on a pool of workers and
// forecasts the opts.Horizon points after it. Results are in input order.
// A series that cannot be fitted gets Err set; the others are unaffected.
func Forecast(ctx context.Context, series []Series, opts ForecastOptions) ([]Result, error) {
	if opts.Horizon <= 0 {
		return nil, fmt.Errorf("horizon %d must be positive", opts.Horizon)
	}
	if opts.Step <= 0 || opts.Step%time.Millisecond != 0 {
		return nil, fmt.Errorf("step %s must be a positive whole number of milliseconds", opts.Step)
	}
	m, err := newModel(opts.Model, opts.IntervalWidth, opts.Period)
	if err != nil {
		return nil, err
	}
	step := opts.Step.Milliseconds()
	out := make([]Result, len(series))
	err = parallel(ctx, len(series), opts.Workers, opts.Progress, func(i int) {
		s := series[i]
		out[i] = Result{ID: s.ID}
		values := s.Values
		if opts.Transform == models.TransformRate {
			values = slices.Clone(values)
			models.Rates(values, math.NaN(), opts.Step.Seconds(), true)
		}
		out[i].Points, out[i].Err = forecastOne(m, values, step, opts.Horizon)
	})
	return out, err
}

// forecastOne fits m to values (on a grid starting at 0) and predicts the
// h cells after them.
func forecastOne(m models.Model, values []float64, step int64, h int) ([]models.Point, error) {
	s := models.Series{Start: 0, Step: step, Values: values}
	f, err := m.Fit(s, nil)
	if err != nil {
		return nil, err
	}
	pts := make([]models.Point, h)
	for k := range pts {
		pts[k] = f.Predict(s.Time(len(values) + k))
	}
	return pts, nil
}

// WriteForecasts writes results as CSV: a header "id,F1,…,FH", then one row
// per series with the forecasts (yhat). With bounds, the columns
// L1,…,LH and U1,…,UH (lower and upper band) follow on the same row. A
// series without a forecast gets empty cells, as does a NaN point.
func WriteForecasts(w io.Writer, results []Result, horizon int, bounds bool) error {
	cw := csv.NewWriter(w)
	cols := 1 + horizon
	if bounds {
		cols += 2 * horizon
	}
	rec := make([]string, 0, cols)
	rec = append(rec, "id")
	prefixes := []string{"F"}
	if bounds {
		prefixes = append(prefixes, "L", "U")
	}
	for _, p := range prefixes {
		for k := 1; k <= horizon; k++ {
			rec = append(rec, p+strconv.Itoa(k))
		}
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, r := range results {
		rec = append(rec[:0], r.ID)
		for _, get := range []func(models.Point) float64{
			func(p models.Point) float64 { return p.Yhat },
			func(p models.Point) float64 { return p.Lower },
			func(p models.Point) float64 { return p.Upper },
		}[:len(prefixes)] {
			for k := range horizon {
				v := math.NaN()
				if k < len(r.Points) {
					v = get(r.Points[k])
				}
				rec = append(rec, formatFloat(v))
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formatFloat formats v in the shortest form that reads back exactly; NaN
// is an empty cell.
func formatFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
