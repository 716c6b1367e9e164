package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// maxRows bounds the series listed on the index page.
const maxRows = 200

// modelCell is one model of a series in a table.
type modelCell struct {
	Name, Chosen string
	Fitted       bool
	HasScore     bool
	Score        string
	ScoreAt      string
	Anomaly      bool
	// Learning is "n/N" while the model's anomaly detector warms up.
	Learning string
}

// flagRow explains one anomalous step on the series page.
type flagRow struct {
	Time, Model, Actual, Yhat, Band, Score, Rule string
}

// seriesRow is one series in a table.
type seriesRow struct {
	Ref     uint64
	Labels  string
	Entry   string
	Models  []modelCell
	LastFit string
	Err     string
	Fitting bool
	Stale   bool
	Flags   []flagRow
	anomaly bool
	// Learning, for an unfitted series with less than min_history, says
	// when its first forecast comes, LearningOf how much history it has.
	Learning, LearningOf string
	// Type is the metric type ("counter", ...; "unknown"), TypeFrom where
	// it comes from, Rate whether the series is modelled as its per-second
	// rate, and RateNext, when set, the transform the next fit changes to.
	Type, TypeFrom string
	Rate           bool
	RateNext       string
}

// typeSources explains ring.Series.Type's sources on the status pages.
var typeSources = map[string]string{
	"series": "declared with the series",
	"family": "family metadata",
	"name":   "guessed from the name",
	"":       "no metadata",
}

func newSeriesRow(s engine.SeriesStatus, now time.Time) seriesRow {
	r := seriesRow{
		Ref: s.Ref, Labels: seriesString(s.Labels), Entry: s.Entry,
		LastFit: "never", Err: s.LastFitErr, Fitting: s.Fitting, Stale: s.Stale,
		Type: s.Type.String(), TypeFrom: typeSources[s.TypeSource],
	}
	// An unfitted series shows what its first fit will do.
	tr := s.Transform
	if !s.Fitted {
		tr = s.WantedTransform
	}
	r.Rate = tr == models.TransformRate
	if s.Fitted && s.WantedTransform != s.Transform {
		r.RateNext = s.WantedTransform.String()
	}
	if !s.LastFit.IsZero() {
		r.LastFit = formatAge(now.Sub(s.LastFit)) + " ago"
	}
	if !s.Fitted && s.History < s.MinHistory {
		r.Learning = "learning — first forecast in ~" + formatWait(time.Duration(s.MinHistory-s.History)*time.Millisecond)
		r.LearningOf = formatAge(time.Duration(s.History)*time.Millisecond) + " of min_history " +
			model.Duration(time.Duration(s.MinHistory)*time.Millisecond).String()
	}
	for _, m := range s.Models {
		c := modelCell{Name: m.Name, Chosen: m.Chosen, Fitted: m.Fit != nil}
		if m.Fit != nil && m.Learning() {
			c.Learning = fmt.Sprintf("%d/%d", m.Scored, m.WarmUp)
		}
		if !math.IsNaN(m.Score) {
			c.HasScore = true
			c.Score = formatValue(m.Score)
			c.ScoreAt = time.UnixMilli(m.ScoreT).UTC().Format(time.RFC3339)
			c.Anomaly = m.Anomaly == 1
			r.anomaly = r.anomaly || c.Anomaly
		}
		r.Models = append(r.Models, c)
	}
	for i := len(s.Flags) - 1; i >= 0; i-- { // newest first
		f := s.Flags[i]
		r.Flags = append(r.Flags, flagRow{
			Time: time.UnixMilli(f.T).UTC().Format(time.RFC3339), Model: f.Model,
			Actual: formatValue(f.Actual), Yhat: formatValue(f.Point.Yhat),
			Band:  "[" + formatValue(f.Point.Lower) + ", " + formatValue(f.Point.Upper) + "]",
			Score: formatValue(f.Score), Rule: f.Rule,
		})
	}
	return r
}

// seriesString prints labels the way PromQL shows a series:
// name{label="value", ...}.
func seriesString(ls labels.Labels) string {
	var b strings.Builder
	b.WriteString(ls.Get(model.MetricNameLabel))
	b.WriteByte('{')
	first := true
	ls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(l.Name)
		b.WriteString("=")
		b.WriteString(strconv.Quote(l.Value))
	})
	b.WriteByte('}')
	return b.String()
}

// formatAge prints a duration to the second, or "0s".
func formatAge(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return model.Duration(d.Truncate(time.Second)).String()
}

