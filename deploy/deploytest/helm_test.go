package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	sigsyaml "sigs.k8s.io/yaml"
)

// chartDir is the Helm chart's directory.
var chartDir = filepath.Join(deployDir, "helm", "train-prometheus")

// schemaKinds are the kinds deploy/schemas has a schema for. The chart may
// render only these: kubeconform fails an object without a schema anyway,
// and this says which file to add (deploy/schemas/generate.go) when a
// template adds a kind.
var schemaKinds = []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor", "StatefulSet"}

// renderChart renders the chart as `helm install --dry-run` would for a
// release named release with vals given by the user (validated against the
// chart's values.schema.json), and returns its documents, NOTES.txt left out.
func renderChart(t *testing.T, release string, vals map[string]any) ([][]byte, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	require.NoError(t, err)
	top, err := util.ToRenderValues(chrt, vals, common.ReleaseOptions{Name: release, Namespace: "monitoring", IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	out, err := engine.Render(chrt, top)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	var docs [][]byte
	for _, name := range names {
		if strings.HasSuffix(name, "/NOTES.txt") {
			continue
		}
		require.True(t, strings.HasSuffix(name, ".yaml"), "template %s: only .yaml templates render manifests", name)
		for doc := range strings.SplitSeq(out[name], "\n---") {
			var v any
			require.NoError(t, sigsyaml.Unmarshal([]byte(doc), &v), "%s:\n%s", name, doc)
			if v != nil { // a template switched off renders nothing
				docs = append(docs, []byte(doc))
			}
		}
	}
	return docs, nil
}

// chartValues parses a values file given as YAML.
func chartValues(t *testing.T, y string) map[string]any {
	t.Helper()
	v, err := common.ReadValues([]byte(y))
	require.NoError(t, err)
	return v
}

// validateAll validates each document with kubeconform, requires its kind to
// be one deploy/schemas has, and returns them parsed.
func validateAll(t *testing.T, v validator.Validator, docs [][]byte) []object {
	t.Helper()
	objs := parseObjects(t, docs)
	for i, doc := range docs {
		require.Contains(t, schemaKinds, objs[i].kind(), "a kind without a schema in deploy/schemas: add it to deploy/schemas/generate.go")
		res := v.ValidateResource(resource.Resource{Path: "chart", Bytes: doc})
		require.Equal(t, validator.Valid, res.Status, "%v\n%s", res.Err, doc)
	}
	return objs
}

// TestHelmChart renders deploy/helm/train-prometheus with Helm's library for
// a few value sets, validates every object with kubeconform against
// deploy/schemas (strict), checks the objects' wiring, the pod's security,
// and the adapter container as TestDeployManifests does (its args through
// the binary's flag parser, `check config` on the rendered ConfigMap).
func TestHelmChart(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		name      string
		release   string
		values    string
		openshift bool
		kinds     []string
		check     func(t *testing.T, objs []object)
	}{
		{
			name:    "defaults",
			release: "train-prometheus",
			kinds:   []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				args := adapterArgs(t, objs)
				require.NotContains(t, strings.Join(args, " "), "--shard.")
			},
		},
		{
			name:    "sharded",
			release: "forecasts",
			values:  "replicaCount: 3\n",
			kinds:   []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				set := find(objs, "StatefulSet", "forecasts-train-prometheus")
				require.NotNil(t, set)
				require.EqualValues(t, 3, set.at("spec", "replicas"))
				// The index comes from the pod name's ordinal: never a fixed one.
				require.Equal(t, []string{"--shard.total=3", "--shard.by=job,instance"}, shardArgs(adapterArgs(t, objs)))
			},
		},
		{
			name:    "sharded by all labels",
			release: "tp",
			values:  "replicaCount: 2\nsharding: {by: ''}\n",
			kinds:   []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				require.Equal(t, []string{"--shard.total=2"}, shardArgs(adapterArgs(t, objs)))
			},
		},
		{
			name:    "service monitor",
			release: "train-prometheus",
			values:  "serviceMonitor: {enabled: true, interval: 1m, labels: {release: k8s}}\n",
			kinds:   []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				sm := find(objs, "ServiceMonitor", "train-prometheus")
				require.Equal(t, "k8s", sm.stringMap("metadata", "labels")["release"])
				require.Equal(t, "1m", sm.at("spec", "endpoints", 0, "interval"))
			},
		},
		{
			name:      "openshift",
			release:   "train-prometheus",
			values:    "podSecurityContext: {runAsUser: null, runAsGroup: null, fsGroup: null}\n",
			openshift: true,
			kinds:     []string{"ConfigMap", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				// The rest of the restricted settings stay.
				sc := find(objs, "StatefulSet", "train-prometheus").at("spec", "template", "spec", "securityContext")
				require.Equal(t, map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}, sc)
			},
		},
		{
			name:    "custom config and placement",
			release: "train-prometheus",
			values: `
image: {repository: registry.example.com/team/train-prometheus, tag: v1.2.3}
config:
  global: {step: 30s, window: 12h}
  forecasts:
    - name: requests
      match: ['{__name__="http_requests_total"}']
  remote_write:
    - url: http://mimir.mimir.svc:8080/api/v1/push
      name: mimir
      headers: {X-Scope-OrgID: team}
  limits: null
extraArgs: [--log.level=debug]
extraEnv: [{name: TZ, value: UTC}]
persistence: {enabled: false}
serviceAccount: {create: false, name: forecaster}
podDisruptionBudget: {enabled: false}
nodeSelector: {kubernetes.io/arch: arm64}
tolerations: [{key: dedicated, operator: Equal, value: monitoring, effect: NoSchedule}]
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector: {matchLabels: {app.kubernetes.io/name: train-prometheus}}
`,
			kinds: []string{"ConfigMap", "Service", "StatefulSet"},
			check: func(t *testing.T, objs []object) {
				set := find(objs, "StatefulSet", "train-prometheus")
				require.Equal(t, "registry.example.com/team/train-prometheus:v1.2.3", set.at("spec", "template", "spec", "containers", 0, "image"))
				require.Equal(t, "forecaster", set.at("spec", "template", "spec", "serviceAccountName"))
				require.Equal(t, "arm64", set.stringMap("spec", "template", "spec", "nodeSelector")["kubernetes.io/arch"])
				require.Equal(t, "dedicated", set.at("spec", "template", "spec", "tolerations", 0, "key"))
				require.NotNil(t, set.at("spec", "template", "spec", "affinity", "podAntiAffinity"))
				require.Nil(t, set.at("spec", "volumeClaimTemplates"))
				require.Equal(t, map[string]any{"name": "data", "emptyDir": map[string]any{}}, set.at("spec", "template", "spec", "volumes", 1))
				args := adapterArgs(t, objs)
				require.Equal(t, "--log.level=debug", args[len(args)-1])
				// Maps merge into the defaults, lists replace them, null drops.
				cfg := renderedConfig(t, objs)
				require.Equal(t, "30s", cfg.at("global", "step"))
				require.Equal(t, "15m", cfg.at("global", "retrain_interval"), "kept from the defaults")
				require.Equal(t, "requests", cfg.at("forecasts", 0, "name"))
				require.Nil(t, cfg.at("forecasts", 1))
				require.Equal(t, "mimir", cfg.at("remote_write", 0, "name"))
				require.NotContains(t, cfg, "limits")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := renderChart(t, tc.release, chartValues(t, tc.values))
			require.NoError(t, err)
			objs := validateAll(t, v, docs)
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.kind())
			}
			slices.Sort(kinds)
			require.Equal(t, tc.kinds, kinds)
			checkWiring(t, objs)
			checkAdapterManifests(t, docs, tc.openshift)
			tc.check(t, objs)
		})
	}
}

