package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/train-prometheus/train-prometheus/internal/testlog"
	"github.com/train-prometheus/train-prometheus/internal/testtls"
)

// adapterFlags returns flags serving cfgYAML on addr with the web
// configuration file webCfg ("" for none).
func adapterFlags(t *testing.T, addr, cfgYAML, webCfg string, pprof bool) flags {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "train-prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfgYAML), 0o600))
	f := testFlags(t, addr, cfgFile)
	f.web.WebConfigFile = &webCfg
	f.enablePprof = pprof
	return f
}

// secretConfig writes back with credentials that must never be shown.
const secretConfig = `
global: {step: 1m, window: 1h}
forecasts:
  - name: a
    match: ['secure_input']
remote_write:
  - url: http://tp:url-secret-1@127.0.0.1:1/api/v1/write
    name: with-password
  - url: http://127.0.0.1:1/api/v1/write
    name: with-bearer
    authorization: {credentials: bearer-secret-2}
  - url: http://127.0.0.1:1/api/v1/write
    name: with-oauth2
    oauth2: {client_id: c, client_secret: oauth-secret-3, token_url: 'http://127.0.0.1:1/token'}
`

// TestListenerTLSAndBasicAuth serves over TLS with basic auth
// (--web.config.file, exporter-toolkit) and talks to it with a real TLS
// client: without credentials or without TLS nothing is served, with both
// the remote-write endpoint takes samples. No page and no log line shows
// a secret, and profiling endpoints are off.
func TestListenerTLSAndBasicAuth(t *testing.T) {
	certs := testtls.New(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("listener-secret-0"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	require.NoError(t, os.WriteFile(webCfg, fmt.Appendf(nil, `
tls_server_config:
  cert_file: %s
  key_file: %s
basic_auth_users:
  tp: %s
`, certs.ServerCert, certs.ServerKey, hash), 0o600))

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var logs testlog.Buffer
	serveWith(t, adapterFlags(t, addr, secretConfig, webCfg, false), &logs)

	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool, MinVersion: tls.VersionTLS12}}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	base := "https://" + addr
	get := func(path, user, pass string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, 10*time.Second, "adapter ready over TLS", func() bool {
		req, _ := http.NewRequest(http.MethodGet, base+"/-/ready", nil)
		req.SetBasicAuth("tp", "listener-secret-0")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	code, _ := get("/-/healthy", "", "")
	require.Equal(t, http.StatusUnauthorized, code, "no credentials")
	code, _ = get("/-/healthy", "tp", "wrong")
	require.Equal(t, http.StatusUnauthorized, code, "wrong password")
	code, _ = get("/-/healthy", "tp", "listener-secret-0")
	require.Equal(t, http.StatusOK, code)

	// Plain HTTP to the TLS port is refused.
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := plain.Get("http://" + addr + "/-/healthy"); err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP must not be served")
	}
	// A client that does not trust the CA cannot connect.
	untrusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	_, err = untrusting.Get(base + "/-/healthy")
	require.ErrorContains(t, err, "certificate")

	// Remote write over TLS with basic auth.
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "secure_input"}},
		Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 1}},
	}}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.SetBasicAuth("tp", "listener-secret-0")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	// Profiling is off by default.
	code, _ = get("/debug/pprof/", "tp", "listener-secret-0")
	require.Equal(t, http.StatusNotFound, code)

	// No page shows a secret; neither does the log.
	var pages string
	for _, p := range []string{"/", "/metrics", "/forecasts", "/-/ready"} {
		code, body := get(p, "tp", "listener-secret-0")
		require.Equal(t, http.StatusOK, code, p)
		pages += body
	}
	require.Contains(t, pages, `remote_name="with-password"`, "the metrics name the targets")
	for _, s := range []string{"listener-secret-0", "url-secret-1", "bearer-secret-2", "oauth-secret-3", string(hash)} {
		require.NotContains(t, pages, s)
		require.NotContains(t, logs.String(), s)
	}
}

// TestPprofFlag: --web.enable-pprof serves the profiling endpoints.
func TestPprofFlag(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	serveWith(t, adapterFlags(t, addr, "{}", "", true), io.Discard) // an empty file is an error; "{}" is the defaults
	waitReady(t, "http://"+addr)
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "goroutine")
	// The adapter's own routes are still served.
	resp, err = http.Get("http://" + addr + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
