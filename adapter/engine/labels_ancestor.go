package engine

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/models"
)

// ancestorSuffixes are the name suffixes of the value types under the
// ancestor preset, in valueTypes order.
var ancestorSuffixes = [3]string{"", "_yhat_lower", "_yhat_upper"}

// buildAncestor names the outputs as config.PresetAncestor describes:
// predicted_values_<model>[_yhat_lower|_yhat_upper] with the input's labels
// less its name (kept in NameLabel if set, with RateSuffix for a series
// modelled as a rate), the horizon label for non-zero horizons, and the
// external labels.
func (n namer) buildAncestor(orig labels.Labels, e *Entry, tr models.Transform) *outputs {
	o := &outputs{}
	b := labels.NewBuilder(labels.EmptyLabels())
	var keepName []labels.Label
	if n.out.NameLabel != "" {
		keepName = []labels.Label{{Name: n.out.NameLabel, Value: baseName(orig.Get(model.MetricNameLabel), tr)}}
	}
	for _, m := range e.Models {
		base := config.AncestorPrefix + m.Name()
		for hi := range e.Horizons {
			for vi := range valueTypes {
				add := keepName
				if e.Horizons[hi] != 0 {
					add = append(append([]labels.Label(nil), keepName...), labels.Label{Name: n.out.HorizonLabel, Value: e.horizonNames[hi]})
				}
				o.forecast = append(o.forecast, n.series(b, orig, base+ancestorSuffixes[vi], add))
			}
		}
		o.score = append(o.score, n.series(b, orig, base+"_anomaly_score", keepName))
		o.flag = append(o.flag, n.series(b, orig, base+"_anomaly", keepName))
	}
	return o
}
