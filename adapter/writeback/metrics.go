package writeback

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const (
	namespace = "train_prometheus"
	subsystem = "writeback"

	remoteName = "remote_name"
	endpoint   = "url"
	reason     = "reason"

	reasonQueueFull = "queue_full"
	reasonFuture    = "future"
	reasonShutdown  = "shutdown"
	reasonMaxAge    = "max_sample_age"
	// reasonNotWritten: a 2.0 target answered 2xx and reported the
	// samples not written.
	reasonNotWritten = "not_written"
)

// metrics holds the vectors shared by every queue of one Manager (or of one
// standalone Queue). Queues take their children with forTarget and give them
// back with release; the label values of a target are deleted when its last
// queue releases them, so a queue restarted under the same name and URL
// keeps counting where the old one stopped.
type metrics struct {
	samplesTotal     *prometheus.CounterVec
	failedTotal      *prometheus.CounterVec
	droppedTotal     *prometheus.CounterVec
	retriedTotal     *prometheus.CounterVec
	queueLength      *prometheus.GaugeVec
	sentBytesTotal   *prometheus.CounterVec
	requestDuration  *prometheus.HistogramVec
	lastSuccessStamp *prometheus.GaugeVec
	splitTotal       *prometheus.CounterVec
	highestSent      *prometheus.GaugeVec
	protocolFallback *prometheus.CounterVec

	mu   sync.Mutex
	refs map[[2]string]int
}

// newMetrics creates the vectors and registers them on reg (nil registers
// nothing).
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	target := []string{remoteName, endpoint}
	withReason := []string{remoteName, endpoint, reason}
	return &metrics{
		samplesTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "samples_total",
			Help: "Samples sent to the remote-write target and accepted by it.",
		}, target),
		failedTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "samples_failed_total",
			Help: "Samples the remote-write target rejected with an error that is not retried.",
		}, withReason),
		droppedTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "samples_dropped_total",
			Help: "Samples dropped before they could be sent (queue full: past capacity or max_bytes, older than max_sample_age, too far in the future, shutdown).",
		}, withReason),
		retriedTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "samples_retried_total",
			Help: "Samples sent again after a recoverable error.",
		}, target),
		queueLength: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "queue_length",
			Help: "Samples waiting in the queue, not counting the batches being sent.",
		}, target),
		sentBytesTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "sent_bytes_total",
			Help: "Compressed request bytes sent, counting every attempt that got an answer.",
		}, target),
		requestDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name:    "request_duration_seconds",
			Help:    "Duration of remote-write requests, one observation per attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, target),
		lastSuccessStamp: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last request the remote-write target accepted.",
		}, target),
		splitTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "batches_split_total",
			Help: "Batches refused with 400 and split in halves to send the samples the target accepts.",
		}, target),
		highestSent: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "queue_highest_sent_timestamp_seconds",
			Help: "Highest sample timestamp the remote-write target accepted, in seconds since the epoch; time() minus it is the write-back's lag.",
		}, target),
		protocolFallback: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: subsystem,
			Name: "protocol_fallbacks_total",
			Help: "Times a target configured for remote-write 2.0 answered 415 and was sent 1.0 instead, until the next config reload.",
		}, target),
		refs: map[[2]string]int{},
	}
}

// targetMetrics are the children of one target.
type targetMetrics struct {
	parent *metrics
	name   string
	url    string

	samples           prometheus.Counter
	retried           prometheus.Counter
	queueLength       prometheus.Gauge
	sentBytes         prometheus.Counter
	requestDuration   prometheus.Observer
	lastSuccess       prometheus.Gauge
	droppedFull       prometheus.Counter
	droppedFuture     prometheus.Counter
	droppedShutdown   prometheus.Counter
	droppedAge        prometheus.Counter
	split             prometheus.Counter
	highestSent       prometheus.Gauge
	protocolFallbacks prometheus.Counter
}

// forTarget returns the children of the target name at url and takes a
// reference on their label values.
func (m *metrics) forTarget(name, url string) *targetMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[[2]string{name, url}]++
	return &targetMetrics{
		parent:            m,
		name:              name,
		url:               url,
		samples:           m.samplesTotal.WithLabelValues(name, url),
		retried:           m.retriedTotal.WithLabelValues(name, url),
		queueLength:       m.queueLength.WithLabelValues(name, url),
		sentBytes:         m.sentBytesTotal.WithLabelValues(name, url),
		requestDuration:   m.requestDuration.WithLabelValues(name, url),
		lastSuccess:       m.lastSuccessStamp.WithLabelValues(name, url),
		droppedFull:       m.droppedTotal.WithLabelValues(name, url, reasonQueueFull),
		droppedFuture:     m.droppedTotal.WithLabelValues(name, url, reasonFuture),
		droppedShutdown:   m.droppedTotal.WithLabelValues(name, url, reasonShutdown),
		droppedAge:        m.droppedTotal.WithLabelValues(name, url, reasonMaxAge),
		split:             m.splitTotal.WithLabelValues(name, url),
		highestSent:       m.highestSent.WithLabelValues(name, url),
		protocolFallbacks: m.protocolFallback.WithLabelValues(name, url),
	}
}

// failed returns the failure counter for reason.
func (t *targetMetrics) failed(r string) prometheus.Counter {
	return t.parent.failedTotal.WithLabelValues(t.name, t.url, r)
}

// release gives back the reference taken by forTarget and deletes the
// target's label values when it was the last one.
func (t *targetMetrics) release() {
	m := t.parent
	key := [2]string{t.name, t.url}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[key]--
	if m.refs[key] > 0 {
		return
	}
	delete(m.refs, key)
	match := prometheus.Labels{remoteName: t.name, endpoint: t.url}
	m.samplesTotal.DeletePartialMatch(match)
	m.failedTotal.DeletePartialMatch(match)
	m.droppedTotal.DeletePartialMatch(match)
	m.retriedTotal.DeletePartialMatch(match)
	m.queueLength.DeletePartialMatch(match)
	m.sentBytesTotal.DeletePartialMatch(match)
	m.requestDuration.DeletePartialMatch(match)
	m.lastSuccessStamp.DeletePartialMatch(match)
	m.splitTotal.DeletePartialMatch(match)
	m.highestSent.DeletePartialMatch(match)
	m.protocolFallback.DeletePartialMatch(match)
}
