package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"go.yaml.in/yaml/v2"
	sigsyaml "sigs.k8s.io/yaml"
)

var (
	rulesFile      = filepath.Join(deployDir, "rules", "alerts.yml")
	rulesTestFile  = filepath.Join(deployDir, "rules", "alerts_test.yml")
	runbookFile    = filepath.Join(deployDir, "rules", "RUNBOOK.md")
	prometheusRule = filepath.Join(deployDir, "kubernetes", "base", "prometheusrule.yaml")
)

// ruleGroups is a rules file, kept in order so that it can be written back.
type ruleGroups struct {
	Groups []struct {
		Name     string          `yaml:"name"`
		Interval string          `yaml:"interval,omitempty"`
		Rules    []yaml.MapSlice `yaml:"rules"`
	} `yaml:"groups"`
}

// get returns the value of key in m, or nil.
func get(m yaml.MapSlice, key string) any {
	for _, it := range m {
		if it.Key == key {
			return it.Value
		}
	}
	return nil
}

// set sets key in m to v (adding it when absent) or, with v nil, removes it.
func set(m yaml.MapSlice, key string, v any) yaml.MapSlice {
	for i, it := range m {
		if it.Key == key {
			if v == nil {
				return append(m[:i:i], m[i+1:]...)
			}
			m[i].Value = v
			return m
		}
	}
	if v == nil {
		return m
	}
	return append(m, yaml.MapItem{Key: key, Value: v})
}

func readRules(t *testing.T) ruleGroups {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var rg ruleGroups
	require.NoError(t, yaml.UnmarshalStrict(raw, &rg))
	require.NotEmpty(t, rg.Groups)
	return rg
}

// promtoolTestRules runs `promtool test rules` on the unit tests with the
// rules in rules (written beside a copy of alerts_test.yml) and returns its
// output and error.
func promtoolTestRules(t *testing.T, promtool string, rules []byte) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	tests, err := os.ReadFile(rulesTestFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts_test.yml"), tests, 0o600))
	return exec.Command(promtool, "test", "rules", filepath.Join(dir, "alerts_test.yml")).CombinedOutput()
}

