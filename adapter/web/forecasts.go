package web

import (
	"bufio"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// Forecasts writes the samples of the latest evaluation as gauges, the
// way the Python ancestor served its predicted_values_* gauges: the text
// format, or OpenMetrics when the scraper asks for it. Values carry no
// timestamp: a scrape stamps them with its own time, as it did for the
// ancestor.
//
// The page can hold millions of lines, so it is written as a stream from the
// samples themselves (sorted by name, then labels) rather than built as
// client_model structures first: memory stays near the size of the sample
// list. Names that the classic formats cannot carry (UTF-8 beyond the
// legacy character set) are left out.
//
// With tenancy on, the page holds only the outputs of the request's tenant
// (see viewer), without the tenant label.
func (u *UI) Forecasts(w http.ResponseWriter, r *http.Request) {
	v, ok := u.tenantScoped(w, r)
	if !ok {
		return
	}
	var samples []output.Sample
	u.src.Engine.Latest(func(s output.Sample) {
		lset, ok := v.sees(s.Labels)
		if ok && !value.IsStaleNaN(s.V) && legacyNames(lset) {
			s.Labels = lset
			samples = append(samples, s)
		}
	})
	// By name first: label names that sort before __name__ (upper case)
	// must not split a family.
	slices.SortFunc(samples, func(x, y output.Sample) int {
		if c := strings.Compare(x.Labels.Get(model.MetricNameLabel), y.Labels.Get(model.MetricNameLabel)); c != 0 {
			return c
		}
		return labels.Compare(x.Labels, y.Labels)
	})

	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	openMetrics := format.FormatType() == expfmt.TypeOpenMetrics
	if !openMetrics {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	w.Header().Set("Content-Type", string(format))
	bw := bufio.NewWriterSize(w, 64<<10)
	var out config.OutputConfig
	if cfg := u.src.Settings.Config(); cfg != nil {
		out = cfg.Output
	}
	var line []byte
	family := ""
	for _, s := range samples {
		name := s.Labels.Get(model.MetricNameLabel)
		if name != family {
			// Every output is a gauge, whatever the type of its input:
			// a forecast of a counter is a forecast of its rate.
			family = name
			line = append(line[:0], "# HELP "...)
			line = append(line, name...)
			if rateOutput(name, out) {
				line = append(line, " Output of train-prometheus for the per-second rate of the counter it models.\n# TYPE "...)
			} else {
				line = append(line, " Output of train-prometheus for the series it models.\n# TYPE "...)
			}
			line = append(line, name...)
			line = append(line, " gauge\n"...)
			_, _ = bw.Write(line)
		}
		line = appendSample(line[:0], name, s.Labels, s.V)
		if _, err := bw.Write(line); err != nil {
			level.Debug(u.logger).Log("msg", "Writing /forecasts failed", "err", err)
			return
		}
	}
	if openMetrics {
		_, _ = bw.WriteString("# EOF\n")
	}
	if err := bw.Flush(); err != nil {
		level.Debug(u.logger).Log("msg", "Writing /forecasts failed", "err", err)
	}
}

// rateOutput reports whether name is the name of an output of a series
// modelled as a rate: <input>:rate followed by an output suffix.
func rateOutput(name string, out config.OutputConfig) bool {
	for _, suf := range []string{out.ForecastSuffix, out.AnomalyScoreSuffix, out.AnomalySuffix} {
		if base, ok := strings.CutSuffix(name, suf); ok && suf != "" && strings.HasSuffix(base, engine.RateSuffix) {
			return true
		}
	}
	return false
}

// appendSample appends `name{l="v",...} value` and a newline.
func appendSample(b []byte, name string, ls labels.Labels, v float64) []byte {
	b = append(b, name...)
	first := true
	ls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if first {
			b = append(b, '{')
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, '=', '"')
		b = appendEscaped(b, l.Value)
		b = append(b, '"')
	})
	if !first {
		b = append(b, '}')
	}
	b = append(b, ' ')
	switch {
	case math.IsInf(v, 1):
		b = append(b, "+Inf"...)
	case math.IsInf(v, -1):
		b = append(b, "-Inf"...)
	case math.IsNaN(v):
		b = append(b, "NaN"...)
	default:
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '\n')
}

// labelValueEscaper escapes label values for both exposition formats.
var labelValueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func appendEscaped(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	return append(b, labelValueEscaper.Replace(s)...)
}

// legacyNames reports whether the metric and label names of ls fit the
// classic exposition formats.
func legacyNames(ls labels.Labels) bool {
	ok := model.LegacyValidation.IsValidMetricName(ls.Get(model.MetricNameLabel))
	ls.Range(func(l labels.Label) {
		ok = ok && model.LegacyValidation.IsValidLabelName(l.Name)
	})
	return ok
}
