package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestRemoteReadGood(t *testing.T) {
	cfg, err := Load(`
remote_read:
  - url: http://prometheus:9090/api/v1/read
    read_recent: true
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: u, password: p}
    tls_config: {ca_file: ca.pem}
    backfill_history: 2h
    max_concurrent_requests: 4
  - url: https://other/api/v1/read
    name: other
remote_read_server:
  max_horizon: 6h
  serve_raw: true
`)
	require.NoError(t, err)
	require.Len(t, cfg.RemoteRead, 2)
	rr := cfg.RemoteRead[0]
	require.Equal(t, "0", rr.Name, "named by index, as remote_write")
	require.True(t, rr.ReadRecent)
	require.Equal(t, model.Duration(2*time.Hour), rr.History)
	require.Equal(t, 4, rr.MaxConcurrentRequests)
	require.Equal(t, "team-a", rr.Headers["X-Scope-OrgID"])
	require.Equal(t, "u", rr.HTTPClientConfig.BasicAuth.Username)

	def := cfg.RemoteRead[1]
	require.Equal(t, "other", def.Name)
	require.False(t, def.ReadRecent, "Prometheus' default")
	require.Equal(t, DefaultRemoteReadConfig.MaxConcurrentRequests, def.MaxConcurrentRequests)
	require.Equal(t, DefaultRemoteReadConfig.RemoteTimeout, def.RemoteTimeout)
	require.Equal(t, DefaultRemoteReadConfig.MaxResponseBytes, def.MaxResponseBytes)

	require.Equal(t, model.Duration(6*time.Hour), cfg.RemoteReadServer.MaxHorizon)
	require.True(t, cfg.RemoteReadServer.ServeRaw)
	require.Equal(t, DefaultRemoteReadServerConfig.MaxSeries, cfg.RemoteReadServer.MaxSeries)

	cfg.SetDirectory("/etc/tp")
	require.Equal(t, filepath.Join(string(filepath.Separator)+"etc", "tp", "ca.pem"), cfg.RemoteRead[0].HTTPClientConfig.TLSConfig.CAFile)

	for _, doc := range []string{"{}", "remote_read_server:\n"} {
		cfg, err := Load(doc)
		require.NoError(t, err)
		require.Equal(t, DefaultRemoteReadServerConfig, cfg.RemoteReadServer, "%q", doc)
	}
}

func TestRemoteReadBad(t *testing.T) {
	for _, tc := range []struct{ yaml, msg string }{
		{"remote_read: [~]", "remote_read[0]: empty entry"},
		{"remote_read: [{name: x}]", "remote_read[0]: url must be set"},
		{"remote_read: [{url: 'ftp://a/b'}]", `remote_read[0]: url "ftp://a/b": scheme must be http or https`},
		{"remote_read: [{url: 'http:///x'}]", "host must be set"},
		{"remote_read: [{url: 'http://a/r', headers: {Authorization: x}}]", "headers: authorization must be set with basic_auth"},
		{"remote_read: [{url: 'http://a/r', headers: {X-Prometheus-Remote-Read-Version: x}}]", "reserved header"},
		{"remote_read: [{url: 'http://a/r', max_concurrent_requests: -1}]", "max_concurrent_requests must be positive"},
		{"remote_read: [{url: 'http://a/r', max_response_bytes: 10}]", "max_response_bytes must be at least 1024"},
		{"remote_read: [{url: 'http://a/r', min_backoff: 2s, max_backoff: 1s}]", "max_backoff must not be less than min_backoff"},
		{"remote_read: [{url: 'http://a/r', max_concurrent_requests: 100000}]", "remote_read[0]: max_concurrent_requests 100000 must be at most 1000"},
		{"remote_read: [{url: 'http://a/r', max_response_bytes: 4294967296}]", "remote_read[0]: max_response_bytes 4294967296 must be at most 1073741824"},
		{"remote_read: [{url: 'http://a/r', max_backoff: 30d}]", "remote_read[0]: max_backoff 30d must be at most 1h0m0s"},
		{"remote_read: [{url: 'http://a/r', basic_auth: {username: u}, authorization: {credentials: c}}]", "remote_read[0]: at most one of basic_auth, oauth2 & authorization"},
		{"remote_read: [{url: 'http://a/r', name: x}, {url: 'http://b/r', name: x}]", `remote_read[1]: duplicate name "x"`},
		{"remote_read: [{url: 'http://a/r', name: '1'}, {url: 'http://b/r'}]", `remote_read[0]: name "1" is also the default name of the unnamed remote_read[1]`},
		{"remote_read: [{url: 'http://a/r', read_recnt: true}]", "field read_recnt not found"},
		{"remote_read_server: {max_series: -1}", "remote_read_server: max_series must be positive"},
		{"remote_read_server: {max_samples: -5}", "remote_read_server: max_samples must be positive"},
		{"remote_read_server: {serve_raw: true, max_horizon: 0s}", "remote_read_server: max_horizon must be positive"},
		{"remote_read_server: {horizon: 1h}", "field horizon not found"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err := Load(tc.yaml)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}
