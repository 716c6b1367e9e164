package remoteread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/internal/httperr"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Forecaster gives the server the fitted models of the buffered series
// (engine.Engine implements it).
type Forecaster interface {
	Forecasts(keep func(input labels.Labels) bool, f func(output.Forecast) bool)
}

// samplesPerChunk is how many samples go into one XOR chunk, as in
// Prometheus' TSDB.
const samplesPerChunk = 120

// serverSettings are replaced together on a configuration reload.
type serverSettings struct {
	cfg      config.RemoteReadServerConfig
	maxBytes int
	// suffix is output.forecast_suffix, or "" under an output.preset
	// whose names do not derive from the input's name.
	suffix string
	// tenantHeader names the request header that says whose series a read
	// may see, when tenancy is enabled; "" otherwise.
	tenantHeader string
	// gate holds a token per request being answered; it is replaced only
	// when max_concurrent_requests changes, and a request gives its token
	// back to the gate it took it from.
	gate chan struct{}
}

// statusClientClosed counts requests given up because the client went away
// (nginx's 499).
const statusClientClosed = 499

// maxGateWait bounds how long a request waits for a slot in the gate
// before it is answered 503, so that waiting requests do not pile up
// without end behind slow ones (Prometheus waits as long as the client
// does, then answers 500).
const maxGateWait = 10 * time.Second

// Server is the http.Handler of POST /api/v1/read: it answers Prometheus'
// remote-read requests with the forecast series (yhat, yhat_lower,
// yhat_upper per model, without a horizon label) on the grid from the first
// grid time not yet written back up to the end of the query range, at most
// max_horizon past now; with serve_raw, also with the buffered input series.
type Server struct {
	logger   log.Logger
	store    *ring.Store
	fc       Forecaster
	now      func() time.Time
	settings atomic.Pointer[serverSettings]
	// gen changes on every ApplyConfig, so that the index is rebuilt.
	gen atomic.Uint64
	idx indexer

	requests    *prometheus.CounterVec
	served      *prometheus.CounterVec
	gateWait    prometheus.Histogram
	indexBuilds prometheus.Counter
}

// NewServer returns the remote-read handler. now nil means time.Now.
func NewServer(logger log.Logger, reg prometheus.Registerer, store *ring.Store, fc Forecaster, now func() time.Time) *Server {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if now == nil {
		now = time.Now
	}
	f := promauto.With(reg)
	s := &Server{
		logger: log.With(logger, "component", "remote_read_server"),
		store:  store,
		fc:     fc,
		now:    now,
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_remote_read_requests_total",
			Help: "Total number of remote-read requests answered, by HTTP status code.",
		}, []string{"code"}),
		served: f.NewCounterVec(prometheus.CounterOpts{
			Name: "train_prometheus_remote_read_samples_total",
			Help: "Total number of samples returned by the remote-read endpoint, by response type.",
		}, []string{"response_type"}),
		gateWait: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "train_prometheus_remote_read_gate_wait_duration_seconds",
			Help:    "How long remote-read requests waited for a slot of remote_read_server.max_concurrent_requests, including requests given up while waiting.",
			Buckets: []float64{.001, .01, .1, .5, 1, 2.5, 5, 10},
		}),
		indexBuilds: f.NewCounter(prometheus.CounterOpts{
			Name: "train_prometheus_remote_read_index_builds_total",
			Help: "Total number of times the remote-read server rebuilt its index of forecast series by metric name.",
		}),
	}
	def := config.DefaultRemoteReadServerConfig
	s.settings.Store(&serverSettings{cfg: def, maxBytes: config.DefaultLimitsConfig.MaxRequestBytes, suffix: config.DefaultOutputConfig.ForecastSuffix, gate: make(chan struct{}, def.MaxConcurrentRequests)})
	return s
}

