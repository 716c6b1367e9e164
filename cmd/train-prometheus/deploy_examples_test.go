package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

// deployDir is the repository's deploy/ directory. The manifests under it
// are rendered and validated by the deploy module's tests (deploy/deploytest,
// a Go module of its own so that kustomize, kubeconform and Helm stay out of
// the binary's module); the checks here need the binary's own packages.
const deployDir = "../../deploy"

// promtoolBinary returns Prometheus' promtool (Debian's prometheus package,
// which .ci/install-prometheus.sh installs, has it beside prometheus),
// skipping the test without it and failing under CI.
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
	t.Skip("promtool not found on PATH; install Prometheus (.ci/install-prometheus.sh) to check the prometheus.yml examples")
	return ""
}

// TestDeployExamples checks every configuration under deploy/: each
// train-prometheus.yml passes `check config` and each prometheus.yml loads
// with Prometheus' promtool; every YAML and JSON file parses.
func TestDeployExamples(t *testing.T) {
	var tp, prom, other []string
	require.NoError(t, filepath.WalkDir(deployDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// A Helm chart's templates are Go templates, not YAML: the
			// deploy module's TestHelmChart renders and validates them.
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), "Chart.yaml")); err == nil && d.Name() == "templates" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasPrefix(d.Name(), "train-prometheus") && strings.HasSuffix(d.Name(), ".yml"):
			tp = append(tp, p)
		case strings.HasPrefix(d.Name(), "prometheus") && strings.HasSuffix(d.Name(), ".yml"):
			prom = append(prom, p)
		case strings.HasSuffix(d.Name(), ".yml") || strings.HasSuffix(d.Name(), ".yaml") || strings.HasSuffix(d.Name(), ".json"):
			other = append(other, p)
		}
		return nil
	}))
	require.GreaterOrEqual(t, len(tp), 5, "%v", tp)
	require.GreaterOrEqual(t, len(prom), 5, "%v", prom)
	for _, p := range tp {
		t.Run(p, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, checkConfig(p, &stdout, &stderr), stderr.String())
		})
	}
	promtool := promtoolBinary(t)
	for _, p := range prom {
		t.Run(p, func(t *testing.T) {
			out, err := exec.Command(promtool, "check", "config", "--syntax-only", p).CombinedOutput()
			require.NoError(t, err, "promtool check config %s:\n%s", p, out)
		})
	}
	for _, p := range other {
		t.Run(p, func(t *testing.T) {
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			var v any
			if strings.HasSuffix(p, ".json") {
				require.NoError(t, json.Unmarshal(raw, &v))
				return
			}
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			for {
				err := dec.Decode(&v)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
			}
		})
	}
}
