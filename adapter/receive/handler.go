// Package receive implements the remote-write receiver, 1.0 and 2.0: it
// decodes Prometheus remote-write requests, validates their series, keeps
// the series selected by a Router and appends their samples to the ring
// buffers of a ring.Store. Metric types (2.0 series metadata, 1.0 metadata
// requests) are recorded in the store.
package receive

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Router decides which series are kept and how they are buffered. It is
// implemented by the adapter from the forecasts entries of the
// configuration.
//
// Route is called concurrently, once per valid series of every request.
// lset is only valid during the call: its strings live in a buffer that is
// reused for the next series, so Route must not retain lset or any string
// taken from it (use lset.Copy to keep it).
type Router interface {
	Route(lset labels.Labels) (opts ring.Options, ok bool)
}

// limits are the settings that a configuration reload replaces together.
type limits struct {
	router Router // nil selects no series.
	Limits
	sem    semaphore   // MaxInflightRequests slots; nil: no bound
	cache  *routeCache // routing decisions under these settings
	newest newestTimes // newest sample per ring group under these settings
}

// Handler is the http.Handler of the remote-write endpoint (1.0 and 2.0). It is safe
// for concurrent use.
type Handler struct {
	logger log.Logger
	store  *ring.Store
	limits atomic.Pointer[limits]
	now    func() time.Time // time.Now, replaced in tests.
	owns   func(labels.Labels) bool
	mem    *memGauge
	pool   requestPool
	// lastEvict is when makeRoom last ran (unix nanos).
	lastEvict atomic.Int64

	requests  *prometheus.CounterVec
	versions  [2]prometheus.Counter // requests by protocol version: 1.0, 2.0
	duration  prometheus.Histogram
	samples   prometheus.Counter
	exemplars prometheus.Counter
	metadata  prometheus.Counter
	dropped   [numReasons]prometheus.Counter
}

// NewHandler returns a handler that appends the samples of the series that
// router selects to store, which must not be nil. A nil router selects no
// series. Requests larger than maxRequestBytes, encoded or decoded, are
// refused with 413; zero or less means DefaultMaxRequestBytes. logger and
// reg may be nil.
func NewHandler(logger log.Logger, reg prometheus.Registerer, store *ring.Store, router Router, maxRequestBytes int) *Handler {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	f := promauto.With(reg)
	h := &Handler{
		logger: log.With(logger, "component", "receive"),
		store:  store,
		now:    time.Now,
		mem:    newMemGauge(),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_received_requests_total",
			Help: "Total number of remote-write requests received, by HTTP status code of the answer.",
		}, []string{"code"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:                            "train_prometheus_received_request_duration_seconds",
			Help:                            "Time spent reading, decoding and storing a remote-write request.",
			Buckets:                         prometheus.DefBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}),
		samples: f.NewCounter(prometheus.CounterOpts{
			Name: "train_prometheus_received_samples_total",
			Help: "Total number of received samples accepted into ring buffers.",
		}),
		exemplars: f.NewCounter(prometheus.CounterOpts{
			Name: "train_prometheus_received_exemplars_total",
			Help: "Total number of received exemplars of valid series: accepted and counted, not kept.",
		}),
		metadata: f.NewCounter(prometheus.CounterOpts{
			Name: "train_prometheus_received_metadata_total",
			Help: "Total number of metric-family metadata entries received in remote-write 1.0 requests (their metric types are kept).",
		}),
	}
	versions := f.NewCounterVec(prometheus.CounterOpts{
		Name: "train_prometheus_received_requests_by_version_total",
		Help: "Total number of remote-write requests received, by protocol version (from the content type): 1.0 or 2.0.",
	}, []string{"version"})
	h.versions = [2]prometheus.Counter{versions.WithLabelValues("1.0"), versions.WithLabelValues("2.0")}
	for _, code := range []int{http.StatusNoContent, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusTooManyRequests} {
		h.requests.WithLabelValues(strconv.Itoa(code))
	}
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "train_prometheus_dropped_samples_total",
		Help: "Total number of received samples and histogram samples not accepted into ring buffers, by reason.",
	}, []string{"reason"})
	for r := range numReasons {
		h.dropped[r] = dropped.WithLabelValues(r.String())
	}
	h.SetLimits(router, maxRequestBytes)
	if reg != nil {
		reg.MustRegister(newLagCollector(h))
	}
	return h
}