// TestAlertingRules checks deploy/rules/alerts.yml with promtool (check
// rules, and the unit tests in alerts_test.yml), and that every alert has a
// severity, a summary, a description and a runbook_url whose anchor is a
// section of RUNBOOK.md, and unit tests that expect it to fire and not to.
func TestAlertingRules(t *testing.T) {
	promtool := promtoolBinary(t)
	out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s", out)
	out, err = exec.Command(promtool, "test", "rules", rulesTestFile).CombinedOutput()
	require.NoError(t, err, "promtool test rules:\n%s", out)

	runbook, err := os.ReadFile(runbookFile)
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)$`).FindAllStringSubmatch(string(runbook), -1) {
		anchors[strings.ToLower(m[1])] = true
	}

	raw, err := os.ReadFile(rulesTestFile)
	require.NoError(t, err)
	var unit struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &unit))
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range unit.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}

	alerts := 0
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			name, _ := get(r, "alert").(string)
			require.NotEmpty(t, name, "group %s: a rule that is not an alert: %v", g.Name, r)
			alerts++
			labels, _ := get(r, "labels").(yaml.MapSlice)
			require.Contains(t, []any{"critical", "warning", "info"}, get(labels, "severity"), "%s: severity", name)
			ann, _ := get(r, "annotations").(yaml.MapSlice)
			for _, k := range []string{"summary", "description", "runbook_url"} {
				require.NotEmpty(t, get(ann, k), "%s: annotation %s", name, k)
			}
			url, _ := get(ann, "runbook_url").(string)
			require.True(t, strings.HasSuffix(url, "deploy/rules/RUNBOOK.md#"+strings.ToLower(name)), "%s: runbook_url %s", name, url)
			require.True(t, anchors[strings.ToLower(name)], "%s: RUNBOOK.md has no section \"## %s\"", name, name)
			require.True(t, fires[name], "%s: no unit test expects it to fire", name)
			require.True(t, silent[name], "%s: no unit test expects it not to fire", name)
		}
	}
	require.GreaterOrEqual(t, alerts, 10)
}

// widened are mistakes that make an alert fire where its unit tests say it
// must not: a matcher or guard left out.
var widened = map[string][][2]string{
	"TrainPrometheusAnomaly":           {{`, model="auto"`, ``}},
	"TrainPrometheusDiskFullForecast":  {{`, horizon="6h"`, ``}},
	"TrainPrometheusDown":              {{`{job="train-prometheus"}`, ``}},
	"TrainPrometheusWriteBackStalled":  {{`and train_prometheus_writeback_queue_length > 0`, `or vector(0) > 1`}},
	"TrainPrometheusWriteBackDropping": {{`{reason!="shutdown"}`, ``}},
	"TrainPrometheusFitsFailing":       {{`{result="error"}`, `{result!="success"}`}},
	"TrainPrometheusSeriesRefused":     {{`{reason=~"max_series|memory|error"}`, ``}},
}

// TestAlertingRulesTestsCatchMistakes checks that the unit tests fail when
// an alert is broken: its expression never true, its `for:` hold or its
// keep_firing_for dropped, or a matcher left out (widened).
func TestAlertingRulesTestsCatchMistakes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool about 30 times")
	}
	promtool := promtoolBinary(t)
	type mutation struct {
		name   string
		mutate func(yaml.MapSlice) yaml.MapSlice
	}
	rg := readRules(t)
	for gi, g := range rg.Groups {
		for ri, r := range g.Rules {
			alert := get(r, "alert").(string)
			ms := []mutation{{"expr never true", func(r yaml.MapSlice) yaml.MapSlice { return set(r, "expr", "vector(0) > 1") }}}
			if f, _ := get(r, "for").(string); f != "" && f != "0m" && f != "0s" {
				ms = append(ms, mutation{"no for", func(r yaml.MapSlice) yaml.MapSlice { return set(r, "for", nil) }})
			}
			if get(r, "keep_firing_for") != nil {
				ms = append(ms, mutation{"no keep_firing_for", func(r yaml.MapSlice) yaml.MapSlice { return set(r, "keep_firing_for", nil) }})
			}
			for _, w := range widened[alert] {
				ms = append(ms, mutation{"without " + w[0], func(r yaml.MapSlice) yaml.MapSlice {
					expr := get(r, "expr").(string)
					require.Contains(t, expr, w[0])
					return set(r, "expr", strings.Replace(expr, w[0], w[1], 1))
				}})
			}
			for _, m := range ms {
				t.Run(alert+"/"+m.name, func(t *testing.T) {
					mutated := readRules(t)
					mutated.Groups[gi].Rules[ri] = m.mutate(mutated.Groups[gi].Rules[ri])
					raw, err := yaml.Marshal(mutated)
					require.NoError(t, err)
					out, err := promtoolTestRules(t, promtool, raw)
					require.Error(t, err, "the unit tests pass with %s %s:\n%s", alert, m.name, out)
					require.Contains(t, string(out), alert, "another alert failed:\n%s", out)
				})
			}
		}
	}
	// The unmutated copy passes, so the failures above are the mutations'.
	raw, err := yaml.Marshal(rg)
	require.NoError(t, err)
	out, err := promtoolTestRules(t, promtool, raw)
	require.NoError(t, err, "%s", out)
}

// TestPrometheusRule checks deploy/kubernetes/base/prometheusrule.yaml: its
// spec.groups are the groups of deploy/rules/alerts.yml, it is valid against
// prometheus-operator's schema, and the kustomize patch the README shows
// changes a hold time.
func TestPrometheusRule(t *testing.T) {
	asJSON := func(path string) map[string]any {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		j, err := sigsyaml.YAMLToJSON(raw)
		require.NoError(t, err)
		var v map[string]any
		require.NoError(t, json.Unmarshal(j, &v))
		return v
	}
	plain := asJSON(rulesFile)
	pr := asJSON(prometheusRule)
	spec, _ := pr["spec"].(map[string]any)
	require.Equal(t, plain["groups"], spec["groups"], "spec.groups of %s differ from the groups of %s: copy them", prometheusRule, rulesFile)

	raw, err := os.ReadFile(prometheusRule)
	require.NoError(t, err)
	v := newValidator(t)
	res := v.ValidateResource(resource.Resource{Path: prometheusRule, Bytes: raw})
	require.Equal(t, validator.Valid, res.Status, "%v", res.Err)
	bad := strings.Replace(string(raw), "keep_firing_for:", "keep_firing:", 1)
	res = v.ValidateResource(resource.Resource{Path: prometheusRule, Bytes: []byte(bad)})
	require.NotEqual(t, validator.Valid, res.Status, "a misspelt field passes the schema")

	// The README's patch, on the base as an operator would apply it.
	root, err := filepath.Abs(filepath.Join(deployDir, ".."))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".cache"), 0o755))
	dir, err := os.MkdirTemp(filepath.Join(root, ".cache"), "prometheusrule_test")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\n(# kustomization.yaml: hold times\n.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README: no kustomization with the hold-time patch")
	kust := string(m[1])
	require.Contains(t, kust, "- ../../deploy/kubernetes/base", "README's example names the base from two levels down")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o600))
	found := false
	for _, doc := range kustomize(t, dir) {
		var r struct {
			Kind string `json:"kind"`
			Spec struct {
				Groups []struct {
					Rules []map[string]any `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
		}
		require.NoError(t, sigsyaml.Unmarshal(doc, &r))
		if r.Kind != "PrometheusRule" {
			continue
		}
		res := v.ValidateResource(resource.Resource{Path: "patched", Bytes: doc})
		require.Equal(t, validator.Valid, res.Status, "%v", res.Err)
		first := r.Spec.Groups[0].Rules[0]
		require.Equal(t, "TrainPrometheusAnomaly", first["alert"])
		require.Equal(t, "2m", first["for"])
		require.Equal(t, "1h", first["keep_firing_for"])
		found = true
	}
	require.True(t, found, "no PrometheusRule in the base")
}

// promtoolBinary returns Prometheus' promtool (Debian's prometheus package,
// which .ci/install-prometheus.sh installs, has it beside prometheus),
// skipping the test without it and failing under CI. (The root module's
// TestDeployExamples has its twin: the modules share no test code.)
func promtoolBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if bin := os.Getenv("PROMETHEUS_BINARY"); bin != "" {
		if p, err := exec.LookPath(filepath.Join(filepath.Dir(bin), "promtool")); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("promtool not found on PATH: CI installs it with Prometheus (.ci/install-prometheus.sh)")
	}
	t.Skip("promtool not found on PATH; install Prometheus (.ci/install-prometheus.sh) to check the alerting rules")
	return ""
}

// TestHelmChartCarriesTheRules: the chart's copy of the alerting rules
// (charts cannot read files outside themselves) is the rules file.
func TestHelmChartCarriesTheRules(t *testing.T) {
	want, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(deployDir, "helm", "train-prometheus", "files", "alerts.yml"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "copy deploy/rules/alerts.yml to deploy/helm/train-prometheus/files/alerts.yml")
}
