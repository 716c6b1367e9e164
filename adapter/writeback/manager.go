package writeback

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// Manager owns one Queue per configured target and fans samples out to all
// of them without waiting for any: each queue is fed from its own inbox, so
// a slow or hanging target never delays the others, the caller, a reload or
// Status. Its queues share one set of metric vectors.
type Manager struct {
	logger  log.Logger
	metrics *metrics
	opts    Options

	applyMu sync.Mutex // serialises ApplyConfig and Stop

	tenantHeader tenantHeaderPtr // shared with the queues

	mu      sync.RWMutex // guards queues and stopped
	queues  map[string]*managedQueue
	stopped bool
}

// managedQueue is a queue, the inbox that feeds it and the hash of the
// config it was built from.
type managedQueue struct {
	q    *Queue
	in   *inbox
	hash string
}

// newManagedQueue wraps q, starting its inbox.
func newManagedQueue(q *Queue, hash string) *managedQueue {
	return &managedQueue{q: q, in: newInbox(q), hash: hash}
}

// stop closes the inbox, queues what it holds without waiting for room
// (dropping the oldest past capacity), and stops the queue, which flushes
// within the flush deadline.
func (mq *managedQueue) stop() {
	mq.in.close()
	mq.q.stopWaiting()
	<-mq.in.done
	mq.q.Stop()
}

// NewManager returns a manager without targets; ApplyConfig gives it some.
func NewManager(logger log.Logger, reg prometheus.Registerer, opts Options) *Manager {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Manager{
		logger:  logger,
		metrics: newMetrics(reg),
		opts:    opts,
		queues:  map[string]*managedQueue{},
	}
}

// ApplyConfig makes the targets those of cfgs, matched by name: new targets
// get a started queue, removed ones are stopped (flushing within the flush
// deadline), changed ones are stopped and then replaced, and unchanged ones
// keep their queue and its content, and try remote-write 2.0 again if they
// fell back to 1.0. On error nothing changes.
func (m *Manager) ApplyConfig(cfgs []*config.RemoteWriteConfig) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()

	m.mu.RLock()
	current, stopped := m.queues, m.stopped
	m.mu.RUnlock()
	if stopped {
		return errors.New("apply remote_write config: manager is stopped")
	}

	next := make(map[string]*managedQueue, len(cfgs))
	var created []*managedQueue
	fail := func(err error) error {
		for _, mq := range created {
			mq.stop()
		}
		return fmt.Errorf("apply remote_write config: %w", err)
	}
	for i, cfg := range cfgs {
		if err := checkConfig(cfg); err != nil {
			return fail(fmt.Errorf("remote_write[%d]: %w", i, err))
		}
		if _, dup := next[cfg.Name]; dup {
			return fail(fmt.Errorf("remote_write[%d]: duplicate name %q", i, cfg.Name))
		}
		h := configHash(cfg)
		if old, ok := current[cfg.Name]; ok && old.hash == h {
			next[cfg.Name] = old
			continue
		}
		q, err := newQueue(cfg, m.logger, m.metrics, m.opts, &m.tenantHeader)
		if err != nil {
			return fail(err)
		}
		mq := newManagedQueue(q, h)
		created = append(created, mq)
		next[cfg.Name] = mq
	}

	// New queues take samples from now on and hold them until started.
	m.mu.Lock()
	m.queues = next
	m.mu.Unlock()

	// A reload tries 2.0 again on targets that fell back to 1.0.
	for name, mq := range next {
		if current[name] == mq {
			mq.q.resetProtocol()
		}
	}

	// Old queues flush before their replacements start, so that a series'
	// samples reach a target in order.
	var old []*managedQueue
	for name, mq := range current {
		if n, ok := next[name]; !ok || n != mq {
			old = append(old, mq)
		}
	}
	stopAll(old)
	for _, mq := range created {
		mq.q.Start()
	}
	if len(old) > 0 || len(created) > 0 {
		level.Info(m.logger).Log("msg", "Applied remote_write config", "component", "writeback",
			"targets", len(next), "stopped", len(old), "started", len(created))
	}
	return nil
}

// Append hands samples to the inbox of every queue and returns without
// waiting for any target. It takes ownership of samples, which the queues
// share and only read.
func (m *Manager) Append(samples []Sample) {
	if len(samples) == 0 {
		return
	}
	size := batchBytes(samples)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, mq := range m.queues {
		mq.in.put(samples, size)
	}
}

// Stop stops every queue, flushing them in parallel within the flush
// deadline. Calling it again does nothing, and ApplyConfig then fails.
func (m *Manager) Stop() {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	current := m.queues
	m.queues = map[string]*managedQueue{}
	m.stopped = true
	m.mu.Unlock()
	qs := make([]*managedQueue, 0, len(current))
	for _, mq := range current {
		qs = append(qs, mq)
	}
	stopAll(qs)
}

// stopAll stops the queues in parallel.
func stopAll(qs []*managedQueue) {
	var wg sync.WaitGroup
	for _, mq := range qs {
		wg.Go(mq.stop)
	}
	wg.Wait()
}

// configHash identifies the content of cfg, secrets included. YAML or JSON
// would print secrets as <secret>, and %#v would print pointers, so it
// walks the value itself.
func configHash(cfg *config.RemoteWriteConfig) string {
	h := sha256.New()
	hashValue(h, reflect.ValueOf(cfg), 0)
	return hex.EncodeToString(h.Sum(nil))
}

// hashValue writes v to h with enough structure that different values give
// different streams. Functions and channels carry no configuration and are
// skipped; unexported fields are read too (url.Userinfo keeps its password
// in one).
func hashValue(h hash.Hash, v reflect.Value, depth int) {
	var buf [8]byte
	writeUint := func(u uint64) {
		binary.LittleEndian.PutUint64(buf[:], u)
		h.Write(buf[:])
	}
	writeString := func(s string) {
		writeUint(uint64(len(s)))
		h.Write([]byte(s))
	}
	if depth > 32 {
		return
	}
	writeUint(uint64(v.Kind()))
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		writeUint(boolUint(v.IsNil()))
		if !v.IsNil() {
			hashValue(h, v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			writeString(v.Type().Field(i).Name)
			hashValue(h, v.Field(i), depth+1)
		}
	case reflect.Slice, reflect.Array:
		writeUint(uint64(v.Len()))
		for i := range v.Len() {
			hashValue(h, v.Index(i), depth+1)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
		})
		writeUint(uint64(len(keys)))
		for _, k := range keys {
			hashValue(h, k, depth+1)
			hashValue(h, v.MapIndex(k), depth+1)
		}
	case reflect.String:
		writeString(v.String())
	case reflect.Bool:
		writeUint(boolUint(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		writeUint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		writeUint(v.Uint())
	case reflect.Float32, reflect.Float64:
		writeUint(math.Float64bits(v.Float()))
	}
}

// boolUint returns 1 for true and 0 for false.
func boolUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
