package deploytest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	sigsyaml "sigs.k8s.io/yaml"
)

// object is a rendered manifest as JSON-compatible values.
type object map[string]any

// parseObjects decodes rendered documents.
func parseObjects(t *testing.T, docs [][]byte) []object {
	t.Helper()
	out := make([]object, 0, len(docs))
	for _, doc := range docs {
		var o object
		require.NoError(t, sigsyaml.Unmarshal(doc, &o), "%s", doc)
		out = append(out, o)
	}
	return out
}

// at returns the value at path (map keys, or ints for list indexes), nil
// where there is none.
func (o object) at(path ...any) any {
	var v any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			panic(fmt.Sprintf("path element %v", p))
		}
	}
	return v
}

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { s, _ := o.at("metadata", "name").(string); return s }

// stringMap returns the string map at path.
func (o object) stringMap(path ...any) map[string]string {
	m, _ := o.at(path...).(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// find returns the object of kind and name, or nil.
func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	return nil
}

// subset reports whether every label of sel is in labels (an empty
// selector selects nothing here: every one of ours names labels).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkWiring checks that the objects refer to each other consistently: a
// StatefulSet selects its own pods and names an existing governing Service
// that selects them too, its ConfigMap volumes and ServiceAccount exist,
// every PodDisruptionBudget selects the pods of a StatefulSet, and every
// ServiceMonitor selects a Service that has the ports it scrapes.
func checkWiring(t *testing.T, objs []object) {
	t.Helper()
	var podLabels []map[string]string
	for _, set := range objs {
		if set.kind() != "StatefulSet" {
			continue
		}
		labels := set.stringMap("spec", "template", "metadata", "labels")
		podLabels = append(podLabels, labels)
		require.True(t, subset(set.stringMap("spec", "selector", "matchLabels"), labels),
			"StatefulSet %s: selector %v does not select its pod labels %v", set.name(), set.at("spec", "selector"), labels)
		svcName, _ := set.at("spec", "serviceName").(string)
		svc := find(objs, "Service", svcName)
		require.NotNil(t, svc, "StatefulSet %s: no Service %q", set.name(), svcName)
		require.True(t, subset(svc.stringMap("spec", "selector"), labels),
			"Service %s: selector %v does not select the pods of %s (%v)", svcName, svc.at("spec", "selector"), set.name(), labels)
		// A ServiceAccount made here is the one the pods use (else it is
		// the namespace's, or one made elsewhere).
		if sa, _ := set.at("spec", "template", "spec", "serviceAccountName").(string); slices.ContainsFunc(objs, func(o object) bool { return o.kind() == "ServiceAccount" }) {
			require.NotNil(t, find(objs, "ServiceAccount", sa), "StatefulSet %s: no ServiceAccount %q", set.name(), sa)
		}
		vols, _ := set.at("spec", "template", "spec", "volumes").([]any)
		for _, v := range vols {
			if cm, _ := object(v.(map[string]any)).at("configMap", "name").(string); cm != "" {
				require.NotNil(t, find(objs, "ConfigMap", cm), "StatefulSet %s: no ConfigMap %q", set.name(), cm)
			}
		}
	}
	for _, o := range objs {
		switch o.kind() {
		case "PodDisruptionBudget":
			sel := o.stringMap("spec", "selector", "matchLabels")
			matched := false
			for _, l := range podLabels {
				matched = matched || subset(sel, l)
			}
			require.True(t, matched, "PodDisruptionBudget %s: selector %v matches no StatefulSet's pods %v", o.name(), sel, podLabels)
		case "ServiceMonitor":
			sel := o.stringMap("spec", "selector", "matchLabels")
			var svc object
			for _, s := range objs {
				if s.kind() == "Service" && subset(sel, s.stringMap("metadata", "labels")) {
					svc = s
				}
			}
			require.NotNil(t, svc, "ServiceMonitor %s: selector %v matches no Service", o.name(), sel)
			ports := map[string]bool{}
			for _, p := range svc.at("spec", "ports").([]any) {
				n, _ := p.(map[string]any)["name"].(string)
				ports[n] = true
			}
			for _, e := range o.at("spec", "endpoints").([]any) {
				p, _ := e.(map[string]any)["port"].(string)
				require.True(t, ports[p], "ServiceMonitor %s: port %q is not a port of Service %s", o.name(), p, svc.name())
			}
		}
	}
}
