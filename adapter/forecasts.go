package adapter

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"google.golang.org/protobuf/proto"

	"github.com/train-prometheus/train-prometheus/adapter/writeback"
)

// serveForecasts writes the samples of the latest evaluation in the
// exposition format the scraper asked for, the way the Python ancestor served
// its predicted_values_* gauges. Values carry no timestamp: a scrape stamps
// them with its own time, as it did for the ancestor.
func (a *Adapter) serveForecasts(w http.ResponseWriter, r *http.Request) {
	families := map[string]*dto.MetricFamily{}
	a.engine.Latest(func(s writeback.Sample) {
		if value.IsStaleNaN(s.V) {
			return
		}
		name := s.Labels.Get(labels.MetricName)
		mf := families[name]
		if mf == nil {
			mf = &dto.MetricFamily{
				Name: proto.String(name),
				Help: proto.String("Output of train-prometheus for the series it models."),
				Type: dto.MetricType_GAUGE.Enum(),
			}
			families[name] = mf
		}
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(s.V)}}
		s.Labels.Range(func(l labels.Label) {
			if l.Name != labels.MetricName {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
			}
		})
		mf.Metric = append(mf.Metric, m)
	})
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	slices.Sort(names)

	// expfmt.Negotiate never picks OpenMetrics; offer it, preferred as
	// promhttp prefers it with EnableOpenMetrics.
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, n := range names {
		mf := families[n]
		slices.SortFunc(mf.Metric, func(x, y *dto.Metric) int { return compareLabelPairs(x.Label, y.Label) })
		if err := enc.Encode(mf); err != nil {
			level.Warn(a.logger).Log("msg", "Writing /forecasts failed", "err", err)
			return
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		_ = c.Close()
	}
}

func compareLabelPairs(x, y []*dto.LabelPair) int {
	for i := range min(len(x), len(y)) {
		if c := strings.Compare(x[i].GetName(), y[i].GetName()); c != 0 {
			return c
		}
		if c := strings.Compare(x[i].GetValue(), y[i].GetValue()); c != 0 {
			return c
		}
	}
	return len(x) - len(y)
}
