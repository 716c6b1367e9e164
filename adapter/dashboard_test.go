package adapter

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// recordingRegisterer registers on a registry and remembers the names of
// the metrics registered and, when labels is not nil, their variable labels.
type recordingRegisterer struct {
	reg    *prometheus.Registry
	names  map[string]bool
	labels map[string][]string
}

var (
	fqName         = regexp.MustCompile(`fqName: "([^"]+)"`)
	variableLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
)

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
			if l := variableLabels.FindStringSubmatch(d.String()); l != nil && r.labels != nil && l[1] != "" {
				r.labels[m[1]] = strings.Split(l[1], ",")
			}
		}
	}
	return r.reg.Register(c)
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recordingRegisterer) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// TestGrafanaDashboard checks deploy/grafana/train-prometheus.json: it
// parses, every query is valid PromQL once the dashboard's variables are
// filled in, every train_prometheus_* metric it reads is one the adapter
// registers, and the forecast queries use the default output names.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/train-prometheus.json")
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Annotations struct {
			List []struct {
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.Equal(t, "train-prometheus", dash.Title)

	rec := &recordingRegisterer{reg: prometheus.NewRegistry(), names: map[string]bool{}}
	a := New(nil, rec, Options{})
	t.Cleanup(a.Stop)
	// Registered by the command beside the adapter's own.
	rec.names["train_prometheus_build_info"] = true
	require.True(t, rec.names["train_prometheus_engine_fits_total"], "recorder sees the engine's metrics: %v", rec.names)

	var exprs []string
	for _, p := range dash.Panels {
		if p.Type != "row" {
			require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, an := range dash.Annotations.List {
		exprs = append(exprs, an.Expr)
	}
	require.GreaterOrEqual(t, len(exprs), 15)

	out := config.DefaultOutputConfig
	outputNames := map[string]bool{"node_load1": true}
	for _, s := range []string{out.ForecastSuffix, out.AnomalyScoreSuffix, out.AnomalySuffix} {
		outputNames["node_load1"+s] = true
	}
	outputLabels := map[string]bool{model.MetricNameLabel: true, out.ModelLabel: true, out.ValueTypeLabel: true, out.HorizonLabel: true, "instance": true}
	used := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	for _, e := range exprs {
		for _, selector := range []string{"", `instance="host:9100"`} {
			q := strings.NewReplacer("${metric}", "node_load1", "$model", "fourier", "${selector}", selector, "$job", "train-prometheus").Replace(e)
			require.NotContains(t, q, "$", "unfilled variable in %s", e)
			expr, err := p.ParseExpr(q)
			require.NoError(t, err, "query %s", q)
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				name := vs.Name
				switch {
				case strings.HasPrefix(name, "train_prometheus_"):
					base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
					require.True(t, rec.names[base], "%s in %q is not a metric of the adapter", name, e)
					used[base] = true
				case strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_"):
				default:
					require.True(t, outputNames[name], "%s in %q is neither an input nor a default output name", name, e)
					for _, m := range vs.LabelMatchers {
						require.True(t, outputLabels[m.Name], "label %s in %q", m.Name, e)
					}
				}
				return nil
			})
		}
	}
	for _, m := range []string{"train_prometheus_received_samples_total", "train_prometheus_dropped_samples_total", "train_prometheus_engine_fits_total", "train_prometheus_writeback_queue_length"} {
		require.True(t, used[m], "the dashboard does not show %s", m)
	}
}
