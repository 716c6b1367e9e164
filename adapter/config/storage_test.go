package config

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

func TestStorageConfig(t *testing.T) {
	cfg, err := Load("{}")
	require.NoError(t, err)
	require.Equal(t, model.Duration(5*time.Minute), cfg.Storage.SnapshotInterval)
	require.Nil(t, cfg.Storage.S3)

	cfg, err = Load("storage:\n")
	require.NoError(t, err)
	require.Equal(t, DefaultStorageConfig, cfg.Storage, "empty section means the defaults")

	cfg, err = Load(`
storage:
  snapshot_interval: 30s
  s3:
    bucket: tp
    prefix: prod/a
    region: eu-west-1
    endpoint: http://rgw.example:8080
    force_path_style: true
    access_key_id: AKID
    secret_access_key: s3cr3t
`)
	require.NoError(t, err)
	require.Equal(t, model.Duration(30*time.Second), cfg.Storage.SnapshotInterval)
	require.Equal(t, S3Config{Bucket: "tp", Prefix: "prod/a", Region: "eu-west-1", Endpoint: "http://rgw.example:8080",
		ForcePathStyle: true, AccessKeyID: "AKID", SecretAccessKey: "s3cr3t"}, *cfg.Storage.S3)
	out, err := yaml.Marshal(cfg.Storage)
	require.NoError(t, err)
	require.NotContains(t, string(out), "s3cr3t", "the secret is not printed")

	cfg, err = Load("storage: {s3: {bucket: b}}\n")
	require.NoError(t, err)
	require.Equal(t, model.Duration(5*time.Minute), cfg.Storage.SnapshotInterval, "interval defaults with s3 set")

	for _, tc := range []struct{ yaml, err string }{
		{"storage: {snapshot_interval: -1m}\n", "not a valid duration"},
		{"storage: {s3: {}}\n", "storage: s3: bucket must be set"},
		{"storage: {s3: {bucket: b, endpoint: 'rgw:8080'}}\n", `storage: s3: endpoint "rgw:8080" must be an http or https URL`},
		{"storage: {s3: {bucket: b, access_key_id: x}}\n", "access_key_id and secret_access_key must be set together"},
		{"storage: {s3: {bucket: b, path_style: true}}\n", "field path_style not found"},
		{"storage: {interval: 1m}\n", "field interval not found"},
	} {
		_, err := Load(tc.yaml)
		require.ErrorContains(t, err, tc.err, tc.yaml)
	}
}
