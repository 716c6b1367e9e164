package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

// TestSecretsRedacted: a URL's password never shows in a load error (a
// URL that does not parse is quoted whole by url.Parse), and header values
// never show when the configuration is marshalled (the /config page).
func TestSecretsRedacted(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, msg string
	}{
		{"remote_write bad port", "remote_write:\n  - url: http://user:hunter2@localhost:90x/api/v1/write\n", "http://user:xxxxx@localhost:90x"},
		{"remote_read bad port", "remote_read:\n  - url: https://u:hunter2@mimir:badport/prometheus/api/v1/read\n", "https://u:xxxxx@mimir:badport"},
		{"s3 endpoint", "storage:\n  s3: {bucket: b, endpoint: 'ftp://k:hunter2@minio:9000'}\n", "ftp://k:xxxxx@minio:9000"},
		{"remote_write scheme", "remote_write:\n  - url: ftp://user:hunter2@localhost/write\n", "ftp://user:xxxxx@localhost/write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.yaml)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "hunter2")
			require.Contains(t, err.Error(), tc.msg)

			filename := filepath.Join(t.TempDir(), "c.yml")
			require.NoError(t, os.WriteFile(filename, []byte(tc.yaml), 0o600))
			_, err = LoadFile(filename)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}

	cfg, err := Load(`
remote_write:
  - url: http://user:hunter2@localhost:9090/api/v1/write
    headers: {X-Api-Key: hunter2-key, X-Scope-OrgID: team-a}
    basic_auth: {username: u, password: hunter2-basic}
remote_read:
  - url: http://localhost:9090/api/v1/read
    headers: {X-Api-Key: hunter2-read}
`)
	require.NoError(t, err)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(out), "hunter2")
	require.Contains(t, string(out), "X-Api-Key: <secret>")
	require.Contains(t, string(out), "X-Scope-OrgID: <secret>")
	// The loaded values themselves are untouched.
	require.Equal(t, "hunter2-key", cfg.RemoteWrite[0].Headers["X-Api-Key"])
	require.Equal(t, "hunter2-read", cfg.RemoteRead[0].Headers["X-Api-Key"])

	require.Equal(t, "see http://a:xxxxx@h/x and https://b:xxxxx@k", RedactURLPasswords("see http://a:pw@h/x and https://b:p:w@k"))
	require.Equal(t, "http://h:80/a@b", RedactURLPasswords("http://h:80/a@b"), "a port is not a password")
}
