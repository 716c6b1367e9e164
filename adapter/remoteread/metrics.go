package remoteread

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type backfillMetrics struct {
	series   *prometheus.CounterVec
	samples  *prometheus.CounterVec
	cells    *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newBackfillMetrics(reg prometheus.Registerer) *backfillMetrics {
	f := promauto.With(reg)
	return &backfillMetrics{
		series: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_backfill_series_total",
			Help: "Total number of series that received backfilled cells from remote-read sources.",
		}, []string{"remote_name"}),
		samples: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_backfill_samples_total",
			Help: "Total number of samples read from remote-read sources into series that received backfilled cells.",
		}, []string{"remote_name"}),
		cells: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_backfill_cells_filled_total",
			Help: "Total number of ring buffer cells filled by backfills (cells holding live data are kept).",
		}, []string{"remote_name"}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_backfill_failures_total",
			Help: "Total number of failed backfill read requests, and of series the ring buffers refused (max_series).",
		}, []string{"remote_name"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "train_prometheus_backfill_request_duration_seconds",
			Help:    "Duration of backfill read requests, decoding and filling included.",
			Buckets: prometheus.DefBuckets,
		}, []string{"remote_name"}),
	}
}