// checkAdapterManifests runs checkRestricted and checkAdapterContainer on
// every StatefulSet of docs, as TestDeployManifests does.
func checkAdapterManifests(t *testing.T, docs [][]byte, openshift bool) {
	t.Helper()
	configMaps := map[string]map[string]string{}
	var sets []manifest
	for _, doc := range docs {
		var m manifest
		require.NoError(t, sigsyaml.Unmarshal(doc, &m))
		switch m.Kind {
		case "ConfigMap":
			configMaps[m.Metadata.Name] = m.Data
		case "StatefulSet":
			sets = append(sets, m)
		}
	}
	require.Len(t, sets, 1)
	pod := sets[0].Spec.Template.Spec
	checkRestricted(t, pod, openshift)
	require.Len(t, pod.Containers, 1)
	checkAdapterContainer(t, pod.Containers[0], pod, configMaps)
}

// adapterArgs returns the args of the only StatefulSet's first container.
func adapterArgs(t *testing.T, objs []object) []string {
	t.Helper()
	for _, o := range objs {
		if o.kind() == "StatefulSet" {
			var args []string
			for _, a := range o.at("spec", "template", "spec", "containers", 0, "args").([]any) {
				args = append(args, a.(string))
			}
			return args
		}
	}
	t.Fatal("no StatefulSet")
	return nil
}