// formatWait prints a wait rounded up to whole minutes ("3 min"), or to
// hours with minutes past two hours ("2 h 5 min").
func formatWait(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m < 120 {
		return fmt.Sprintf("%d min", max(m, 1))
	}
	if m%60 == 0 {
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// seriesFilter returns the filter for the search q: a series selector when
// q holds a brace, else a case-insensitive substring of the labels.
func seriesFilter(q string) (func(labels.Labels, string) bool, error) {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return func(labels.Labels, string) bool { return true }, nil
	case strings.Contains(q, "{"):
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(q)
		if err != nil {
			return nil, fmt.Errorf("parse selector: %w", err)
		}
		return func(ls labels.Labels, _ string) bool {
			for _, m := range ms {
				if !m.Matches(ls.Get(m.Name)) {
					return false
				}
			}
			return true
		}, nil
	}
	lower := strings.ToLower(q)
	return func(_ labels.Labels, s string) bool { return strings.Contains(strings.ToLower(s), lower) }, nil
}

// Index lists the tracked series the request may see, with search.
func (u *UI) Index(w http.ResponseWriter, r *http.Request) {
	v, ok := u.tenantScoped(w, r)
	if !ok {
		return
	}
	now := u.opts.Now()
	data := struct {
		page
		Buffered, Tracked, Fitted, Learning, Anomalous int
		Query, QueryErr                                string
		AnomalousOnly                                  bool
		Matched, Shown                                 int
		Rows                                           []seriesRow
	}{page: u.page("Series", v), Buffered: u.buffered(v), Query: r.FormValue("q"), AnomalousOnly: r.FormValue("anomalous") != ""}
	filter, err := seriesFilter(data.Query)
	if err != nil {
		data.QueryErr = err.Error()
		filter = func(labels.Labels, string) bool { return false }
	}
	for _, s := range u.src.Engine.Status() {
		lset, ok := v.sees(s.Labels)
		if !ok {
			continue
		}
		s.Labels = lset
		data.Tracked++
		if s.Fitted {
			data.Fitted++
		}
		row := newSeriesRow(s, now)
		if row.Learning != "" {
			data.Learning++
		}
		if row.anomaly {
			data.Anomalous++
		}
		if !filter(s.Labels, row.Labels) || (data.AnomalousOnly && !row.anomaly) {
			continue
		}
		data.Matched++
		if len(data.Rows) < maxRows {
			data.Rows = append(data.Rows, row)
		}
	}
	data.Shown = len(data.Rows)
	u.render(w, "index", data)
}

// buffered counts the buffered series v may see.
func (u *UI) buffered(v viewer) int {
	if v.header == "" {
		return u.src.Buffers.Len()
	}
	n := 0
	u.src.Buffers.Range(func(s *ring.Series) bool {
		if _, ok := v.sees(s.Labels()); ok {
			n++
		}
		return true
	})
	return n
}

// Series shows one series: its models, a chart and the latest output.
// Another tenant's series is not found, as one that does not exist.
func (u *UI) Series(w http.ResponseWriter, r *http.Request) {
	v, ok := u.tenantScoped(w, r)
	if !ok {
		return
	}
	ref, err := strconv.ParseUint(r.FormValue("ref"), 10, 64)
	if err != nil {
		http.Error(w, "parse ref: a series reference from the series list is required", http.StatusBadRequest)
		return
	}
	now := u.opts.Now()
	// The open cell is included: the chart reaches now.
	s, start, vals, ok := u.src.Engine.SeriesHistory(ref, math.MaxInt64)
	if ok {
		s.Labels, ok = v.sees(s.Labels)
	}
	if !ok {
		http.Error(w, "series not found: it may have been removed, or the adapter restarted", http.StatusNotFound)
		return
	}
	data := struct {
		page
		Row       seriesRow
		Step      string
		TrainEnd  string
		Model     int
		ModelName string
		Chart     *chart
		Latest    []latestRow
	}{page: u.page(seriesString(s.Labels), v), Row: newSeriesRow(s, now), Step: model.Duration(time.Duration(s.Step) * time.Millisecond).String(), Model: -1}
	if s.Fitted {
		data.TrainEnd = time.UnixMilli(s.TrainEnd).UTC().Format(time.RFC3339)
	}
	// The model asked for, else the first fitted one.
	if m, err := strconv.Atoi(r.FormValue("model")); err == nil && m >= 0 && m < len(s.Models) {
		data.Model = m
	} else {
		for i, m := range s.Models {
			if m.Fit != nil {
				data.Model = i
				break
			}
		}
	}
	if data.Model >= 0 {
		m := s.Models[data.Model]
		data.ModelName = m.Name
		if m.Chosen != m.Name {
			data.ModelName += " → " + m.Chosen
		}
		data.Chart = buildChart(start, s.Step, vals, m.Fit, chartAhead(s, len(vals)), now.UnixMilli())
	} else {
		data.Chart = buildChart(start, s.Step, vals, nil, 0, now.UnixMilli())
	}
	for _, smp := range s.Latest {
		// The outputs of a series carry its tenant.
		lset, _ := v.sees(smp.Labels)
		data.Latest = append(data.Latest, latestRow{
			Labels: seriesString(lset), Time: time.UnixMilli(smp.T).UTC().Format(time.RFC3339), Value: formatValue(smp.V),
		})
	}
	u.render(w, "series", data)
}

type latestRow struct{ Labels, Time, Value string }

// chartAhead is how many cells of forecast the chart shows past the
// history: the longest horizon, and at least a quarter of the history.
func chartAhead(s engine.SeriesStatus, cells int) int {
	ahead := min(cells, maxChartCells) / 4
	for _, h := range s.Horizons {
		ahead = max(ahead, int(h/s.Step)+1)
	}
	return ahead
}
