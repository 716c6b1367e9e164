package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/train-prometheus/train-prometheus/models/registry"
)

// The values of transform.
const (
	TransformAuto = "auto"
	TransformNone = "none"
	TransformRate = "rate"
)

// KnownTransforms lists the values of transform.
var KnownTransforms = []string{TransformAuto, TransformNone, TransformRate}

// KnownAggregations lists how samples within one step can be combined.
var KnownAggregations = []string{"last", "mean", "min", "max", "sum"}

// ForecastConfig is one forecasts entry: a group of series selected by
// PromQL series selectors and the way they are modelled. Zero-valued fields
// are filled from global by Validate.
type ForecastConfig struct {
	Name  string   `yaml:"name"`
	Match []string `yaml:"match"`

	Step            model.Duration `yaml:"step,omitempty"`
	Window          model.Duration `yaml:"window,omitempty"`
	RetrainInterval model.Duration `yaml:"retrain_interval,omitempty"`
	MinHistory      model.Duration `yaml:"min_history,omitempty"`

	Aggregate        string           `yaml:"aggregate,omitempty"`
	Transform        string           `yaml:"transform,omitempty"`
	Models           []string         `yaml:"models,omitempty"`
	IntervalWidth    float64          `yaml:"interval_width,omitempty"`
	Horizons         []model.Duration `yaml:"horizons,omitempty"`
	AnomalyThreshold float64          `yaml:"anomaly_threshold,omitempty"`
	// SeasonalPeriod fixes the seasonal period; 0 detects it from the data.
	SeasonalPeriod model.Duration `yaml:"seasonal_period,omitempty"`
	Anomaly        AnomalyConfig  `yaml:",inline"`

	// Matchers are the parsed Match selectors: a series is selected when it
	// satisfies every matcher of at least one selector.
	Matchers [][]*labels.Matcher `yaml:"-"`

	// set holds the keys the entry's YAML wrote (Load fills it), so that
	// an explicit 0 is validated (or honoured, for min_history) rather
	// than taken for "inherit from global". An entry built in code has
	// none: zero inherits.
	set map[string]bool
}

// inherits reports whether the field key takes global's value: it was not
// written, and its value is the zero value.
func (c *ForecastConfig) inherits(key string, zero bool) bool {
	return zero && !c.set[key]
}

