// Package writeback sends forecasts and anomaly scores to Prometheus, Grafana
// Mimir or Thanos Receive with remote-write 1.0 or 2.0 (protobuf_message):
// one Queue per target, and a Manager that fans samples out to the queues of
// the configured targets.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	commonconfig "github.com/prometheus/common/config"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// Sample is one output sample. Labels are complete (metric name included,
// external labels already added by the caller) and sorted.
type Sample = output.Sample

// Options tune the queues beyond their configuration.
type Options struct {
	// UserAgent is sent with every request, e.g. "train-prometheus/<version>"
	// (empty → "train-prometheus").
	UserAgent string
	// Now is the clock used for the future check and the last-success
	// timestamp (nil → time.Now).
	Now func() time.Time
	// FlushDeadline is how long Stop keeps sending what is queued (0 → 5s).
	FlushDeadline time.Duration
	// MaxFuture drops samples stamped later than Now()+MaxFuture at Append,
	// counted with reason "future" (0 → 5m).
	MaxFuture time.Duration
}

// withDefaults fills the unset options.
func (o Options) withDefaults() Options {
	if o.UserAgent == "" {
		o.UserAgent = "train-prometheus"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushDeadline <= 0 {
		o.FlushDeadline = 5 * time.Second
	}
	if o.MaxFuture <= 0 {
		o.MaxFuture = 5 * time.Minute
	}
	return o
}

// Queue sends samples to one target. Samples wait in MaxShards bounded
// FIFOs (a series always in the same one) that drop their oldest samples
// when full; each shard sends batches of up to MaxSamplesPerSend and
// retries recoverable errors until the queue stops.
type Queue struct {
	cfg              *config.RemoteWriteConfig
	logger           log.Logger
	m                *targetMetrics
	client           *http.Client
	url              string
	userAgent        string
	timeout          time.Duration
	retryOnRateLimit bool
	now              func() time.Time
	flushDeadline    time.Duration
	maxFuture        time.Duration
	maxSend          int
	maxAge           time.Duration // 0: no bound
	tenantHeader     *tenantHeaderPtr
	rejects          *rejectLog
	shards           []*shard

	mu       sync.RWMutex // held for reading by Append, for writing to change the fields below
	started  bool
	stopped  bool
	stopping chan struct{} // closed by Stop
	ctx      context.Context
	cancel   context.CancelFunc // ends sends and retries: the flush deadline
	stopOnce sync.Once
	wg       sync.WaitGroup

	// noWait makes Append drop the oldest samples of a full shard instead
	// of waiting for room (set by stopWaiting).
	noWait atomic.Bool
	// lastErr is the newest error a send met, for the status page.
	lastErr atomic.Pointer[sendError]
	// fellBack is set when a 2.0 target answered 415: it is sent 1.0.
	fellBack atomic.Bool

	sentMu      sync.Mutex
	highestSent int64 // highest timestamp (ms) the target accepted
}

// NewQueue returns a queue for the target cfg, not yet started; cfg must
// not change afterwards. It registers its own metrics on reg (nil registers
// nothing), so queues that share a registry must come from one Manager.
func NewQueue(cfg *config.RemoteWriteConfig, logger log.Logger, reg prometheus.Registerer, opts Options) (*Queue, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	return newQueue(cfg, logger, newMetrics(reg), opts, new(tenantHeaderPtr))
}

// checkConfig checks what the queue relies on. It does not reject reserved
// headers: those are overwritten when a request is made.
func checkConfig(cfg *config.RemoteWriteConfig) error {
	switch {
	case cfg == nil:
		return errors.New("remote_write config is nil")
	case cfg.Name == "":
		return errors.New("remote_write name must be set")
	case cfg.URL == nil || cfg.URL.URL == nil || cfg.URL.Host == "":
		return fmt.Errorf("remote_write %s: url must be set", cfg.Name)
	case cfg.RemoteTimeout <= 0:
		return fmt.Errorf("remote_write %s: remote_timeout must be positive", cfg.Name)
	}
	if err := cfg.ProtobufMessage.Validate(); err != nil {
		return fmt.Errorf("remote_write %s: %w", cfg.Name, err)
	}
	if err := cfg.QueueConfig.Validate(); err != nil {
		return fmt.Errorf("remote_write %s: queue_config: %w", cfg.Name, err)
	}
	return nil
}

// newQueue builds a queue whose metrics are children of m. cfg must have
// passed checkConfig.
func newQueue(cfg *config.RemoteWriteConfig, logger log.Logger, m *metrics, opts Options, tenantHeader *tenantHeaderPtr) (*Queue, error) {
	client, err := commonconfig.NewClientFromConfig(cfg.HTTPClientConfig, "remote_write")
	if err != nil {
		return nil, fmt.Errorf("create HTTP client for remote_write %s: %w", cfg.Name, err)
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	opts = opts.withDefaults()
	qc := cfg.QueueConfig
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		cfg:              cfg,
		logger:           log.With(logger, "component", "writeback", "remote_name", cfg.Name),
		m:                m.forTarget(cfg.Name, cfg.URL.Redacted()),
		client:           client,
		url:              cfg.URL.String(),
		userAgent:        opts.UserAgent,
		timeout:          time.Duration(cfg.RemoteTimeout),
		retryOnRateLimit: qc.RetryOnRateLimit,
		now:              opts.Now,
		flushDeadline:    opts.FlushDeadline,
		maxFuture:        opts.MaxFuture,
		maxSend:          qc.MaxSamplesPerSend,
		stopping:         make(chan struct{}),
		ctx:              ctx,
		cancel:           cancel,
	}
	q.maxAge = time.Duration(qc.MaxSampleAge)
	q.highestSent = math.MinInt64
	q.tenantHeader = tenantHeader
	q.rejects = newRejectLog(q.logger, rejectLogInterval)
	n := min(qc.MaxShards, qc.Capacity)
	for i := range n {
		c := qc.Capacity / n
		if i < qc.Capacity%n {
			c++
		}
		q.shards = append(q.shards, newShard(q, c, qc.MaxBytes/int64(n)))
	}
	return q, nil
}

// Start starts the shards. Samples appended before Start wait for it.
// Start after Stop does nothing.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started || q.stopped {
		return
	}
	q.started = true
	level.Info(q.logger).Log("msg", "Starting remote write queue", "url", q.cfg.URL.Redacted(), "shards", len(q.shards))
	q.wg.Add(len(q.shards))
	for _, s := range q.shards {
		go s.run(q.ctx)
	}
}

