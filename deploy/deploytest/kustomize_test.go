package deploytest

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// newValidator returns kubeconform over the schemas shipped in
// deploy/schemas (strict: unknown fields are errors; a kind without a
// schema is an error too).
func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(deployDir, "schemas"))
	require.NoError(t, err)
	v, err := validator.New([]string{abs + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true})
	require.NoError(t, err)
	return v
}

// kustomize renders the kustomization in dir and returns its documents.
func kustomize(t *testing.T, dir string) [][]byte {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	var docs [][]byte
	for _, r := range m.Resources() {
		b, err := r.AsYAML()
		require.NoError(t, err)
		docs = append(docs, b)
	}
	return docs
}

// The parts of a rendered manifest the checks below read.
type (
	manifest struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
		Spec struct {
			Template struct {
				Spec podSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	podSpec struct {
		SecurityContext map[string]any `json:"securityContext"`
		HostNetwork     bool           `json:"hostNetwork"`
		HostPID         bool           `json:"hostPID"`
		Containers      []container    `json:"containers"`
		Volumes         []struct {
			Name      string                 `json:"name"`
			ConfigMap *struct{ Name string } `json:"configMap"`
			Other     map[string]any         `json:"-"`
		} `json:"volumes"`
	}
	container struct {
		Name  string   `json:"name"`
		Image string   `json:"image"`
		Args  []string `json:"args"`
		Ports []struct {
			Name string `json:"name"`
		} `json:"ports"`
		LivenessProbe, ReadinessProbe *struct {
			HTTPGet struct {
				Path string `json:"path"`
				Port any    `json:"port"`
			} `json:"httpGet"`
		}
		SecurityContext map[string]any `json:"securityContext"`
		VolumeMounts    []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
	}
)

// TestDeployManifests renders every kustomization under deploy/kubernetes,
// validates each object against the shipped schemas, and checks the
// train-prometheus containers: their args are flags the binary accepts and
// the configuration they name (from the ConfigMap mounted there) passes
// `check config`; probes use /-/healthy and /-/ready; the pod passes the
// "restricted" Pod Security Standard, and OpenShift's restricted SCC where
// the overlay says so.
func TestDeployManifests(t *testing.T) {
	v := newValidator(t)
	var dirs []string
	require.NoError(t, filepath.WalkDir(filepath.Join(deployDir, "kubernetes"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	}))
	require.GreaterOrEqual(t, len(dirs), 4, "base, overlays and sidecar: %v", dirs)

	for _, dir := range dirs {
		rel, _ := filepath.Rel(deployDir, dir)
		t.Run(rel, func(t *testing.T) {
			docs := kustomize(t, dir)
			configMaps := map[string]map[string]string{}
			var sets []manifest
			for _, doc := range docs {
				res := v.ValidateResource(resource.Resource{Path: rel, Bytes: doc})
				require.Equal(t, validator.Valid, res.Status, "%s: %v\n%s", rel, res.Err, doc)
				var m manifest
				require.NoError(t, sigsyaml.Unmarshal(doc, &m))
				switch m.Kind {
				case "ConfigMap":
					configMaps[m.Metadata.Name] = m.Data
				case "StatefulSet":
					sets = append(sets, m)
				}
			}
			require.NotEmpty(t, sets)
			checkWiring(t, parseObjects(t, docs))
			openshift := strings.Contains(rel, "openshift")
			tpCount := 0
			for _, set := range sets {
				pod := set.Spec.Template.Spec
				checkRestricted(t, pod, openshift)
				for _, c := range pod.Containers {
					if path.Base(strings.Split(c.Image, ":")[0]) != "train-prometheus" {
						continue
					}
					tpCount++
					checkAdapterContainer(t, c, pod, configMaps)
				}
			}
			require.Positive(t, tpCount, "no train-prometheus container")
		})
	}
}

// checkAdapterContainer checks one train-prometheus container.
func checkAdapterContainer(t *testing.T, c container, pod podSpec, configMaps map[string]map[string]string) {
	t.Helper()
	flagValue := func(name string) string {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
				return v
			}
		}
		t.Fatalf("container %s: no --%s", c.Name, name)
		return ""
	}
	mounted := func(p string) (volume, rest string) {
		for _, m := range c.VolumeMounts {
			if r, ok := strings.CutPrefix(p, m.MountPath+"/"); ok {
				return m.Name, r
			}
			if p == m.MountPath {
				return m.Name, ""
			}
		}
		t.Fatalf("container %s: %s is on no volume", c.Name, p)
		return "", ""
	}

	// The config file is a key of the ConfigMap mounted at its directory.
	vol, key := mounted(flagValue("config.file"))
	var data map[string]string
	for _, v := range pod.Volumes {
		if v.Name == vol && v.ConfigMap != nil {
			data = configMaps[v.ConfigMap.Name]
		}
	}
	require.NotNil(t, data, "container %s: volume %s is not a ConfigMap of this kustomization", c.Name, vol)
	cfg, ok := data[key]
	require.True(t, ok, "ConfigMap has no key %s", key)
	cfgFile := filepath.Join(t.TempDir(), key)
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))
	// Storage on a volume of its own (the PVC).
	vol, _ = mounted(flagValue("storage.path"))
	require.NotEqual(t, "config", vol)

	// The binary's command line parser takes the args (the default
	// command's, serve's: --help after them parses them all, then prints
	// the help and exits 0; an unknown flag exits 2), and the config passes.
	code, out := runAdapter(t, append(slices.Clone(c.Args), "--help")...)
	require.Equal(t, 0, code, "container %s args %v: %s", c.Name, c.Args, out)
	code, out = runAdapter(t, "check", "config", cfgFile)
	require.Equal(t, 0, code, "container %s config: %s", c.Name, out)

	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	require.NotNil(t, c.LivenessProbe, "liveness probe")
	require.NotNil(t, c.ReadinessProbe, "readiness probe")
	require.Equal(t, "/-/healthy", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/-/ready", c.ReadinessProbe.HTTPGet.Path)
	for _, port := range []any{c.LivenessProbe.HTTPGet.Port, c.ReadinessProbe.HTTPGet.Port} {
		name, _ := port.(string)
		require.True(t, ports[name], "probe port %v is not a named port of the container", port)
	}
}