// ApplyConfig takes the remote_read_server section and the request size
// limit of cfg.
func (s *Server) ApplyConfig(cfg *config.Config) error {
	st := &serverSettings{cfg: cfg.RemoteReadServer, maxBytes: cfg.Limits.MaxRequestBytes, suffix: cfg.Output.ForecastSuffix}
	if cfg.Output.Preset != "" {
		st.suffix = ""
	}
	if cfg.Tenancy.Enabled {
		st.tenantHeader = cfg.Tenancy.Header
	}
	if old := s.settings.Load(); old.cfg.MaxConcurrentRequests == st.cfg.MaxConcurrentRequests {
		st.gate = old.gate
	} else {
		st.gate = make(chan struct{}, max(st.cfg.MaxConcurrentRequests, 1))
	}
	s.settings.Store(st)
	s.gen.Add(1) // output names may have changed
	return nil
}

// errorf returns an error carrying the status of a refused request.
func errorf(status int, format string, args ...any) error {
	return httperr.Errorf(status, format, args...)
}

// series is one answer series: labels and its samples, produced on demand.
type series struct {
	lset labels.Labels
	// Forecast: grid points from..to (inclusive) of fit's value vt.
	fit      output.Forecast
	vt       int
	from, to int64
	// Raw: copied cells.
	raw []prompb.Sample
}

func (sr *series) count() int {
	if sr.raw != nil {
		return len(sr.raw)
	}
	if sr.to < sr.from {
		return 0
	}
	return int((sr.to-sr.from)/sr.fit.Step) + 1
}

// each calls f with every sample in time order.
func (sr *series) each(f func(t int64, v float64)) {
	if sr.raw != nil {
		for _, s := range sr.raw {
			f(s.Timestamp, s.Value)
		}
		return
	}
	for t := sr.from; t <= sr.to; t += sr.fit.Step {
		p := sr.fit.Fitted.Predict(t)
		v := [3]float64{p.Yhat, p.Lower, p.Upper}[sr.vt]
		if math.IsNaN(v) {
			continue
		}
		f(t, v)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, err := s.serve(w, r)
	s.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	if err != nil {
		level.Debug(s.logger).Log("msg", "Remote-read request failed", "code", code, "err", err)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) (int, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "remote read requires POST", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed, nil
	}
	st := s.settings.Load()
	release, err := s.enter(r.Context(), st)
	if err == nil {
		defer release()
		var (
			rt     prompb.ReadRequest_ResponseType
			answer [][]*series
		)
		rt, answer, err = s.prepare(r, st)
		if err == nil {
			return http.StatusOK, s.respond(r.Context(), w, rt, answer)
		}
	}
	status := httperr.Status(err)
	if _, ok := errors.AsType[*httperr.Error](err); !ok && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client is gone: nobody reads this, but the count says why.
		status = statusClientClosed
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, err.Error(), status)
	return status, err
}

// enter waits for a slot of the concurrency gate, at most maxGateWait and
// while the client waits, and returns the function that gives it back.
func (s *Server) enter(ctx context.Context, st *serverSettings) (func(), error) {
	start := time.Now()
	timer := time.NewTimer(maxGateWait)
	defer timer.Stop()
	select {
	case st.gate <- struct{}{}:
		s.gateWait.Observe(time.Since(start).Seconds())
		return func() { <-st.gate }, nil
	case <-ctx.Done():
		s.gateWait.Observe(time.Since(start).Seconds())
		return nil, errorf(http.StatusServiceUnavailable, "wait for a remote-read slot: %v", ctx.Err())
	case <-timer.C:
		s.gateWait.Observe(time.Since(start).Seconds())
		return nil, errorf(http.StatusServiceUnavailable, "all %d remote-read slots (remote_read_server.max_concurrent_requests) stayed busy for %s; retry later", cap(st.gate), maxGateWait)
	}
}

