package config

import (
	"errors"
	"fmt"

	"github.com/prometheus/common/model"
)

// OutputConfig names the series written back. A forecast of series
// `m{l="v"}` is written as `m<ForecastSuffix>{l="v", <ModelLabel>="…",
// <ValueTypeLabel>="yhat"|"yhat_lower"|"yhat_upper"}`.
type OutputConfig struct {
	ForecastSuffix     string `yaml:"forecast_suffix,omitempty"`
	AnomalyScoreSuffix string `yaml:"anomaly_score_suffix,omitempty"`
	AnomalySuffix      string `yaml:"anomaly_suffix,omitempty"`
	ModelLabel         string `yaml:"model_label,omitempty"`
	ValueTypeLabel     string `yaml:"value_type_label,omitempty"`
	HorizonLabel       string `yaml:"horizon_label,omitempty"`
	// Preset, when set, replaces the naming scheme: PresetAncestor (see
	// output_preset.go).
	Preset string `yaml:"preset,omitempty"`
	// NameLabel keeps the input series' name in a label under a preset
	// that drops it; empty keeps nothing, as the ancestor did.
	NameLabel string `yaml:"name_label,omitempty"`
}

// DefaultOutputConfig holds the default series names.
var DefaultOutputConfig = OutputConfig{
	ForecastSuffix:     "_forecast",
	AnomalyScoreSuffix: "_anomaly_score",
	AnomalySuffix:      "_anomaly",
	ModelLabel:         "model",
	ValueTypeLabel:     "value_type",
	HorizonLabel:       "horizon",
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *OutputConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultOutputConfig
	type plain OutputConfig
	return unmarshal((*plain)(c))
}

// Validate checks that the names form valid metric and label names and
// that the three series kinds cannot be confused.
func (c *OutputConfig) Validate() error {
	// Slices, not maps: with several problems, the error reported must not
	// depend on map iteration order.
	type named struct{ field, value string }
	suffixes := []named{
		{"forecast_suffix", c.ForecastSuffix},
		{"anomaly_score_suffix", c.AnomalyScoreSuffix},
		{"anomaly_suffix", c.AnomalySuffix},
	}
	seen := map[string]string{}
	for _, n := range suffixes {
		field, s := n.field, n.value
		if s == "" {
			return fmt.Errorf("%s must not be empty", field)
		}
		if !model.LegacyValidation.IsValidMetricName("x" + s) {
			return fmt.Errorf("%s %q does not form a valid metric name", field, s)
		}
		if other, dup := seen[s]; dup {
			return fmt.Errorf("%s and %s are both %q", field, other, s)
		}
		seen[s] = field
	}
	labels := []named{
		{"model_label", c.ModelLabel},
		{"value_type_label", c.ValueTypeLabel},
		{"horizon_label", c.HorizonLabel},
	}
	seenL := map[string]string{}
	for _, n := range labels {
		field, l := n.field, n.value
		if !model.LegacyValidation.IsValidLabelName(l) || l == model.MetricNameLabel {
			return fmt.Errorf("%s %q is not a valid label name", field, l)
		}
		if other, dup := seenL[l]; dup {
			return fmt.Errorf("%s and %s are both %q", field, other, l)
		}
		seenL[l] = field
	}
	if len(seenL) != 3 {
		return errors.New("label names must differ")
	}
	return c.validatePreset()
}