// checkRestricted checks what the "restricted" Pod Security Standard and,
// with openshift, the restricted-v2 SCC require of every container.
func checkRestricted(t *testing.T, pod podSpec, openshift bool) {
	t.Helper()
	require.False(t, pod.HostNetwork || pod.HostPID, "host namespaces")
	require.Equal(t, true, pod.SecurityContext["runAsNonRoot"], "runAsNonRoot")
	require.Equal(t, map[string]any{"type": "RuntimeDefault"}, pod.SecurityContext["seccompProfile"])
	if openshift {
		// restricted-v2 assigns these from the namespace's ranges.
		for _, k := range []string{"runAsUser", "runAsGroup", "fsGroup", "supplementalGroups", "seLinuxOptions"} {
			require.NotContains(t, pod.SecurityContext, k, "OpenShift: the SCC sets %s", k)
		}
	} else if uid, ok := pod.SecurityContext["runAsUser"].(float64); ok {
		require.NotZero(t, uid, "runAsUser 0")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		require.Equal(t, false, sc["allowPrivilegeEscalation"], "container %s: allowPrivilegeEscalation", c.Name)
		require.Equal(t, map[string]any{"drop": []any{"ALL"}}, sc["capabilities"], "container %s: capabilities", c.Name)
		require.NotEqual(t, true, sc["privileged"], c.Name)
		if openshift {
			require.NotContains(t, sc, "runAsUser", c.Name)
		}
	}
}

// TestDeployManifestsRejectMistakes checks that the validation above can
// fail: a misspelt field, a wrong type and an unknown flag are caught.
func TestDeployManifestsRejectMistakes(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct{ name, doc string }{
		{"unknown field", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replica: 3, selector: {}, serviceName: x, template: {}}\n"},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: http}]}\n"},
		{"no schema", "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: x}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := v.ValidateResource(resource.Resource{Path: tc.name, Bytes: []byte(tc.doc)})
			require.NotEqual(t, validator.Valid, res.Status)
			require.Error(t, res.Err)
		})
	}
	code, out := runAdapter(t, "--storage.pth=/x", "check", "config", "x.yml")
	require.Equal(t, 2, code, out)
}

// TestOcDeployKustomization renders what `make oc_deploy` applies: the
// OpenShift overlay in the namespace and with the image the Makefile
// variables name.
func TestOcDeployKustomization(t *testing.T) {
	// As the Makefile does: written two levels below the repository root.
	root, err := filepath.Abs(filepath.Join(deployDir, ".."))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".cache"), 0o755))
	dir, err := os.MkdirTemp(filepath.Join(root, ".cache"), "oc_deploy_test")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	out, err := exec.Command(filepath.Join(deployDir, "kubernetes", "kustomization-for.sh"),
		"../../deploy/kubernetes/overlays/openshift", "forecasting", "quay.io/acme/train-prometheus", "v1.2.3").Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), out, 0o600))
	v := newValidator(t)
	kinds := map[string]bool{}
	for _, doc := range kustomize(t, dir) {
		res := v.ValidateResource(resource.Resource{Path: "oc_deploy", Bytes: doc})
		require.Equal(t, validator.Valid, res.Status, "%v\n%s", res.Err, doc)
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		require.NoError(t, sigsyaml.Unmarshal(doc, &m))
		require.Equal(t, "forecasting", m.Metadata.Namespace, "%s", m.Kind)
		kinds[m.Kind] = true
		if m.Kind == "StatefulSet" {
			require.Contains(t, string(doc), "image: quay.io/acme/train-prometheus:v1.2.3")
			require.NotContains(t, string(doc), "runAsUser")
		}
	}
	require.True(t, kinds["StatefulSet"] && kinds["ConfigMap"] && kinds["Service"] && kinds["ServiceMonitor"], "%v", kinds)
}
