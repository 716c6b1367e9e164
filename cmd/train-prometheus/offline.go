package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"golang.org/x/term"

	"github.com/train-prometheus/train-prometheus/adapter/offline"
)

// offlineCommands holds the flags of the offline tools: forecast, detect
// and evaluate. They run the server's engine and model code on CSV files.
type offlineCommands struct {
	forecast, detect, evaluate *kingpin.CmdClause

	input, output               string
	model, models               string
	transform                   string
	step                        string
	horizon, holdout, period    int
	modelPeriod, workers        int
	bounds                      bool
	width, threshold            float64
	falseAlarms                 float64
	warmUp                      model.Duration
	retrain, window, minHistory model.Duration
}

func addOfflineCommands(app *kingpin.Application) *offlineCommands {
	c := &offlineCommands{}
	defModel := offline.DefaultModel()

	c.forecast = app.Command("forecast", "Forecast every series of a wide CSV file (id,v1,v2,… per row; M4 layout).")
	c.forecast.Flag("input", "Wide CSV file: an id, then the values in time order; a header row is skipped.").Required().StringVar(&c.input)
	c.forecast.Flag("output", "CSV file to write (id,F1..FH; - for stdout).").Required().StringVar(&c.output)
	c.forecast.Flag("horizon", "Points to forecast after each series.").Required().IntVar(&c.horizon)
	c.forecast.Flag("step", "Interval between values.").Default("1h").StringVar(&c.step)
	c.forecast.Flag("model", "Model to fit (a name of the models configuration field).").Default(defModel).StringVar(&c.model)
	c.forecast.Flag("bounds", "Also write the band: columns L1..LH and U1..UH after F1..FH.").BoolVar(&c.bounds)
	c.forecast.Flag("interval-width", "Width of the band, in (0, 1).").Default("0.95").Float64Var(&c.width)
	c.forecast.Flag("seasonal-period", "Seasonal period in steps given to the model; 0 = detect it, as the server does.").Default("0").IntVar(&c.modelPeriod)
	c.forecast.Flag("transform", "none, or rate: forecast each series' per-second rate, as the server does for a counter (a drop is a reset).").Default("none").EnumVar(&c.transform, "none", "rate")
	c.forecast.Flag("workers", "Series fitted in parallel; 0 = one per CPU.").Default("0").IntVar(&c.workers)

	c.detect = app.Command("detect", "Replay a timestamp,value CSV file through the engine and write forecasts and anomaly scores per row.")
	c.detect.Flag("input", "CSV file of timestamp,value rows (RFC 3339, YYYY-MM-DD HH:MM:SS or Unix seconds); a header row is skipped.").Required().StringVar(&c.input)
	c.detect.Flag("output", "CSV file to write (- for stdout).").Required().StringVar(&c.output)
	c.detect.Flag("step", "Grid step, or auto: the median interval between rows.").Default("auto").StringVar(&c.step)
	c.detect.Flag("model", "Model to fit.").Default(defModel).StringVar(&c.model)
	c.detect.Flag("transform", "none, or rate: model the rows as a counter's per-second rate, as the server does (yhat, band and scores are rates; a drop is a reset and never scored).").Default("none").EnumVar(&c.transform, "none", "rate")
	c.detect.Flag("retrain-interval", "Refit cadence (retrain_interval).").Default("15m").SetValue(&c.retrain)
	c.detect.Flag("window", "History the models see (window).").Default("7d").SetValue(&c.window)
	c.detect.Flag("min-history", "No model before this much data (min_history).").Default("1h").SetValue(&c.minHistory)
	c.detect.Flag("interval-width", "Width of the band, in (0, 1).").Default("0.95").Float64Var(&c.width)
	c.detect.Flag("threshold", "anomaly = 1 when anomaly_score >= this (anomaly_threshold).").Default("1").Float64Var(&c.threshold)
	c.detect.Flag("false-alarms-per-day", "False-alarm budget: expected flagged steps per day on data without anomalies (anomaly_false_alarms_per_day).").
		Default("0.01").Float64Var(&c.falseAlarms)
	c.detect.Flag("warm-up", "Scored steps before the first flag, as a duration (anomaly_warm_up); 0 = one seasonal period (48 steps to a day).").
		Default("0s").SetValue(&c.warmUp)

	c.evaluate = app.Command("evaluate", "Accuracy benchmark on a wide CSV file: hold out the end of each series, forecast it with each model, print sMAPE, MASE, OWA and band coverage as a markdown table.")
	c.evaluate.Flag("input", "Wide CSV file (M4 layout).").Required().StringVar(&c.input)
	c.evaluate.Flag("holdout", "Points held out at the end of each series.").Default("48").IntVar(&c.holdout)
	c.evaluate.Flag("period", "Seasonal period of the data in steps, for MASE and Naive2.").Default("24").IntVar(&c.period)
	c.evaluate.Flag("models", "Comma-separated models; default: every registered model and naive2.").
		Default(strings.Join(offline.EvaluateModels(), ",")).StringVar(&c.models)
	c.evaluate.Flag("step", "Interval between values.").Default("1h").StringVar(&c.step)
	c.evaluate.Flag("interval-width", "Width of the band whose coverage is measured.").Default("0.95").Float64Var(&c.width)
	c.evaluate.Flag("seasonal-period", "Seasonal period in steps given to the models; 0 = they detect it, as the server does.").Default("0").IntVar(&c.modelPeriod)
	c.evaluate.Flag("workers", "Series evaluated in parallel; 0 = one per CPU.").Default("0").IntVar(&c.workers)
	return c
}