// prepare decodes the request, negotiates the response type and finds the
// answer, so that every refusal comes before the first byte is written.
func (s *Server) prepare(r *http.Request, st *serverSettings) (prompb.ReadRequest_ResponseType, [][]*series, error) {
	req, err := decodeReadRequest(r.Body, st.maxBytes)
	if err != nil {
		return 0, nil, err
	}
	if len(req.Queries) > st.cfg.MaxQueries {
		return 0, nil, errorf(http.StatusBadRequest, "request has %d queries, more than remote_read_server.max_queries %d", len(req.Queries), st.cfg.MaxQueries)
	}
	rt, err := negotiate(req.AcceptedResponseTypes)
	if err != nil {
		return 0, nil, err
	}
	tenant := ""
	if st.tenantHeader != "" {
		tenant = r.Header.Get(st.tenantHeader)
		if err := config.ValidateTenant(tenant); err != nil {
			return 0, nil, errorf(http.StatusBadRequest, "%s: %v", st.tenantHeader, err)
		}
	}
	answer, err := s.lookup(r.Context(), req, st, tenant)
	return rt, answer, err
}

// DecodeReadRequest reads a snappy-compressed ReadRequest of at most
// maxBytes, compressed and decoded, from r.
func DecodeReadRequest(r io.Reader, maxBytes int) (*prompb.ReadRequest, error) {
	return decodeReadRequest(r, maxBytes)
}

func decodeReadRequest(r io.Reader, maxBytes int) (*prompb.ReadRequest, error) {
	compressed, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	if len(compressed) > maxBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body exceeds limits.max_request_bytes %d", maxBytes)
	}
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode snappy request body: %v", err)
	}
	if n > maxBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, "decoded request of %d bytes exceeds limits.max_request_bytes %d", n, maxBytes)
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode snappy request body: %v", err)
	}
	var req prompb.ReadRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return nil, errorf(http.StatusBadRequest, "unmarshal read request: %v", err)
	}
	return &req, nil
}

// negotiate picks the first response type the client accepts; none listed
// means SAMPLES.
func negotiate(accepted []prompb.ReadRequest_ResponseType) (prompb.ReadRequest_ResponseType, error) {
	if len(accepted) == 0 {
		return prompb.ReadRequest_SAMPLES, nil
	}
	for _, rt := range accepted {
		if rt == prompb.ReadRequest_SAMPLES || rt == prompb.ReadRequest_STREAMED_XOR_CHUNKS {
			return rt, nil
		}
	}
	return 0, errorf(http.StatusBadRequest, "none of the accepted response types %v is supported (SAMPLES, STREAMED_XOR_CHUNKS)", accepted)
}

// toMatchers converts and compiles the matchers of a query.
func toMatchers(qi int, pms []*prompb.LabelMatcher) ([]*labels.Matcher, error) {
	ms := make([]*labels.Matcher, 0, len(pms))
	for _, pm := range pms {
		if pm == nil {
			continue
		}
		var t labels.MatchType
		switch pm.Type {
		case prompb.LabelMatcher_EQ:
			t = labels.MatchEqual
		case prompb.LabelMatcher_NEQ:
			t = labels.MatchNotEqual
		case prompb.LabelMatcher_RE:
			t = labels.MatchRegexp
		case prompb.LabelMatcher_NRE:
			t = labels.MatchNotRegexp
		default:
			return nil, errorf(http.StatusBadRequest, "query %d: unknown matcher type %d for label %q", qi, pm.Type, pm.Name)
		}
		m, err := labels.NewMatcher(t, pm.Name, pm.Value)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "query %d: matcher %s%s%q: %v", qi, pm.Name, t, pm.Value, err)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errorf(http.StatusBadRequest, "query %d: at least one matcher is required", qi)
	}
	return ms, nil
}

// tenantView returns lset as tenant may see it, without the tenant label,
// and whether tenant may see it at all: only series whose tenant label
// (empty when absent) equals tenant. Without tenancy every series has an
// empty tenant and so does every read.
func tenantView(lset labels.Labels, tenant string) (labels.Labels, bool) {
	own := lset.Get(config.TenantLabel)
	if own != tenant {
		return labels.EmptyLabels(), false
	}
	if own == "" {
		return lset, true
	}
	return labels.NewBuilder(lset).Del(config.TenantLabel).Labels(), true
}

