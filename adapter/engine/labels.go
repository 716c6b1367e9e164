package engine

import (
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/models"
)

// RateSuffix is added to the name of a series modelled as a per-second rate
// (transform rate, or auto for a counter) to form the base name of its
// outputs: http_requests_total is forecast as http_requests_total:rate_forecast,
// which compares with rate(http_requests_total[...]). Under the ancestor
// preset, whose names do not carry the input's name, it is added to the
// value of name_label instead.
const RateSuffix = ":rate"

// baseName returns the name the outputs of a series named name modelled
// under tr are built from.
func baseName(name string, tr models.Transform) string {
	if tr == models.TransformRate {
		return name + RateSuffix
	}
	return name
}

// Value types of a forecast series, in the order the engine writes them.
var valueTypes = [3]string{"yhat", "yhat_lower", "yhat_upper"}

// namer builds the label sets of the output series.
type namer struct {
	out      config.OutputConfig
	external labels.Labels
}

func newNamer(out config.OutputConfig, external map[string]string) namer {
	return namer{out: out, external: labels.FromMap(external)}
}

// outputs holds the label sets of every series written for one input
// series, built once per series and reused on every tick.
type outputs struct {
	// forecast[(m*len(horizons)+h)*3+v] for model m, horizon h, value type v.
	forecast []labels.Labels
	score    []labels.Labels // per model
	flag     []labels.Labels // per model
}

// isOutput reports whether lset looks like a series the adapter writes: a
// name with one of the output suffixes and the model label set.
func (n namer) isOutput(lset labels.Labels) bool {
	if n.out.Preset == config.PresetAncestor {
		return strings.HasPrefix(lset.Get(model.MetricNameLabel), config.AncestorPrefix)
	}
	if n.out.ModelLabel == "" || !lset.Has(n.out.ModelLabel) {
		return false
	}
	name := lset.Get(model.MetricNameLabel)
	return strings.HasSuffix(name, n.out.ForecastSuffix) ||
		strings.HasSuffix(name, n.out.AnomalyScoreSuffix) ||
		strings.HasSuffix(name, n.out.AnomalySuffix)
}

func (n namer) build(orig labels.Labels, e *Entry, tr models.Transform) *outputs {
	if n.out.Preset == config.PresetAncestor {
		return n.buildAncestor(orig, e, tr)
	}
	o := &outputs{}
	name := baseName(orig.Get(model.MetricNameLabel), tr)
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, m := range e.Models {
		for hi := range e.Horizons {
			for _, vt := range valueTypes {
				add := []labels.Label{{Name: n.out.ModelLabel, Value: m.Name()}, {Name: n.out.ValueTypeLabel, Value: vt}}
				if e.Horizons[hi] != 0 {
					add = append(add, labels.Label{Name: n.out.HorizonLabel, Value: e.horizonNames[hi]})
				}
				o.forecast = append(o.forecast, n.series(b, orig, name+n.out.ForecastSuffix, add))
			}
		}
		add := []labels.Label{{Name: n.out.ModelLabel, Value: m.Name()}}
		o.score = append(o.score, n.series(b, orig, name+n.out.AnomalyScoreSuffix, add))
		o.flag = append(o.flag, n.series(b, orig, name+n.out.AnomalySuffix, add))
	}
	return o
}

// forecastSeries returns the labels of orig's forecast series of value type
// valueTypes[vt] of the model named modelName at horizon 0, as build names
// it (under either naming scheme) for a series modelled under tr.
func (n namer) forecastSeries(b *labels.Builder, orig labels.Labels, modelName string, vt int, tr models.Transform) labels.Labels {
	name := baseName(orig.Get(model.MetricNameLabel), tr)
	if n.out.Preset == config.PresetAncestor {
		var add []labels.Label
		if n.out.NameLabel != "" {
			add = []labels.Label{{Name: n.out.NameLabel, Value: name}}
		}
		return n.series(b, orig, config.AncestorPrefix+modelName+ancestorSuffixes[vt], add)
	}
	add := []labels.Label{{Name: n.out.ModelLabel, Value: modelName}, {Name: n.out.ValueTypeLabel, Value: valueTypes[vt]}}
	return n.series(b, orig, name+n.out.ForecastSuffix, add)
}

// series returns orig renamed to name with add set. An original label whose
// name collides with an added one is kept as exported_<name> (the same rule
// Prometheus applies to scraped labels without honor_labels). External
// labels are added where the series has no label of that name.
func (n namer) series(b *labels.Builder, orig labels.Labels, name string, add []labels.Label) labels.Labels {
	b.Reset(orig)
	for _, l := range add {
		if v := orig.Get(l.Name); v != "" {
			exported := "exported_" + l.Name
			for orig.Has(exported) {
				exported = "exported_" + exported
			}
			b.Set(exported, v)
		}
		b.Set(l.Name, l.Value)
	}
	b.Set(model.MetricNameLabel, name)
	n.external.Range(func(l labels.Label) {
		if b.Get(l.Name) == "" {
			b.Set(l.Name, l.Value)
		}
	})
	return b.Labels()
}
