package config

import (
	"fmt"

	"github.com/prometheus/common/model"
)

// PresetAncestor names the output series as the Python ancestor
// (Train-Prometheus) named its gauges, for dashboards built on them: a
// forecast of model M is
//
//	predicted_values_M{<input labels without __name__>}              yhat
//	predicted_values_M_yhat_upper{...}, predicted_values_M_yhat_lower{...}
//
// e.g. predicted_values_prophet and predicted_values_fourier. Anomaly
// series, which the ancestor did not have, are predicted_values_M_anomaly_score
// and predicted_values_M_anomaly. Horizons other than 0s keep the horizon
// label. The input's name is dropped, as the ancestor (one metric per
// process) dropped it, unless name_label names a label to keep it in: set
// it when several selected metrics share label sets, or their outputs
// collide.
const PresetAncestor = "ancestor"

// AncestorPrefix starts the name of every series the ancestor preset writes.
const AncestorPrefix = "predicted_values_"

func (c *OutputConfig) validatePreset() error {
	switch c.Preset {
	case "", PresetAncestor:
	default:
		return fmt.Errorf("preset %q is unknown (known: %q)", c.Preset, PresetAncestor)
	}
	if c.NameLabel == "" {
		return nil
	}
	if c.Preset == "" {
		return fmt.Errorf("name_label %q is only used with a preset", c.NameLabel)
	}
	if !model.LegacyValidation.IsValidLabelName(c.NameLabel) || c.NameLabel == model.MetricNameLabel {
		return fmt.Errorf("name_label %q is not a valid label name", c.NameLabel)
	}
	if c.NameLabel == c.HorizonLabel {
		return fmt.Errorf("name_label and horizon_label are both %q", c.NameLabel)
	}
	return nil
}
