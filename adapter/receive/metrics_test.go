package receive

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestHandlerLogsRejectedAtDebug(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(log.NewLogfmtLogger(&buf), nil, ring.NewStore(0, nil), nameRouter{}, 0)

	w := serve(h, newPost([]byte("not snappy")))

	require.Equal(t, http.StatusBadRequest, w.Code)
	line := buf.String()
	require.Contains(t, line, "level=debug")
	require.Contains(t, line, "component=receive")
	require.Contains(t, line, `msg="Rejected remote-write request"`)
	require.Contains(t, line, "code=400")
	require.Contains(t, line, "err=")
}

func TestHandlerMetricsPreinitialised(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewHandler(nil, reg, ring.NewStore(0, nil), nameRouter{}, 0)

	want := `
# HELP train_prometheus_dropped_samples_total Total number of received samples and histogram samples not accepted into ring buffers, by reason.
# TYPE train_prometheus_dropped_samples_total counter
train_prometheus_dropped_samples_total{reason="duplicate"} 0
train_prometheus_dropped_samples_total{reason="error"} 0
train_prometheus_dropped_samples_total{reason="histogram"} 0
train_prometheus_dropped_samples_total{reason="inf"} 0
train_prometheus_dropped_samples_total{reason="invalid"} 0
train_prometheus_dropped_samples_total{reason="max_series"} 0
train_prometheus_dropped_samples_total{reason="memory"} 0
train_prometheus_dropped_samples_total{reason="nan"} 0
train_prometheus_dropped_samples_total{reason="not_owned"} 0
train_prometheus_dropped_samples_total{reason="out_of_bounds"} 0
train_prometheus_dropped_samples_total{reason="too_old"} 0
train_prometheus_dropped_samples_total{reason="unselected"} 0
# HELP train_prometheus_received_requests_total Total number of remote-write requests received, by HTTP status code of the answer.
# TYPE train_prometheus_received_requests_total counter
train_prometheus_received_requests_total{code="204"} 0
train_prometheus_received_requests_total{code="400"} 0
train_prometheus_received_requests_total{code="405"} 0
train_prometheus_received_requests_total{code="408"} 0
train_prometheus_received_requests_total{code="413"} 0
train_prometheus_received_requests_total{code="415"} 0
train_prometheus_received_requests_total{code="429"} 0
# HELP train_prometheus_received_samples_total Total number of received samples accepted into ring buffers.
# TYPE train_prometheus_received_samples_total counter
train_prometheus_received_samples_total 0
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"train_prometheus_dropped_samples_total", "train_prometheus_received_requests_total", "train_prometheus_received_samples_total"))
}
