package writeback

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commonconfig "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/internal/testtls"
)

// newTLSReceiver is newReceiver over TLS with the server certificate of
// certs, requiring a client certificate when requireClient is set.
func newTLSReceiver(t *testing.T, certs testtls.Files, requireClient bool, respond func(int) response) *receiver {
	r := &receiver{t: t, respond: respond}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = certs.ServerConfig(t, requireClient)
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

// TestQueueOutboundAuth: TLS with a private CA and a client certificate,
// basic auth from a file, bearer credentials and OAuth2 client credentials,
// all through prometheus/common's HTTPClientConfig; and no secret in the
// logs or the metrics.
func TestQueueOutboundAuth(t *testing.T) {
	certs := testtls.New(t)
	pwFile := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pwFile, []byte("file-secret-1\n"), 0o600))

	var tokenRequests atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "client" || secret != "oauth-secret-2" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		tokenRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"token-secret-3","token_type":"Bearer","expires_in":3600}`)
	}))
	defer tokenSrv.Close()

	secrets := []string{"file-secret-1", "oauth-secret-2", "token-secret-3", "bearer-secret-4", "url-secret-5"}
	for _, tc := range []struct {
		name     string
		tls      bool
		client   bool // the server requires a client certificate
		mod      func(c *config.RemoteWriteConfig)
		wantAuth string
	}{
		{
			name: "tls with client certificate", tls: true, client: true,
			mod: func(c *config.RemoteWriteConfig) {
				c.HTTPClientConfig.TLSConfig = commonconfig.TLSConfig{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
			},
		},
		{
			name: "basic auth from a file over tls", tls: true,
			mod: func(c *config.RemoteWriteConfig) {
				c.HTTPClientConfig.TLSConfig = commonconfig.TLSConfig{CAFile: certs.CA}
				c.HTTPClientConfig.BasicAuth = &commonconfig.BasicAuth{Username: "tp", PasswordFile: pwFile}
			},
			wantAuth: "Basic " + base64.StdEncoding.EncodeToString([]byte("tp:file-secret-1")),
		},
		{
			name: "bearer",
			mod: func(c *config.RemoteWriteConfig) {
				c.HTTPClientConfig.Authorization = &commonconfig.Authorization{Type: "Bearer", Credentials: "bearer-secret-4"}
			},
			wantAuth: "Bearer bearer-secret-4",
		},
		{
			name: "oauth2",
			mod: func(c *config.RemoteWriteConfig) {
				c.HTTPClientConfig.OAuth2 = &commonconfig.OAuth2{ClientID: "client", ClientSecret: "oauth-secret-2", TokenURL: tokenSrv.URL}
			},
			wantAuth: "Bearer token-secret-3",
		},
		{
			name: "password in the url",
			mod: func(c *config.RemoteWriteConfig) {
				c.URL.User = url.UserPassword("tp", "url-secret-5")
			},
			wantAuth: "Basic " + base64.StdEncoding.EncodeToString([]byte("tp:url-secret-5")),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rcv *receiver
			if tc.tls {
				rcv = newTLSReceiver(t, certs, tc.client, nil)
			} else {
				rcv = newReceiver(t, nil)
			}
			cfg := testConfig(t, rcv.srv.URL, tc.mod)
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			q, err := NewQueue(cfg, log.NewLogfmtLogger(log.NewSyncWriter(&logs)), reg, Options{})
			require.NoError(t, err)
			q.Start()
			q.Append(samplesOf(0, 3, 1000))
			rcv.waitAccepted(t, 3)
			require.Equal(t, tc.wantAuth, rcv.requests()[0].header.Get("Authorization"))

			mfs, err := reg.Gather()
			require.NoError(t, err)
			q.Stop()
			exposed := fmt.Sprint(mfs) + logs.String()
			for _, s := range secrets {
				require.NotContains(t, exposed, s)
			}
			if strings.Contains(tc.name, "url") {
				require.Contains(t, fmt.Sprint(mfs), "xxxxx", "the url label is redacted")
			}
		})
	}
	require.Positive(t, tokenRequests.Load())
}

// TestQueueTLSRefusesUnknownServer: without the CA the server is not
// trusted and nothing is delivered (the batch is retried, never sent in
// clear); without a client certificate a server that requires one refuses.
func TestQueueTLSRefusesUnknownServer(t *testing.T) {
	certs := testtls.New(t)
	for name, tlsCfg := range map[string]commonconfig.TLSConfig{
		"unknown CA":            {},
		"no client certificate": {CAFile: certs.CA},
	} {
		t.Run(name, func(t *testing.T) {
			rcv := newTLSReceiver(t, certs, true, nil)
			cfg := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.TLSConfig = tlsCfg })
			q, _ := newTestQueue(t, cfg, Options{FlushDeadline: 50 * time.Millisecond}, true)
			q.Append(samplesOf(0, 3, 1000))
			require.True(t, assertEventually(func() bool { return testutil.ToFloat64(q.m.retried) > 0 }, 5*time.Second))
			require.Empty(t, rcv.requests())
		})
	}
}