// SetOwner makes the handler keep only the selected series for which owns
// is true (this replica's shard); the others are dropped and counted with
// reason not_owned. Call it before serving; nil keeps every series.
func (h *Handler) SetOwner(owns func(labels.Labels) bool) { h.owns = owns }

// SetLimits replaces the router and the request size limit, e.g. on a
// configuration reload. It is safe to call concurrently with ServeHTTP:
// each request uses either the old or the new settings, never a mix.
// SetLimits replaces the router and the request size limit, keeping the
// other limits. See Configure.
func (h *Handler) SetLimits(router Router, maxRequestBytes int) {
	var l Limits
	if cur := h.limits.Load(); cur != nil {
		l = cur.Limits
	}
	l.MaxRequestBytes = maxRequestBytes
	h.Configure(router, l)
}

// Configure replaces the router and every limit, e.g. on a configuration
// reload. It is safe to call concurrently with ServeHTTP: each request
// uses either the old or the new settings, never a mix. Requests in flight
// keep their slot of the old concurrency bound.
func (h *Handler) Configure(router Router, l Limits) {
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultMaxRequestBytes
	}
	next := &limits{router: router, Limits: l, cache: newRouteCache(defaultRouteCacheBytes)}
	if cur := h.limits.Load(); cur != nil && cur.MaxInflightRequests == l.MaxInflightRequests {
		next.sem = cur.sem
	} else {
		next.sem = newSemaphore(l.MaxInflightRequests)
	}
	h.limits.Store(next)
}

// ServeHTTP receives one remote-write request, 1.0 or 2.0. It answers 204
// when the request was valid, even if some of its samples were dropped
// (unselected series, too many series, NaN, resends, timestamps out of
// bounds); 400 when it held invalid data, after storing its valid series;
// 405, 413 and 415 for a wrong method, a request too large and an
// unsupported encoding or content type. Dropped samples are counted by
// reason in train_prometheus_dropped_samples_total. Every answer to a 2.0
// request carries the X-Prometheus-Remote-Write-*-Written headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var st stats
	v2, err := h.handle(r, &st)
	if v2 {
		hdr := w.Header()
		hdr.Set(writtenSamplesHeader, strconv.Itoa(st.samplesWritten))
		hdr.Set(writtenHistogramsHeader, strconv.Itoa(st.histogramsWritten))
		hdr.Set(writtenExemplarsHeader, strconv.Itoa(st.exemplarsWritten))
	}
	code := http.StatusNoContent
	if err != nil {
		code = statusOf(err)
		// Debug only: a sender retrying a bad request must not flood the log.
		level.Debug(h.logger).Log("msg", "Rejected remote-write request", "code", code, "remote_addr", r.RemoteAddr, "err", err)
		switch code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", http.MethodPost)
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", retryAfterSeconds)
		}
		http.Error(w, err.Error(), code)
	} else {
		w.WriteHeader(code)
	}
	h.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	if code != http.StatusUnsupportedMediaType && code != http.StatusMethodNotAllowed {
		h.versions[b2i(v2)].Inc()
	}
	h.duration.Observe(time.Since(start).Seconds())
}

