package adapter

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// TestAlertingRulesMetrics checks that every expression of
// deploy/rules/alerts.yml parses with the PromQL parser this module builds
// with, and that every
// train_prometheus_* metric the rules read is one the adapter registers,
// with the labels the rules match and aggregate on; the output series they
// read use the default output names and labels. promtool's checks and unit
// tests are in cmd/train-prometheus (TestAlertingRules).
func TestAlertingRulesMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/rules/alerts.yml")
	require.NoError(t, err)
	var groups struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &groups))
	require.NotEmpty(t, groups.Groups)
	p := parser.NewParser(parser.Options{})

	rec := &recordingRegisterer{reg: prometheus.NewRegistry(), names: map[string]bool{}, labels: map[string][]string{}}
	a := New(nil, rec, Options{})
	t.Cleanup(a.Stop)
	// Collectors that describe themselves only when a component exists.
	require.True(t, rec.names["train_prometheus_received_highest_timestamp_seconds"], "recorder sees the receiver's metrics")
	// Labels every scraped series has.
	target := []string{"job", "instance"}

	out := config.DefaultOutputConfig
	outputLabels := []string{out.ModelLabel, out.ValueTypeLabel, out.HorizonLabel}
	used := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			expr, err := p.ParseExpr(r.Expr)
			require.NoError(t, err, r.Alert)
			parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
				// Labels the enclosing aggregations and matchings name.
				var aggregated []string
				for _, a := range path {
					switch a := a.(type) {
					case *parser.AggregateExpr:
						aggregated = append(aggregated, a.Grouping...)
					case *parser.BinaryExpr:
						if a.VectorMatching != nil {
							aggregated = append(aggregated, a.VectorMatching.MatchingLabels...)
						}
					}
				}
				if n, ok := n.(*parser.VectorSelector); ok {
					name := n.Name
					switch {
					case strings.HasPrefix(name, "train_prometheus_"):
						require.True(t, rec.names[name], "%s: %s is not a metric of the adapter", r.Alert, name)
						used[name] = true
						for _, m := range n.LabelMatchers {
							if m.Name != model.MetricNameLabel {
								require.Contains(t, rec.labels[name], m.Name, "%s: %s has no label %s", r.Alert, name, m.Name)
							}
						}
						for _, l := range aggregated {
							require.True(t, slices.Contains(rec.labels[name], l) || slices.Contains(target, l), "%s: %s has no label %s", r.Alert, name, l)
						}
					case name == "up" || strings.HasPrefix(name, "node_filesystem_"):
						// Prometheus' own, and the capacity example's input.
						if strings.HasSuffix(name, out.ForecastSuffix) {
							for _, m := range n.LabelMatchers {
								require.True(t, m.Name == model.MetricNameLabel || slices.Contains(outputLabels, m.Name), "%s: label %s", r.Alert, m.Name)
							}
						}
					case name == "":
						// The flags, selected by name suffix.
						var suffix bool
						for _, m := range n.LabelMatchers {
							if m.Name == model.MetricNameLabel {
								suffix = strings.HasSuffix(m.Value, out.AnomalySuffix)
							} else {
								require.Contains(t, outputLabels, m.Name, "%s", r.Alert)
							}
						}
						require.True(t, suffix, "%s: a selector without a name reads the anomaly flags", r.Alert)
					default:
						t.Errorf("%s: %s is neither the adapter's nor an example's", r.Alert, name)
					}
				}
				return nil
			})
		}
	}
	for _, m := range []string{"train_prometheus_writeback_samples_failed_total", "train_prometheus_writeback_samples_dropped_total",
		"train_prometheus_engine_fits_total", "train_prometheus_received_highest_timestamp_seconds",
		"train_prometheus_writeback_queue_highest_sent_timestamp_seconds", "train_prometheus_config_last_reload_successful"} {
		require.True(t, used[m], "no rule reads %s", m)
	}
}