// run runs the offline command cmd; ok is false when cmd is not one.
func (c *offlineCommands) run(cmd string, stdout, stderr io.Writer) (code int, ok bool) {
	var f func(context.Context, io.Writer, io.Writer) error
	switch cmd {
	case c.forecast.FullCommand():
		f = c.runForecast
	case c.detect.FullCommand():
		f = c.runDetect
	case c.evaluate.FullCommand():
		f = c.runEvaluate
	default:
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := f(ctx, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "%s %s: %s\n", appName, cmd, err)
		return 1, true
	}
	return 0, true
}

// progress returns a progress bar on stderr when it is a terminal, else nil.
func progress(stderr io.Writer, label string) offline.ProgressFunc {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return offline.NewProgressBar(stderr, label)
	}
	return nil
}

// parseStep parses a Prometheus duration (1h, 15s, 1d).
func parseStep(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("step %q is not a positive duration", s)
	}
	return time.Duration(d), nil
}

func readInput[T any](file string, read func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	data, err := os.ReadFile(file)
	if err != nil {
		return zero, err
	}
	return read(bytes.NewReader(data), file)
}

// writeOutput writes through write to file, or to stdout for "-". A failed
// write removes the partial file.
func writeOutput(file string, stdout io.Writer, write func(io.Writer) error) error {
	if file == "-" {
		return write(stdout)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(file)
		return fmt.Errorf("write %s: %w", file, err)
	}
	return f.Close()
}

func (c *offlineCommands) runForecast(ctx context.Context, stdout, stderr io.Writer) error {
	step, err := parseStep(c.step)
	if err != nil {
		return err
	}
	series, err := readInput(c.input, offline.ReadWide)
	if err != nil {
		return err
	}
	tr, err := offline.ParseTransform(c.transform)
	if err != nil {
		return err
	}
	res, err := offline.Forecast(ctx, series, offline.ForecastOptions{
		Model: c.model, Step: step, Horizon: c.horizon, IntervalWidth: c.width,
		Period: c.modelPeriod, Workers: c.workers, Transform: tr, Progress: progress(stderr, "forecast"),
	})
	if err != nil {
		return err
	}
	failed := 0
	for i, r := range res {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stderr, "%s:%d: series %q: no forecast: %s\n", c.input, series[i].Line, r.ID, r.Err)
		}
	}
	if err := writeOutput(c.output, stdout, func(w io.Writer) error {
		return offline.WriteForecasts(w, res, c.horizon, c.bounds)
	}); err != nil {
		return err
	}
	if failed == len(res) {
		return fmt.Errorf("no series could be forecast")
	}
	return nil
}

func (c *offlineCommands) runDetect(ctx context.Context, stdout, stderr io.Writer) error {
	var step time.Duration
	if c.step != "auto" {
		var err error
		if step, err = parseStep(c.step); err != nil {
			return err
		}
	}
	rows, err := readInput(c.input, offline.ReadRows)
	if err != nil {
		return err
	}
	// Repeated and out-of-order rows are replayed as the live receiver takes
	// them (offline.Disorder); one line says how many, and the run goes on.
	if d := offline.CheckOrder(rows); d.Rows() > 0 {
		verb := "were dropped, or only filled empty cells,"
		if d.Rows() == 1 {
			verb = "was dropped, or only filled an empty cell,"
		}
		fmt.Fprintf(stderr, "warning: %s: %s %s as the live receiver does\n", c.input, d, verb)
	}
	tr, err := offline.ParseTransform(c.transform)
	if err != nil {
		return err
	}
	ds, step, err := offline.Detect(ctx, rows, offline.DetectOptions{
		Transform: tr,
		Step:      step, Model: c.model, RetrainInterval: time.Duration(c.retrain),
		Window: time.Duration(c.window), MinHistory: time.Duration(c.minHistory),
		IntervalWidth: c.width, Threshold: c.threshold, Progress: progress(stderr, "detect"),
		FalseAlarmsPerDay: c.falseAlarms, WarmUp: time.Duration(c.warmUp),
	})
	if err != nil {
		return err
	}
	if err := writeOutput(c.output, stdout, func(w io.Writer) error { return offline.WriteDetections(w, ds) }); err != nil {
		return err
	}
	anomalies := 0
	for _, d := range ds {
		if d.Anomaly == 1 {
			anomalies++
		}
	}
	fmt.Fprintf(stderr, "%s: %d rows, step %s, model %s: %d anomalous rows\n",
		c.input, len(ds), model.Duration(step), c.model, anomalies)
	return nil
}

func (c *offlineCommands) runEvaluate(ctx context.Context, stdout, stderr io.Writer) error {
	step, err := parseStep(c.step)
	if err != nil {
		return err
	}
	series, err := readInput(c.input, offline.ReadWide)
	if err != nil {
		return err
	}
	var names []string
	for _, m := range strings.Split(c.models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			names = append(names, m)
		}
	}
	if !slices.Contains(names, offline.Naive2) {
		names = append(names, offline.Naive2) // the reference of OWA
	}
	scores, err := offline.Evaluate(ctx, series, offline.EvaluateOptions{
		Models: names, Holdout: c.holdout, Period: c.period, Step: step,
		IntervalWidth: c.width, ModelPeriod: c.modelPeriod, Workers: c.workers,
		Progress: progress(stderr, "evaluate"),
	})
	if err != nil {
		return err
	}
	return offline.WriteMarkdown(stdout, scores, len(series), c.width)
}
