package offline

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/eval"
	"github.com/train-prometheus/train-prometheus/models/registry"
)

// Naive2 is the name of the M4 benchmark in the evaluate tool's model list.
const Naive2 = "naive2"

// EvaluateModels returns the models evaluate compares by default: every
// registered model, then Naive2.
func EvaluateModels() []string {
	return append(registry.Names(), Naive2)
}

// EvaluateOptions tune Evaluate.
type EvaluateOptions struct {
	Models        []string      // registered model names or Naive2
	Holdout       int           // points held out at the end of each series
	Period        int           // seasonal period of the data, for MASE and Naive2
	Step          time.Duration // grid of the series; they start at the Unix epoch
	IntervalWidth float64       // band whose coverage is measured; 0 = the default
	ModelPeriod   int           // seasonal period given to the models; 0 = they detect it
	Workers       int           // 0 = GOMAXPROCS
	Progress      ProgressFunc
}

// Score is one model's accuracy over all series.
type Score struct {
	Model string
	// Means over all series of sMAPE (percent) and MASE, and OWA relative
	// to Naive2's means.
	SMAPE, MASE, OWA float64
	// Coverage is the fraction of held-out points inside the band, over
	// the series the model forecast; NaN for Naive2, which has no band.
	Coverage float64
	// Failed counts series the model could not forecast (fit error or a
	// NaN forecast); they are scored with Naive2's forecast instead, as a
	// fallback, so that every model is measured on every series.
	Failed int
	// FitTime is the total time spent fitting and predicting.
	FitTime time.Duration
}

// perSeries holds one series' errors per model.
type perSeries struct {
	smape, mase, cover []float64
	failed             []bool
	took               []time.Duration
}

// Evaluate holds out the last opts.Holdout points of every series,
// forecasts them with each model, and scores the forecasts as the M4
// competition does. Series must be longer than Holdout + Period.
func Evaluate(ctx context.Context, series []Series, opts EvaluateOptions) ([]Score, error) {
	if opts.Holdout <= 0 || opts.Period <= 0 {
		return nil, fmt.Errorf("holdout %d and period %d must be positive", opts.Holdout, opts.Period)
	}
	if opts.Step <= 0 || opts.Step%time.Millisecond != 0 {
		return nil, fmt.Errorf("step %s must be a positive whole number of milliseconds", opts.Step)
	}
	if !slices.Contains(opts.Models, Naive2) {
		return nil, fmt.Errorf("models must include %s, the reference of OWA", Naive2)
	}
	ms := make([]models.Model, len(opts.Models))
	for i, name := range opts.Models {
		if name == Naive2 {
			continue
		}
		m, err := newModel(name, opts.IntervalWidth, opts.ModelPeriod)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	for _, s := range series {
		if len(s.Values) <= opts.Holdout+opts.Period {
			return nil, fmt.Errorf("series %q (line %d) has %d values; need more than holdout %d + period %d",
				s.ID, s.Line, len(s.Values), opts.Holdout, opts.Period)
		}
		if scale := eval.SeasonalNaiveScale(s.Values[:len(s.Values)-opts.Holdout], opts.Period); !(scale > 0) {
			return nil, fmt.Errorf("series %q (line %d) repeats itself exactly every %d points before the holdout; its MASE is undefined",
				s.ID, s.Line, opts.Period)
		}
	}

	step := opts.Step.Milliseconds()
	res := make([]perSeries, len(series))
	errs := make([]error, len(series))
	err := parallel(ctx, len(series), opts.Workers, opts.Progress, func(i int) {
		res[i], errs[i] = evaluateOne(series[i], ms, opts, step)
	})
	if err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", series[i].ID, err)
		}
	}

	scores := make([]Score, len(ms))
	ref := slices.Index(opts.Models, Naive2)
	for k := range ms {
		sc := Score{Model: opts.Models[k]}
		var cover float64
		covered := 0
		for _, r := range res {
			sc.SMAPE += r.smape[k]
			sc.MASE += r.mase[k]
			sc.FitTime += r.took[k]
			if r.failed[k] {
				sc.Failed++
			} else if !math.IsNaN(r.cover[k]) {
				cover += r.cover[k]
				covered++
			}
		}
		sc.SMAPE /= float64(len(res))
		sc.MASE /= float64(len(res))
		sc.Coverage = cover / float64(covered) // NaN when nothing was covered
		scores[k] = sc
	}
	for k := range scores {
		scores[k].OWA = eval.OWA(scores[k].SMAPE, scores[k].MASE, scores[ref].SMAPE, scores[ref].MASE)
	}
	return scores, nil
}

// evaluateOne scores every model on one series.
func evaluateOne(s Series, ms []models.Model, opts EvaluateOptions, step int64) (perSeries, error) {
	n := len(s.Values) - opts.Holdout
	train, test := s.Values[:n], s.Values[n:]
	r := perSeries{
		smape:  make([]float64, len(ms)),
		mase:   make([]float64, len(ms)),
		cover:  make([]float64, len(ms)),
		failed: make([]bool, len(ms)),
		took:   make([]time.Duration, len(ms)),
	}
	scale := eval.SeasonalNaiveScale(train, opts.Period)
	t0 := time.Now()
	naive2, err := eval.Naive2(train, opts.Holdout, opts.Period)
	if err != nil {
		return r, err
	}
	naive2Took := time.Since(t0)
	lower, upper := make([]float64, opts.Holdout), make([]float64, opts.Holdout)
	for k, m := range ms {
		f := naive2
		r.cover[k] = math.NaN()
		r.took[k] = naive2Took
		if m != nil {
			t0 := time.Now()
			pts, err := forecastOne(m, train, step, opts.Holdout)
			r.took[k] = time.Since(t0)
			f = make([]float64, opts.Holdout)
			for h, p := range pts {
				f[h], lower[h], upper[h] = p.Yhat, p.Lower, p.Upper
			}
			if err != nil || slices.ContainsFunc(f, func(v float64) bool { return !models.IsObserved(v) }) {
				r.failed[k] = true
				f = naive2
			} else {
				r.cover[k], _ = eval.Coverage(test, lower, upper)
			}
		}
		r.smape[k], _ = eval.SMAPE(test, f)
		r.mase[k], _ = eval.MASE(test, f, scale)
	}
	return r, nil
}

// WriteMarkdown writes scores as a markdown table; width is the band's
// nominal coverage (0 = the default).
func WriteMarkdown(w io.Writer, scores []Score, series int, width float64) error {
	if width == 0 {
		width = models.DefaultIntervalWidth
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| model | sMAPE | MASE | OWA | coverage of the %g%% band | failed series (of %d) | fit time per series |\n", width*100, series)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range scores {
		cov := "–"
		if !math.IsNaN(s.Coverage) {
			cov = fmt.Sprintf("%.3f", s.Coverage)
		}
		per := time.Duration(0)
		if series > 0 {
			per = s.FitTime / time.Duration(series)
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %s | %d | %s |\n",
			s.Model, s.SMAPE, s.MASE, s.OWA, cov, s.Failed, per.Round(time.Microsecond))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
