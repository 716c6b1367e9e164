package adapter

import (
	"net/http"
	"os"
	"runtime/debug"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestApplyConfigAllOrNothing: a configuration that one component cannot
// take (a CA file that does not exist) changes nothing, not even the parts
// that other components could have taken.
func TestApplyConfigAllOrNothing(t *testing.T) {
	f := applied(t, baseConfig, Options{})
	good := f.a.Config()

	f.src.set(otherConfig+`
limits: {max_series: 7, max_request_bytes: 2048}
remote_write:
  - url: https://127.0.0.1:1/api/v1/write
    tls_config: {ca_file: /nonexistent/ca.pem}
`, nil)
	err := f.a.Reload()
	require.ErrorContains(t, err, "check remote_write config")
	require.ErrorContains(t, err, "/nonexistent/ca.pem")

	require.Same(t, good, f.a.Config())
	require.Equal(t, 0.0, f.gauge(t, "train_prometheus_config_last_reload_successful"))
	// The engine still routes the old entry and the receiver keeps the old
	// size limit.
	_, ok := f.a.Engine().Route(labels.FromStrings("__name__", "sine"))
	require.True(t, ok)
	_, ok = f.a.Engine().Route(labels.FromStrings("__name__", "cosine"))
	require.False(t, ok)
	w := f.do(t, http.MethodPost, "/api/v1/write", make([]byte, 4096), writeHeader())
	require.NotEqual(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
}

func TestMemoryLimitFollowsConfig(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "") // restored after the test
	require.NoError(t, os.Unsetenv("GOMEMLIMIT"))
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)

	f := applied(t, baseConfig+"limits: {max_memory_bytes: 1073741824}\n", Options{})
	require.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1))

	f.src.set(baseConfig, nil)
	require.NoError(t, f.a.Reload())
	require.Equal(t, before, debug.SetMemoryLimit(-1))

	// An operator's GOMEMLIMIT wins.
	t.Setenv("GOMEMLIMIT", "2GiB")
	f.src.set(baseConfig+"limits: {max_memory_bytes: 1073741824}\n", nil)
	require.NoError(t, f.a.Reload())
	require.Equal(t, before, debug.SetMemoryLimit(-1))
}