// shardArgs returns the --shard.* flags of args.
func shardArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "--shard.") {
			out = append(out, a)
		}
	}
	return out
}

// renderedConfig returns the adapter's configuration of the only ConfigMap.
func renderedConfig(t *testing.T, objs []object) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == "ConfigMap" {
			var cfg object
			require.NoError(t, sigsyaml.Unmarshal([]byte(o.stringMap("data")["train-prometheus.yml"]), &cfg))
			return cfg
		}
	}
	t.Fatal("no ConfigMap")
	return nil
}

// TestHelmChartMatchesKustomize holds the chart's defaults to the kustomize
// base, and its replicaCount 3 to the sharded overlay, wherever the two
// must agree: the container (args, ports, probes, env, resources, security
// context, volume mounts), the pod (security context, service account,
// volumes), the StatefulSet (governing Service, replicas, pod management,
// volume claim), the headless Service's ports, the PodDisruptionBudget, the
// ServiceMonitor's endpoints, and the adapter's configuration itself. Names
// agree for a release named train-prometheus; labels differ (the chart
// selects on name and instance, Helm's convention), and the ConfigMap has
// no hash suffix (a checksum annotation rolls the pods instead).
func TestHelmChartMatchesKustomize(t *testing.T) {
	for _, tc := range []struct{ name, overlay, values string }{
		{"base", "kubernetes/base", "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\n"},
		{"sharded", "kubernetes/overlays/sharded", "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\nreplicaCount: 3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kust := parseObjects(t, kustomize(t, filepath.Join(deployDir, tc.overlay)))
			docs, err := renderChart(t, "train-prometheus", chartValues(t, tc.values))
			require.NoError(t, err)
			chart := parseObjects(t, docs)
			require.Len(t, chart, len(kust))

			same := func(kind string, paths ...[]any) {
				t.Helper()
				k, c := find(kust, kind, "train-prometheus"), find(chart, kind, "train-prometheus")
				require.NotNil(t, k, "kustomize: no %s", kind)
				require.NotNil(t, c, "chart: no %s", kind)
				for _, p := range paths {
					require.Equal(t, k.at(p...), c.at(p...), "%s %v", kind, p)
				}
			}
			pod, ctr := []any{"spec", "template", "spec"}, []any{"spec", "template", "spec", "containers", 0}
			at := func(base []any, p ...any) []any { return append(slices.Clone(base), p...) }
			same("StatefulSet",
				[]any{"spec", "serviceName"}, []any{"spec", "replicas"}, []any{"spec", "podManagementPolicy"},
				at(pod, "securityContext"), at(pod, "serviceAccountName"), at(pod, "automountServiceAccountToken"),
				at(pod, "terminationGracePeriodSeconds"), at(pod, "hostNetwork"),
				at(ctr, "name"), at(ctr, "image"), at(ctr, "args"), at(ctr, "ports"), at(ctr, "env"), at(ctr, "resources"),
				at(ctr, "livenessProbe"), at(ctr, "readinessProbe"), at(ctr, "startupProbe"),
				at(ctr, "securityContext"), at(ctr, "volumeMounts"),
				[]any{"spec", "volumeClaimTemplates", 0, "metadata", "name"}, []any{"spec", "volumeClaimTemplates", 0, "spec"},
			)
			require.Len(t, find(chart, "StatefulSet", "train-prometheus").at("spec", "template", "spec", "containers").([]any), 1)
			same("Service", []any{"spec", "clusterIP"}, []any{"spec", "ports"})
			same("ServiceAccount", []any{"automountServiceAccountToken"})
			same("PodDisruptionBudget", []any{"spec", "maxUnavailable"}, []any{"spec", "minAvailable"})
			same("ServiceMonitor", []any{"spec", "endpoints"})
			same("PrometheusRule", []any{"spec", "groups"})

			// The volumes, but for the ConfigMap's hash suffix.
			kVols := find(kust, "StatefulSet", "train-prometheus").at(at(pod, "volumes")...).([]any)
			cVols := find(chart, "StatefulSet", "train-prometheus").at(at(pod, "volumes")...).([]any)
			require.Len(t, cVols, len(kVols))
			kcm := object(kVols[0].(map[string]any)).at("configMap", "name").(string)
			require.Regexp(t, regexp.MustCompile(`^train-prometheus-[a-z0-9]+$`), kcm)
			kVols[0].(map[string]any)["configMap"].(map[string]any)["name"] = "train-prometheus"
			require.Equal(t, kVols, cVols)

			// The same configuration, parsed.
			var kcfg object
			for _, o := range kust {
				if o.kind() == "ConfigMap" {
					require.NoError(t, sigsyaml.Unmarshal([]byte(o.stringMap("data")["train-prometheus.yml"]), &kcfg))
				}
			}
			require.NotNil(t, kcfg)
			require.Equal(t, kcfg, renderedConfig(t, chart))
		})
	}
}

