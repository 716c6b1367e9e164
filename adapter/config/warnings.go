package config

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// Warnings returns what is valid in c but most likely not what its author
// wants: a configuration that selects nothing or writes nowhere, and, under
// output.preset ancestor without name_label, entries that may select
// several metrics whose outputs would then share one name and label set.
// `check config` prints them and serve logs them at every load.
func (c *Config) Warnings() []string {
	var ws []string
	if len(c.Forecasts) == 0 {
		ws = append(ws, "no forecasts entries: no series is selected, every sample received is dropped")
	}
	if len(c.RemoteWrite) == 0 {
		ws = append(ws, "no remote_write targets: forecasts and anomaly signals are written nowhere (only served on /forecasts and by remote read)")
	}
	if c.Output.Preset == PresetAncestor && c.Output.NameLabel == "" {
		names := map[string]bool{}
		for _, fc := range c.Forecasts {
			for i, sel := range fc.Matchers {
				name, ok := singleName(sel)
				if !ok {
					ws = append(ws, fmt.Sprintf("forecasts %q match[%d] %q may select several metrics: under output.preset ancestor their outputs drop the metric name, so two metrics with one label set would write the same predicted_values_* series; set output.name_label", fc.Name, i, fc.Match[i]))
					continue
				}
				names[name] = true
			}
		}
		if len(names) > 1 {
			ws = append(ws, fmt.Sprintf("the forecasts entries select %d metric names: under output.preset ancestor their outputs drop the metric name, so two of them with one label set would write the same predicted_values_* series; set output.name_label", len(names)))
		}
	}
	return ws
}

// singleName returns the one metric name a selector can select, when its
// __name__ matcher is an equality.
func singleName(sel []*labels.Matcher) (string, bool) {
	for _, m := range sel {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value, true
		}
	}
	return "", false
}