// Selects reports whether the series with labels lset belongs to this entry:
// it satisfies every matcher of one of the selectors. A bucket of a classic
// histogram (a name ending in _bucket, or an le label) is selected only by
// a selector that asks for buckets (see asksForBuckets): a broad selector
// such as {job="api"} would otherwise model every bucket of every
// histogram, a dozen series each.
func (c *ForecastConfig) Selects(lset labels.Labels) bool {
	bucket := IsBucket(lset)
	for _, sel := range c.Matchers {
		ok := true
		for _, m := range sel {
			if !m.Matches(lset.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok && (!bucket || asksForBuckets(sel)) {
			return true
		}
	}
	return false
}

// bucketLabel is the label of a classic histogram's bucket bound.
const bucketLabel = "le"

// IsBucket reports whether lset looks like a bucket of a classic histogram:
// its name ends in _bucket or it has an le label.
func IsBucket(lset labels.Labels) bool {
	return strings.HasSuffix(lset.Get(model.MetricNameLabel), "_bucket") || lset.Has(bucketLabel)
}

// asksForBuckets reports whether a selector names buckets explicitly: it
// has an equality matcher on the metric name (a selector that matches a
// bucket series by its exact name asks for it), a regular-expression
// matcher on the name whose pattern mentions _bucket, or a matcher on le.
// {job="api"} and {__name__=~".+"} do not.
func asksForBuckets(sel []*labels.Matcher) bool {
	for _, m := range sel {
		switch {
		case m.Name == bucketLabel:
			return true
		case m.Name != model.MetricNameLabel:
		case m.Type == labels.MatchEqual:
			return true
		case m.Type == labels.MatchRegexp && strings.Contains(m.Value, "_bucket"):
			return true
		}
	}
	return false
}

// resolve validates the entry, fills unset fields from g and parses the
// selectors.
func (c *ForecastConfig) resolve(g *GlobalConfig) error {
	if c.Name == "" {
		return errors.New("name must not be empty")
	}
	if len(c.Match) == 0 {
		return errors.New("match must list at least one series selector")
	}
	p := parser.NewParser(parser.Options{})
	c.Matchers = c.Matchers[:0]
	for i, s := range c.Match {
		ms, err := p.ParseMetricSelector(s)
		if err != nil {
			return fmt.Errorf("match[%d] %q: %w", i, s, err)
		}
		// The rule PromQL applies to vector selectors: '{}' or '{a=""}'
		// would select every series, including the ones written back.
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") }) {
			return fmt.Errorf("match[%d] %q: selector must contain at least one non-empty matcher", i, s)
		}
		c.Matchers = append(c.Matchers, ms)
	}
	fill := func(key string, v *model.Duration, d model.Duration) {
		if c.inherits(key, *v == 0) {
			*v = d
		}
	}
	fill("step", &c.Step, g.Step)
	fill("window", &c.Window, g.Window)
	fill("retrain_interval", &c.RetrainInterval, g.RetrainInterval)
	fill("min_history", &c.MinHistory, g.MinHistory) // an explicit 0s: forecast from the first cells
	if c.Aggregate == "" {
		c.Aggregate = g.Aggregate
	}
	if c.Transform == "" {
		c.Transform = g.Transform
	}
	if len(c.Models) == 0 {
		c.Models = slices.Clone(g.Models)
	}
	if c.inherits("interval_width", c.IntervalWidth == 0) {
		c.IntervalWidth = g.IntervalWidth
	}
	if len(c.Horizons) == 0 {
		c.Horizons = slices.Clone(g.Horizons)
	}
	if c.inherits("anomaly_threshold", c.AnomalyThreshold == 0) {
		c.AnomalyThreshold = g.AnomalyThreshold
	}
	if err := validateTiming(time.Duration(c.Step), time.Duration(c.Window),
		time.Duration(c.RetrainInterval), time.Duration(c.MinHistory)); err != nil {
		return err
	}
	if time.Duration(g.EvaluationDelay) >= time.Duration(c.Step) {
		return fmt.Errorf("step %s must be longer than global.evaluation_delay %s", c.Step, g.EvaluationDelay)
	}
	if c.SeasonalPeriod < 0 {
		return errors.New("seasonal_period must not be negative")
	}
	if c.SeasonalPeriod > 0 {
		if time.Duration(c.SeasonalPeriod)%time.Duration(c.Step) != 0 {
			return fmt.Errorf("seasonal_period %s must be a multiple of step %s", c.SeasonalPeriod, c.Step)
		}
		if c.SeasonalPeriod > c.Window/2 { // Not 2*SeasonalPeriod > Window: that overflows.
			return fmt.Errorf("seasonal_period %s must fit twice in window %s", c.SeasonalPeriod, c.Window)
		}
	}
	for _, h := range c.Horizons {
		if time.Duration(h)%time.Duration(c.Step) != 0 {
			return fmt.Errorf("horizons: %s is not a multiple of step %s", h, c.Step)
		}
	}
	if err := validateModelFields(c.Aggregate, c.Models, c.IntervalWidth, c.Horizons, c.AnomalyThreshold); err != nil {
		return err
	}
	if err := validateTransform(c.Transform); err != nil {
		return err
	}
	c.Anomaly.inherit(g.Anomaly)
	return c.Anomaly.validate()
}

// Capacity is the number of grid cells of a ring buffer for this entry.
func (c *ForecastConfig) Capacity() int {
	return int(time.Duration(c.Window) / time.Duration(c.Step))
}

// minRetrainInterval bounds retrain_interval from below: below it the
// engine would spend its time refitting. (step has no such bound: the
// offline tools replay sub-second data; the 4194304 cells of a window
// bound it.)
const minRetrainInterval = time.Second

func validateTiming(step, window, retrain, minHistory time.Duration) error {
	switch {
	case step <= 0:
		return errors.New("step must be positive")
	case step%time.Millisecond != 0:
		return fmt.Errorf("step %s must be a whole number of milliseconds", step)
	case window/step < 2: // Not window < 2*step: that overflows for steps over 146 years.
		return fmt.Errorf("window %s must hold at least two steps of %s", window, step)
	case window/step > 1<<22:
		return fmt.Errorf("window %s holds %d steps of %s; at most %d are allowed", window, window/step, step, 1<<22)
	case retrain <= 0:
		return errors.New("retrain_interval must be positive")
	case retrain < minRetrainInterval:
		return fmt.Errorf("retrain_interval %s must be at least %s", retrain, minRetrainInterval)
	case minHistory < 0:
		return errors.New("min_history must not be negative")
	case minHistory > window:
		return fmt.Errorf("min_history %s must not exceed window %s", minHistory, window)
	}
	return nil
}

func validateModelFields(aggregate string, models []string, width float64, horizons []model.Duration, threshold float64) error {
	if !slices.Contains(KnownAggregations, aggregate) {
		return fmt.Errorf("aggregate %q is not one of %v", aggregate, KnownAggregations)
	}
	if len(models) == 0 {
		return errors.New("models must name at least one model")
	}
	seen := map[string]bool{}
	for _, m := range models {
		if !registry.Known(m) {
			return fmt.Errorf("models: unknown model %q (known: %v)", m, registry.Names())
		}
		if seen[m] {
			return fmt.Errorf("models: %q listed twice", m)
		}
		seen[m] = true
	}
	if math.IsNaN(width) || width <= 0 || width >= 1 {
		return fmt.Errorf("interval_width %v must be between 0 and 1 (exclusive)", width)
	}
	if len(horizons) == 0 {
		return errors.New("horizons must list at least one horizon (0s = now)")
	}
	hs := map[model.Duration]bool{}
	for _, h := range horizons {
		if h < 0 {
			return fmt.Errorf("horizons: %s must not be negative", h)
		}
		if hs[h] {
			return fmt.Errorf("horizons: %s listed twice", h)
		}
		hs[h] = true
	}
	if math.IsNaN(threshold) || threshold <= 0 {
		return fmt.Errorf("anomaly_threshold %v must be positive", threshold)
	}
	return nil
}

func validateTransform(t string) error {
	if !slices.Contains(KnownTransforms, t) {
		return fmt.Errorf("transform %q is not one of %v", t, KnownTransforms)
	}
	return nil
}

func validateLabelMap(m map[string]string) error {
	for k, v := range m {
		if !model.LegacyValidation.IsValidLabelName(k) || k == model.MetricNameLabel {
			return fmt.Errorf("invalid label name %q", k)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("invalid value for label %q", k)
		}
	}
	return nil
}