func matchesAll(ms []*labels.Matcher, lset labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// lookup finds the answer series of every query and enforces the limits
// before anything is written. With tenancy, only the series of tenant are
// seen (the tenant label, config.TenantLabel, must equal it), and that
// label is never shown nor matched: tenants never see each other's series.
// A query with an equality matcher on __name__ visits only the series of
// that name (see index). It stops with the context's error once the client
// is gone.
func (s *Server) lookup(ctx context.Context, req *prompb.ReadRequest, st *serverSettings, tenant string) ([][]*series, error) {
	now := s.now().UnixMilli()
	horizonEnd := now + time.Duration(st.cfg.MaxHorizon).Milliseconds()
	answer := make([][]*series, len(req.Queries))
	nSeries, nSamples := 0, 0
	var idx *index
	for qi, q := range req.Queries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("answer query %d: %w", qi, err)
		}
		if q == nil {
			return nil, errorf(http.StatusBadRequest, "query %d is empty", qi)
		}
		if q.StartTimestampMs > q.EndTimestampMs {
			return nil, errorf(http.StatusBadRequest, "query %d: start %d after end %d", qi, q.StartTimestampMs, q.EndTimestampMs)
		}
		ms, err := toMatchers(qi, q.Matchers)
		if err != nil {
			return nil, err
		}
		if idx == nil {
			if idx, err = s.index(ctx, st.cfg.ServeRaw); err != nil {
				return nil, fmt.Errorf("index series for query %d: %w", qi, err)
			}
		}
		name := equalName(ms)
		labelsOnly := q.Hints != nil && q.Hints.Func == "series"
		var out []*series
		add := func(sr *series) bool {
			n := sr.count()
			if n == 0 {
				return true // as a TSDB, only series with samples in the range
			}
			if labelsOnly {
				sr.to, sr.raw, n = sr.from-1, nil, 0
			}
			nSeries++
			nSamples += n
			out = append(out, sr)
			return nSeries <= st.cfg.MaxSeries && nSamples <= st.cfg.MaxSamples
		}
		within, visited := true, 0
		alive := func() bool {
			if visited++; visited%ctxCheckEvery == 0 && ctx.Err() != nil {
				return false
			}
			return true
		}
		idx.eachForecast(name, func(c *indexed) bool {
			if !alive() {
				return false
			}
			lset, ok := tenantView(c.lset, tenant)
			if !ok || !matchesAll(ms, lset) {
				return true
			}
			fc := c.fc
			from := grid.Floor(now, fc.Step)
			if fc.Written != math.MinInt64 {
				from = fc.Written + fc.Step
			}
			from = max(from, ceilTo(q.StartTimestampMs, fc.Step))
			to := grid.Floor(min(q.EndTimestampMs, horizonEnd), fc.Step)
			within = add(&series{lset: lset, fit: *fc, vt: c.vt, from: from, to: to})
			return within
		})
		if within && st.cfg.ServeRaw {
			idx.eachRaw(name, func(ser *ring.Series) bool {
				if !alive() {
					return false
				}
				lset, ok := tenantView(ser.Labels(), tenant)
				if !ok || !matchesAll(ms, lset) {
					return true
				}
				within = add(&series{lset: lset, raw: rawSamples(ser, q.StartTimestampMs, q.EndTimestampMs)})
				return within
			})
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("answer query %d: %w", qi, err)
		}
		if nSeries > st.cfg.MaxSeries {
			return nil, errorf(http.StatusRequestEntityTooLarge, "the answer exceeds remote_read_server.max_series %d series; narrow the selectors", st.cfg.MaxSeries)
		}
		if nSamples > st.cfg.MaxSamples {
			return nil, errorf(http.StatusRequestEntityTooLarge, "the answer exceeds remote_read_server.max_samples %d samples; narrow the selectors or the time range", st.cfg.MaxSamples)
		}
		slices.SortFunc(out, func(a, b *series) int { return labels.Compare(a.lset, b.lset) })
		answer[qi] = out
	}
	return answer, nil
}