// TestHelmChartConfigChecksum: a change of the configuration changes the
// pods' checksum annotation (so the StatefulSet rolls them), and nothing
// else does.
func TestHelmChartConfigChecksum(t *testing.T) {
	checksum := func(values string) string {
		docs, err := renderChart(t, "train-prometheus", chartValues(t, values))
		require.NoError(t, err)
		for _, o := range parseObjects(t, docs) {
			if o.kind() == "StatefulSet" {
				s, _ := o.at("spec", "template", "metadata", "annotations", "checksum/config").(string)
				require.Regexp(t, `^[0-9a-f]{64}$`, s)
				return s
			}
		}
		t.Fatal("no StatefulSet")
		return ""
	}
	def := checksum("")
	require.Equal(t, def, checksum("replicaCount: 1\nresources: {requests: {cpu: 1}}\n"))
	require.NotEqual(t, def, checksum("config: {global: {step: 2m}}\n"))
}

// TestHelmChartRejectMistakes checks that the chart's checks can fail:
// values.schema.json rejects misspelt keys and wrong types, and the
// adapter's `check config` rejects a configuration Helm renders happily.
func TestHelmChartRejectMistakes(t *testing.T) {
	for _, tc := range []struct{ name, values, err string }{
		{"misspelt key", "replicas: 3\n", "replicas"},
		{"wrong type", "replicaCount: three\n", "replicaCount"},
		{"no replicas", "replicaCount: 0\n", "replicaCount"},
		{"shard labels", "sharding: {by: 'job;instance'}\n", "sharding"},
		{"flag without dashes", "extraArgs: [log.level=debug]\n", "extraArgs"},
		{"no config", "config: null\n", "config"},
		{"no forecasts", "config: {forecasts: null}\n", "forecasts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(t, "train-prometheus", chartValues(t, tc.values))
			require.ErrorContains(t, err, tc.err)
		})
	}

	t.Run("invalid adapter config", func(t *testing.T) {
		docs, err := renderChart(t, "train-prometheus", chartValues(t, "config: {global: {step: -1m}}\n"))
		require.NoError(t, err)
		cfg := renderedConfig(t, parseObjects(t, docs))
		y, err := sigsyaml.Marshal(cfg)
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "train-prometheus.yml")
		require.NoError(t, os.WriteFile(file, y, 0o600))
		code, out := runAdapter(t, "check", "config", file)
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "FAILED")
	})
}

// TestHelmLint runs Helm's chart linter (`helm lint`, strict: warnings fail).
func TestHelmLint(t *testing.T) {
	for _, values := range []string{"", "replicaCount: 3\nserviceMonitor: {enabled: true}\n"} {
		res := lint.RunAll(chartDir, chartValues(t, values), "monitoring")
		var msgs bytes.Buffer
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				msgs.WriteString(m.Error() + "\n")
			}
		}
		require.Empty(t, msgs.String(), "helm lint with values %q", values)
	}
}
