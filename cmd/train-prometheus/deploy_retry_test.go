package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

// TestShippedPrometheusRetries429: every prometheus.yml shipped under
// deploy/ that remote-writes to train-prometheus sets retry_on_http_429, as
// the quick start says is needed: an overloaded adapter answers 429, and
// Prometheus drops the batch unless told to retry.
func TestShippedPrometheusRetries429(t *testing.T) {
	type remoteWrite struct {
		URL         string `yaml:"url"`
		QueueConfig struct {
			RetryOn429 bool `yaml:"retry_on_http_429"`
		} `yaml:"queue_config"`
	}
	var checked int
	require.NoError(t, filepath.WalkDir(filepath.Join("..", "..", "deploy"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "prometheus") || !strings.HasSuffix(d.Name(), ".yml") {
			return err
		}
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		var cfg struct {
			RemoteWrite []remoteWrite `yaml:"remote_write"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &cfg), p)
		for _, rw := range cfg.RemoteWrite {
			if strings.Contains(rw.URL, ":9201/") || strings.Contains(rw.URL, "train-prometheus") {
				require.True(t, rw.QueueConfig.RetryOn429, "%s: remote_write to %s without queue_config.retry_on_http_429: true", p, rw.URL)
				checked++
			}
		}
		return nil
	}))
	require.GreaterOrEqual(t, checked, 6)
}