// rawSamples copies the buffered cells of ser within [from, to].
func rawSamples(ser *ring.Series, from, to int64) []prompb.Sample {
	start, vals := ser.Values(math.MaxInt64, nil)
	step := ser.Options().Step.Milliseconds()
	out := []prompb.Sample{}
	for i, v := range vals {
		t := start + int64(i)*step
		if t < from || t > to || math.IsNaN(v) {
			continue
		}
		out = append(out, prompb.Sample{Timestamp: t, Value: v})
	}
	return out
}

// respond writes the answer in the negotiated response type.
func (s *Server) respond(ctx context.Context, w http.ResponseWriter, rt prompb.ReadRequest_ResponseType, answer [][]*series) error {
	if rt == prompb.ReadRequest_STREAMED_XOR_CHUNKS {
		return s.respondStreamed(ctx, w, answer)
	}
	resp := &prompb.ReadResponse{Results: make([]*prompb.QueryResult, len(answer))}
	total := 0
	for qi, out := range answer {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("build read response: %w", err)
		}
		res := &prompb.QueryResult{}
		for _, sr := range out {
			ts := &prompb.TimeSeries{Labels: toProtoLabels(sr.lset)}
			sr.each(func(t int64, v float64) {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
			})
			total += len(ts.Samples)
			res.Timeseries = append(res.Timeseries, ts)
		}
		resp.Results[qi] = res
	}
	raw, err := proto.Marshal(resp)
	if err != nil {
		return fmt.Errorf("marshal read response: %w", err)
	}
	w.Header().Set("Content-Type", contentTypeSamples)
	w.Header().Set("Content-Encoding", "snappy")
	_, err = w.Write(snappy.Encode(nil, raw))
	s.served.WithLabelValues("samples").Add(float64(total))
	return err
}

// respondStreamed writes one frame per series, with XOR chunks of at most
// samplesPerChunk samples.
func (s *Server) respondStreamed(ctx context.Context, w http.ResponseWriter, answer [][]*series) error {
	w.Header().Set("Content-Type", contentTypeStreamed)
	flusher, _ := w.(http.Flusher)
	var (
		buf   []byte
		total int
	)
	for qi, out := range answer {
		for _, sr := range out {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("write response frame: %w", err)
			}
			chunks, n := encodeChunks(sr)
			total += n
			msg, err := proto.Marshal(&prompb.ChunkedReadResponse{
				ChunkedSeries: []*prompb.ChunkedSeries{{Labels: toProtoLabels(sr.lset), Chunks: chunks}},
				QueryIndex:    int64(qi),
			})
			if err != nil {
				return fmt.Errorf("marshal response frame: %w", err)
			}
			buf = appendFrame(buf[:0], msg)
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("write response frame: %w", err)
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
	s.served.WithLabelValues("streamed_xor_chunks").Add(float64(total))
	return nil
}

// encodeChunks encodes the samples of sr as XOR chunks.
func encodeChunks(sr *series) ([]prompb.Chunk, int) {
	var (
		chunks []prompb.Chunk
		c      *chunkenc.XORChunk
		app    chunkenc.Appender
		minT   int64
		maxT   int64
		total  int
	)
	cut := func() {
		if c != nil && c.NumSamples() > 0 {
			chunks = append(chunks, prompb.Chunk{MinTimeMs: minT, MaxTimeMs: maxT, Type: prompb.Chunk_XOR, Data: c.Bytes()})
		}
		c = nil
	}
	sr.each(func(t int64, v float64) {
		if c == nil || c.NumSamples() >= samplesPerChunk {
			cut()
			c = chunkenc.NewXORChunk()
			app, _ = c.Appender() // a new chunk always has an appender
			minT = t
		}
		app.Append(0, t, v)
		maxT = t
		total++
	})
	cut()
	return chunks, total
}

func toProtoLabels(lset labels.Labels) []prompb.Label {
	out := make([]prompb.Label, 0, lset.Len())
	lset.Range(func(l labels.Label) {
		out = append(out, prompb.Label{Name: l.Name, Value: l.Value})
	})
	return out
}

// ceilTo rounds t up to a multiple of step.
func ceilTo(t, step int64) int64 {
	return -grid.Floor(-t, step)
}
