package adapter

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestLifecycleDisabledByDefault: without EnableLifecycle (the
// --web.enable-lifecycle flag), /-/reload answers as Prometheus does and
// reloads nothing; Reload (SIGHUP) still works.
func TestLifecycleDisabledByDefault(t *testing.T) {
	src := &source{yaml: baseConfig}
	reg := prometheus.NewPedanticRegistry()
	a := New(nil, reg, Options{LoadConfig: src.load})
	t.Cleanup(a.Stop)
	h := a.Handler(reg)
	for _, tc := range []struct {
		method string
		status int
		body   string
	}{
		{http.MethodPost, http.StatusForbidden, "Lifecycle API is not enabled."},
		{http.MethodPut, http.StatusForbidden, "Lifecycle API is not enabled."},
		{http.MethodGet, http.StatusMethodNotAllowed, "Only POST or PUT requests allowed"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/-/reload", nil))
			require.Equal(t, tc.status, rec.Code)
			require.Contains(t, rec.Body.String(), tc.body)
		})
	}
	require.Zero(t, src.loads(), "nothing was reloaded")
	require.NoError(t, a.Reload(), "SIGHUP's path")
	require.Equal(t, 1, src.loads())
}

// TestLifecycleRefusesCrossOrigin: a browser's cross-origin POST (a web
// page the user opened) cannot trigger a reload; same-origin requests and
// clients without browser headers (curl) can.
func TestLifecycleRefusesCrossOrigin(t *testing.T) {
	f := applied(t, baseConfig, Options{})
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same-site other origin", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"old browser, foreign Origin", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusOK},
		{"curl", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loads := f.src.loads()
			rec := f.do(t, http.MethodPost, "/-/reload", nil, tc.header)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status == http.StatusForbidden {
				require.Equal(t, loads, f.src.loads(), "not reloaded")
			}
		})
	}
}

// TestReloadHidesPasswords: a remote_write URL with a password that does
// not parse (a bad port) is named without its password in the /-/reload
// answer and in the log.
func TestReloadHidesPasswords(t *testing.T) {
	var logs bytes.Buffer
	src := &source{yaml: baseConfig}
	reg := prometheus.NewPedanticRegistry()
	a := New(log.NewLogfmtLogger(log.NewSyncWriter(&logs)), reg, Options{LoadConfig: src.load, EnableLifecycle: true})
	t.Cleanup(a.Stop)
	require.NoError(t, a.Reload())
	src.set(baseConfig+"remote_write:\n  - url: http://tp:hunter2@mimir:90x/api/v1/push\n", nil)
	rec := httptest.NewRecorder()
	a.Handler(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "tp:xxxxx@mimir:90x")
	require.NotContains(t, rec.Body.String(), "hunter2")
	require.Contains(t, logs.String(), "Reloading configuration failed")
	require.NotContains(t, logs.String(), "hunter2")
}