// Append queues samples. Samples stamped later than Now()+MaxFuture are
// dropped and counted. When a shard is full, Append waits for it to make
// room while the target accepts what is sent (backpressure, so a burst
// larger than the capacity is not lost); while the target fails, before
// Start and after Stop begins, it drops the shard's oldest samples instead
// (counted), so an outage never blocks the caller. After Stop, Append does
// nothing. A Manager calls it from each target's inbox (see inbox.go), so
// that the wait delays that target's later samples only.
func (q *Queue) Append(samples []Sample) {
	if len(samples) == 0 {
		return
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.stopped {
		return
	}
	limit := q.now().Add(q.maxFuture).UnixMilli()
	wall := time.Now()
	nShards := uint64(len(q.shards))
	var future, full int
	for i := range samples {
		if samples[i].T > limit {
			future++
			continue
		}
		s := q.shards[samples[i].Labels.Hash()%nShards]
		size := sampleBytes(&samples[i])
		s.mu.Lock()
		// Backpressure while the target accepts samples: wait for the
		// shard to make room rather than drop. While the target fails, or
		// before the queue runs, the oldest samples are dropped instead, so
		// an outage never blocks the caller and memory stays bounded.
		for !s.hasRoom(size) && !s.failing && q.started && !q.isStopping() && !q.noWait.Load() {
			s.space.Wait()
		}
		d := s.push(samples[i], size, wall)
		full += d
		q.m.queueLength.Add(float64(1 - d))
		wake := s.n == 1 || s.full()
		s.mu.Unlock()
		if wake {
			s.wake()
		}
	}
	if future > 0 {
		q.m.droppedFuture.Add(float64(future))
	}
	if full > 0 {
		q.m.droppedFull.Add(float64(full))
	}
}

// accepted records that the target accepted a batch whose highest sample
// timestamp is maxT (ms).
func (q *Queue) accepted(maxT int64) {
	q.sentMu.Lock()
	defer q.sentMu.Unlock()
	if maxT > q.highestSent {
		q.highestSent = maxT
		q.m.highestSent.Set(float64(maxT) / 1000)
	}
}

// minSampleTime is the oldest sample timestamp (ms) still worth sending
// under max_sample_age.
func (q *Queue) minSampleTime() int64 {
	if q.maxAge <= 0 {
		return math.MinInt64
	}
	return q.now().Add(-q.maxAge).UnixMilli()
}

// Len returns how many samples are queued, not counting the batches being
// sent.
func (q *Queue) Len() int {
	n := 0
	for _, s := range q.shards {
		n += s.len()
	}
	return n
}

// stopWaiting makes Append, from now on and in the calls waiting now, drop
// the oldest samples of a full shard instead of waiting for room, so that
// what is handed over before Stop is queued at once.
func (q *Queue) stopWaiting() {
	q.noWait.Store(true)
	for _, s := range q.shards {
		s.mu.Lock()
		s.space.Broadcast()
		s.mu.Unlock()
	}
}

// isStopping reports whether Stop was called.
func (q *Queue) isStopping() bool {
	select {
	case <-q.stopping:
		return true
	default:
		return false
	}
}

// Stop stops accepting samples, sends what is queued for up to
// FlushDeadline (retrying only within it), drops and counts the rest, and
// deletes the queue's metric label values. It returns when every goroutine
// of the queue has ended. Calling it again does nothing.
func (q *Queue) Stop() {
	q.stopOnce.Do(func() {
		// Release Appends waiting for room first: they hold q.mu.RLock.
		close(q.stopping)
		for _, s := range q.shards {
			s.mu.Lock()
			s.space.Broadcast()
			s.mu.Unlock()
		}
		q.mu.Lock()
		q.stopped = true
		started := q.started
		q.mu.Unlock()

		if started {
			deadline := time.AfterFunc(q.flushDeadline, q.cancel)
			q.wg.Wait()
			deadline.Stop()
			if q.ctx.Err() != nil {
				level.Warn(q.logger).Log("msg", "Flush deadline reached before the queue was empty", "flush_deadline", q.flushDeadline)
			}
		}
		q.cancel()

		left := 0
		for _, s := range q.shards {
			s.mu.Lock()
			left += s.n
			clear(s.buf)
			s.n, s.head, s.bytes = 0, 0, 0
			s.mu.Unlock()
		}
		if left > 0 {
			level.Warn(q.logger).Log("msg", "Dropped queued samples at shutdown", "samples", left)
			q.m.droppedShutdown.Add(float64(left))
			q.m.queueLength.Sub(float64(left))
		}
		q.client.CloseIdleConnections()
		q.m.release()
		level.Info(q.logger).Log("msg", "Remote write queue stopped")
	})
}

// sendError is an error a send met, and when.
type sendError struct {
	msg string
	at  time.Time
}

// noteError records err as the newest error a send met.
func (q *Queue) noteError(err error) {
	q.lastErr.Store(&sendError{msg: config.RedactError(err).Error(), at: q.now()})
}