// The headers of a 2.0 answer that tell what was written.
const (
	writtenSamplesHeader    = "X-Prometheus-Remote-Write-Samples-Written"
	writtenHistogramsHeader = "X-Prometheus-Remote-Write-Histograms-Written"
	writtenExemplarsHeader  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// handle decodes and stores the request, counting into st. It reports
// whether the request is a remote-write 2.0 one. A non-nil error is an
// *HTTPError.
func (h *Handler) handle(r *http.Request, st *stats) (v2 bool, err error) {
	if r.Method != http.MethodPost {
		return false, httpErrorf(http.StatusMethodNotAllowed, "method %s not allowed: use POST", r.Method)
	}
	v2, err = checkHeaders(r.Header)
	if err != nil {
		return v2, err
	}
	lim := h.limits.Load()
	if r.ContentLength > int64(lim.MaxRequestBytes) {
		return v2, httpErrorf(http.StatusRequestEntityTooLarge, "check content length: %d bytes exceeds the limit of %d bytes (limits.max_request_bytes)", r.ContentLength, lim.MaxRequestBytes)
	}
	// Overload: refuse before reading the body, so that a refused request
	// costs next to nothing. 429 tells senders to retry later.
	pressure := h.mem.pressure(lim.MaxMemoryBytes, time.Now())
	if pressure == memRefuse {
		return v2, httpErrorf(http.StatusTooManyRequests, "memory ceiling: live heap %d bytes is over %.0f%% of limits.max_memory_bytes=%d, retry later", h.mem.bytes(time.Now()), requestShare*100, lim.MaxMemoryBytes)
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	req := h.pool.get()
	defer h.pool.put(req)
	// The body is read before a decode slot is taken, so that slow or
	// stalled senders cannot hold the slots (the server's read timeout and
	// connection limit bound them); the slots bound decoding and storing.
	if err := readBody(body, r.ContentLength, lim.MaxRequestBytes, req); err != nil {
		return v2, err
	}
	if !lim.sem.acquire(inflightWait) {
		return v2, httpErrorf(http.StatusTooManyRequests, "overloaded: %d requests in flight (limits.max_inflight_requests), retry later", lim.MaxInflightRequests)
	}
	defer lim.sem.release()
	var bad []error
	if v2 {
		if err := req.unmarshalV2(req.buf); err != nil {
			return v2, httpErrorf(http.StatusBadRequest, "unmarshal remote-write 2.0 request: %w", err)
		}
		if len(req.series) == 0 && len(req.symbols) == 0 && req.unknown {
			return v2, httpErrorf(http.StatusBadRequest, "decode request: no remote-write 2.0 series or symbols, only unknown fields (a remote-write 1.0 body sent as 2.0? send it with Content-Type: %s;proto=%s)", protobufMediaType, protoV1)
		}
		if bad, err = req.resolveV2(nil); err != nil {
			return v2, httpErrorf(http.StatusBadRequest, "resolve remote-write 2.0 symbols: %w", err)
		}
	} else {
		if err := req.unmarshalV1(req.buf); err != nil {
			return v2, httpErrorf(http.StatusBadRequest, "unmarshal remote-write 1.0 request: %w", err)
		}
		if len(req.series) == 0 && len(req.metadata) == 0 && req.unknown {
			// Fields 4 and 5 of a 2.0 request are unknown to 1.0: refuse
			// rather than answer 204 to data that would be lost.
			return v2, httpErrorf(http.StatusBadRequest, "decode request: no remote-write 1.0 series or metadata, only unknown fields (a remote-write 2.0 body sent as 1.0? send it with Content-Type: %s;proto=%s)", protobufMediaType, protoV2)
		}
	}
	if n := lim.MaxSeriesPerRequest; n > 0 && len(req.series) > n {
		return v2, httpErrorf(http.StatusRequestEntityTooLarge, "request has %d series, more than limits.max_series_per_request=%d", len(req.series), n)
	}
	h.recordMetadata(req.metadata)

	st.maxT = h.now().Add(maxAhead).UnixMilli()
	st.noNewSeries = pressure == memNoNewSeries
	if lim.TenantHeader != "" {
		st.tenant = r.Header.Get(lim.TenantHeader)
		if err := config.ValidateTenant(st.tenant); err != nil {
			return v2, httpErrorf(http.StatusBadRequest, "check %s header: %w", lim.TenantHeader, err)
		}
	}
	if err := req.lookupRoutes(lim.cache, st.tenant); err != nil {
		return v2, httpErrorf(http.StatusBadRequest, "unmarshal remote-write 1.0 request: %w", err)
	}
	h.write(st, req, bad, lim)
	lim.newest.update(st.newest)
	h.samples.Add(float64(st.accepted))
	h.exemplars.Add(float64(st.exemplarsWritten))
	for reason, n := range st.dropped {
		if n > 0 {
			h.dropped[reason].Add(float64(n))
		}
	}
	if st.storeErr != nil {
		// Not the sender's fault, and retrying would not help: keep the
		// answer 204 but make the failure visible.
		level.Warn(h.logger).Log("msg", "Failed to store samples", "samples", st.dropped[reasonError], "err", st.storeErr)
	}
	switch {
	case st.invalidSeries > 0:
		return v2, httpErrorf(http.StatusBadRequest, "rejected %d of %d series (%d samples) as invalid, kept the valid ones (%d samples accepted); first: %w",
			st.invalidSeries, len(req.series), st.dropped[reasonInvalid], st.accepted, st.firstInvalid)
	case st.dropped[reasonMaxSeries] > 0:
		// Waiting does not make room (series leave only when their data
		// ages out of the window): a 4xx, which senders do not retry.
		return v2, httpErrorf(http.StatusBadRequest, "refused %d samples of new series: the store holds limits.max_series series; kept the known ones (%d samples accepted)",
			st.dropped[reasonMaxSeries], st.accepted)
	case st.dropped[reasonMemory] > 0:
		// Memory comes back: a 429 asks to send again later; the known
		// series' samples, kept now, are then resends and ignored.
		return v2, httpErrorf(http.StatusTooManyRequests, "refused %d samples of new series near limits.max_memory_bytes=%d; kept the known ones (%d samples accepted), retry later",
			st.dropped[reasonMemory], lim.MaxMemoryBytes, st.accepted)
	}
	return v2, nil
}

// recordMetadata keeps the metric types that 1.0 metadata declares for
// metric families. Names are copied: they alias the request.
func (h *Handler) recordMetadata(md []familyType) {
	for _, m := range md {
		if m.name == "" {
			continue
		}
		if t, ok := h.store.FamilyType(m.name); !ok || t != m.typ {
			h.store.SetFamilyType(strings.Clone(m.name), m.typ)
		}
	}
	h.metadata.Add(float64(len(md)))
}

// Media types and protobuf messages of remote write.
const (
	protobufMediaType = "application/x-protobuf"
	protoV1           = "prometheus.WriteRequest"
	protoV2           = "io.prometheus.write.v2.Request"
)

// checkHeaders requires what the remote-write specifications make senders
// send: Content-Encoding snappy and the content type of 1.0
// (application/x-protobuf, with proto=prometheus.WriteRequest or none) or
// 2.0 (proto=io.prometheus.write.v2.Request); anything else, their absence
// included, is a 415. Requiring them also refuses what a web page can make
// a browser send across origins without asking (a "simple" request cannot
// carry either header). It reports whether the request is a 2.0 one.
func checkHeaders(hdr http.Header) (v2 bool, err error) {
	ct := hdr.Get("Content-Type")
	if ct == "" {
		return false, httpErrorf(http.StatusUnsupportedMediaType, "check content type: none given; remote write sends %s (1.0, or ;proto=%s for 2.0)", protobufMediaType, protoV2)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, &HTTPError{Status: http.StatusUnsupportedMediaType, Err: fmt.Errorf("parse content type %q: %w", ct, err)}
	}
	if mt != protobufMediaType {
		return false, httpErrorf(http.StatusUnsupportedMediaType, "check content type: %q is not supported, only %s is (proto=%s for remote-write 1.0, proto=%s for 2.0)", ct, protobufMediaType, protoV1, protoV2)
	}
	switch params["proto"] {
	case "", protoV1:
	case protoV2:
		v2 = true
	default:
		return false, httpErrorf(http.StatusUnsupportedMediaType, "check content type: protobuf message %q is not supported, only %s (remote-write 1.0) and %s (2.0) are", params["proto"], protoV1, protoV2)
	}
	switch enc := hdr.Get("Content-Encoding"); {
	case enc == "":
		return v2, httpErrorf(http.StatusUnsupportedMediaType, "check content encoding: none given; remote write sends snappy")
	case !strings.EqualFold(strings.TrimSpace(enc), "snappy"):
		return v2, httpErrorf(http.StatusUnsupportedMediaType, "check content encoding: %q is not supported, only snappy is", enc)
	}
	return v2, nil
}

// b2i returns 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
