// Package snapshot persists the ring buffers, and whatever state the caller
// keeps per series (the engine's fitted models), so that a restart, a crash
// or a rescheduled pod loses no history.
//
// A snapshot is one object in a versioned, checksummed binary format (see
// format.go) holding every series' labels, grid and values (compressed as decimal deltas or XOR,
// timestamps implicit in the grid). Manager writes one periodically and on
// shutdown, to a local directory or S3-compatible object storage, keeps the
// newest few, and restores the newest intact one at start-up.
//
//	m := snapshot.NewManager(logger, reg, store, snapshot.Hooks{}, snapshot.Options{})
//	m.SetBackend(local)
//	info, err := m.Restore(ctx) // before serving
//	go m.Run(ctx)               // periodic snapshots
//	m.Snapshot(context.Background()) // once more at shutdown
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// maxLoggedFailures is how many series failing to restore are logged one
// by one.
const maxLoggedFailures = 10

// stagePrefix starts the names of the temporary files a restore downloads
// a snapshot into.
const stagePrefix = ".restore-"

// DefaultKeep is how many snapshots are kept when Options.Keep is 0.
const DefaultKeep = 2

// Hooks connect the manager with the state saved next to each buffer.
type Hooks struct {
	// Extra returns the blob saved with ser; nil means none. It must not
	// keep or change the series' data.
	Extra func(ser *ring.Series) []byte
	// Restore recreates one saved series and its blob, and reports whether
	// it was kept (false when the current configuration drops it). nil
	// means Store.Restore with the saved options, ignoring the blob.
	Restore func(st ring.SeriesState, extra []byte) (bool, error)
}

// Options tune a Manager.
type Options struct {
	// Keep is how many snapshots are kept; older ones are deleted after
	// each successful snapshot. 0 means DefaultKeep.
	Keep int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StageDir is where a restore keeps its one download of a remote
	// snapshot (S3) while checking it, to apply it from there; "" means
	// os.TempDir(). Local snapshots are read in place.
	StageDir string
}

// Info describes one snapshot written or restored.
type Info struct {
	Name    string
	Created time.Time
	Series  int   // series written, or series restored and kept
	Dropped int   // on restore: series the configuration no longer keeps or that failed
	Bytes   int64 // size of the snapshot
	Took    time.Duration
}

// Manager writes and restores snapshots of a ring.Store. It is safe for
// concurrent use; snapshots run one at a time.
type Manager struct {
	logger  log.Logger
	store   *ring.Store
	hooks   Hooks
	opts    Options
	metrics *metrics

	runMu sync.Mutex // serializes snapshots and restores

	mu       sync.Mutex // guards below; never held during I/O
	backend  Backend
	interval time.Duration
	// noPrune is set when a restore failed: the snapshots it could not
	// read are kept rather than replaced by ones of a store that lacks
	// their history (e.g. S3 briefly unreachable at start).
	noPrune bool
	changed chan struct{} // closed and replaced when the interval or backend changes
	// heads remembers the headers of the backend's snapshots by name, and
	// maxSeq the highest sequence number among them; seqKnown is set once
	// every stored snapshot's header has been read.
	heads    map[string]head
	maxSeq   uint64
	seqKnown bool
}

// errNothingToSave is returned by write when no series holds data.
var errNothingToSave = errors.New("no series holds data")

// NewManager returns a manager of store's snapshots. It does nothing until
// SetBackend has been called.
func NewManager(logger log.Logger, reg prometheus.Registerer, store *ring.Store, hooks Hooks, opts Options) *Manager {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if hooks.Restore == nil {
		hooks.Restore = func(st ring.SeriesState, _ []byte) (bool, error) {
			_, err := store.Restore(st)
			return err == nil, err
		}
	}
	return &Manager{
		logger:  log.With(logger, "component", "snapshot"),
		store:   store,
		hooks:   hooks,
		opts:    opts,
		metrics: newMetrics(reg),
		changed: make(chan struct{}),
		heads:   map[string]head{},
	}
}

// SetBackend sets where snapshots go, and interval, how often Run writes
// one (<= 0: never).
func (m *Manager) SetBackend(b Backend, interval time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend != b {
		m.heads, m.maxSeq, m.seqKnown = map[string]head{}, 0, false
	}
	m.backend, m.interval = b, interval
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *Manager) currentBackend() Backend {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backend
}

func (m *Manager) settings() (time.Duration, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend == nil {
		return 0, m.changed
	}
	return m.interval, m.changed
}

// Run writes a snapshot every interval until ctx is done, logging failures.
// It does not write a final one: call Snapshot after the writers stopped.
func (m *Manager) Run(ctx context.Context) error {
	for {
		interval, changed := m.settings()
		var tick <-chan time.Time
		var timer *time.Timer
		if interval > 0 {
			timer = time.NewTimer(interval)
			tick = timer.C
		}
		fire := false
		select {
		case <-ctx.Done():
		case <-changed:
		case <-tick:
			fire = true
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
		if !fire {
			continue
		}
		if info, err := m.Snapshot(ctx); err != nil {
			level.Error(m.logger).Log("msg", "Snapshot failed", "err", err)
		} else {
			level.Debug(m.logger).Log("msg", "Snapshot written", "name", info.Name, "series", info.Series, "bytes", info.Bytes, "took", info.Took)
		}
	}
}

// Snapshot writes a snapshot of every series holding data and then deletes
// all but the newest Keep snapshots. Each series is copied under its own
// lock: the snapshot holds, for every series, at least everything appended
// before Snapshot was called. When no series holds data (e.g. a reload
// dropped every entry), nothing is written nor deleted and Info.Name is
// empty: the stored snapshots keep what they hold, and a later
// configuration that selects the series again can restore them.
func (m *Manager) Snapshot(ctx context.Context) (Info, error) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	b := m.currentBackend()
	if b == nil {
		return Info{}, errors.New("snapshot: no backend configured")
	}
	info, err := m.write(ctx, b)
	if errors.Is(err, errNothingToSave) {
		level.Info(m.logger).Log("msg", "Snapshot skipped: no series holds data; the stored snapshots are kept")
		return Info{Created: info.Created}, nil
	}
	if err != nil {
		m.metrics.failures.Inc()
		return info, fmt.Errorf("snapshot to %s: %w", b, err)
	}
	m.metrics.lastSuccess.Set(float64(info.Created.UnixMilli()) / 1000)
	m.metrics.lastBytes.Set(float64(info.Bytes))
	m.metrics.lastSeries.Set(float64(info.Series))
	m.metrics.duration.Observe(info.Took.Seconds())
	m.prune(ctx, b)
	return info, nil
}

func (m *Manager) write(ctx context.Context, b Backend) (Info, error) {
	start := time.Now()
	info := Info{Created: m.opts.Now()}
	info.Name = snapshotName(info.Created)
	seq := m.nextSeq(ctx, b)
	up, err := b.Create(ctx, info.Name)
	if err != nil {
		return info, err
	}
	defer up.Abort()
	cw := &countingWriter{w: up}
	w, err := NewSequencedWriter(cw, info.Created, seq)
	if err != nil {
		return info, err
	}
	var buf []float64
	m.store.Range(func(ser *ring.Series) bool {
		if err = ctx.Err(); err != nil {
			return false
		}
		st := ser.Export(buf)
		buf = st.Values
		if len(st.Values) == 0 {
			return true
		}
		var extra []byte
		if m.hooks.Extra != nil {
			extra = m.hooks.Extra(ser)
		}
		if err = w.Add(st, extra); err != nil {
			return false
		}
		info.Series++
		return true
	})
	if err != nil {
		return info, err
	}
	if info.Series == 0 {
		return info, errNothingToSave
	}
	if err := w.Close(); err != nil {
		return info, err
	}
	if err := up.Commit(); err != nil {
		return info, err
	}
	m.noteHead(info.Name, head{seq: seq, created: info.Created.UnixMilli(), ok: true})
	info.Bytes = cw.n
	info.Took = time.Since(start)
	return info, nil
}

// prune deletes all but the newest Keep snapshots.
func (m *Manager) prune(ctx context.Context, b Backend) {
	m.mu.Lock()
	skip := m.noPrune
	m.mu.Unlock()
	if skip {
		return
	}
	names, err := b.List(ctx)
	if err != nil {
		level.Warn(m.logger).Log("msg", "Listing snapshots to prune failed", "err", err)
		return
	}
	ordered, err := m.newestFirst(ctx, b, names)
	if err != nil {
		// Without every header the order is unsure: delete nothing.
		level.Warn(m.logger).Log("msg", "Reading snapshot headers to prune failed", "err", err)
		return
	}
	for _, name := range ordered[min(m.opts.Keep, len(ordered)):] {
		if err := b.Delete(ctx, name); err != nil {
			level.Warn(m.logger).Log("msg", "Deleting old snapshot failed", "name", name, "err", err)
			continue
		}
		m.mu.Lock()
		delete(m.heads, name)
		m.mu.Unlock()
	}
}

// Restore restores the newest intact snapshot into the store through
// Hooks.Restore. A snapshot that is corrupt, truncated or in a format
// version this build does not read is logged and skipped for the next
// older one; each is checked whole before any of it is applied, and a
// remote one is downloaded once for both (see Options.StageDir). It returns
// a zero Info when there is no snapshot, and an error only when reading
// fails after the check passed or when every snapshot was refused. After an
// error, old snapshots are no longer deleted, so that history a restore
// could not read is not replaced by snapshots without it.
func (m *Manager) Restore(ctx context.Context) (Info, error) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	b := m.currentBackend()
	if b == nil {
		return Info{}, errors.New("restore snapshot: no backend configured")
	}
	info, err := m.restore(ctx, b)
	if err != nil {
		m.mu.Lock()
		m.noPrune = true
		m.mu.Unlock()
	}
	return info, err
}

func (m *Manager) restore(ctx context.Context, b Backend) (Info, error) {
	start := time.Now()
	names, err := b.List(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("restore snapshot from %s: %w", b, err)
	}
	// A header that cannot be read now orders its snapshot last; verify
	// then meets the same failure and says so.
	ordered, _ := m.newestFirst(ctx, b, names)
	var errs []error
	for _, name := range ordered {
		open, cleanup, err := m.verify(ctx, b, name)
		if err != nil {
			level.Warn(m.logger).Log("msg", "Skipping unusable snapshot", "name", name, "err", err)
			errs = append(errs, err)
			continue
		}
		info, err := m.apply(open, name)
		cleanup()
		info.Took = time.Since(start)
		m.metrics.restoreDuration.Set(info.Took.Seconds())
		m.metrics.restoredSeries.Set(float64(info.Series))
		if err != nil {
			return info, fmt.Errorf("restore snapshot %s from %s: %w", name, b, err)
		}
		return info, nil
	}
	if len(errs) > 0 {
		return Info{}, fmt.Errorf("restore snapshot from %s: no usable snapshot: %w", b, errors.Join(errs...))
	}
	return Info{}, nil
}

// verify reads the snapshot name through, checking framing and checksums,
// and returns how to open the checked bytes again to apply them, and a
// cleanup to call after. A local snapshot is opened again in place. Any
// other is downloaded once: verify copies the stream into a temporary file
// in Options.StageDir as it checks it, and the returned open reads that
// file, so a restore from S3 costs one GET and applies exactly the bytes
// it checked.
func (m *Manager) verify(ctx context.Context, b Backend, name string) (open func() (io.ReadCloser, error), cleanup func(), err error) {
	rc, err := b.Open(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	if _, local := b.(*Local); local {
		if err := check(rc); err != nil {
			return nil, nil, err
		}
		return func() (io.ReadCloser, error) { return b.Open(ctx, name) }, func() {}, nil
	}
	dir := m.opts.StageDir
	if dir == "" {
		dir = os.TempDir()
	}
	// What a restore killed midway left behind. Removing a file another
	// process still reads does not disturb it.
	if old, err := filepath.Glob(filepath.Join(dir, stagePrefix+"*")); err == nil {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	tmp, err := os.CreateTemp(dir, stagePrefix+name+"-*")
	if err != nil {
		return nil, nil, fmt.Errorf("stage snapshot: %w", err)
	}
	cleanup = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	// The file only ever holds what check has read; a write error ends
	// the check.
	if err := check(io.TeeReader(rc, tmp)); err != nil {
		cleanup()
		return nil, nil, err
	}
	open = func() (io.ReadCloser, error) {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("stage snapshot: %w", err)
		}
		return io.NopCloser(tmp), nil
	}
	return open, cleanup, nil
}

// check reads a snapshot through, checking framing and checksums.
func check(rd io.Reader) error {
	r, err := NewReader(rd)
	if err != nil {
		return err
	}
	for {
		if _, _, err := r.Next(false); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func (m *Manager) apply(open func() (io.ReadCloser, error), name string) (Info, error) {
	info := Info{Name: name}
	rc, err := open()
	if err != nil {
		return info, err
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	r, err := NewReader(cr)
	if err != nil {
		return info, err
	}
	info.Created = r.Created()
	failed := 0
	defer func() {
		if failed > maxLoggedFailures {
			level.Warn(m.logger).Log("msg", "More series failed to restore", "count", failed-maxLoggedFailures)
		}
	}()
	for {
		st, extra, err := r.Next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, err
		}
		kept, err := m.hooks.Restore(st, extra)
		switch {
		case err != nil:
			// A few examples, not one line per series (e.g. when
			// max_series was lowered).
			if failed++; failed <= maxLoggedFailures {
				level.Warn(m.logger).Log("msg", "Restoring series failed", "series", st.Labels.String(), "err", err)
			}
			info.Dropped++
		case kept:
			info.Series++
		default:
			info.Dropped++
		}
	}
	info.Bytes = cr.n
	return info, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type metrics struct {
	lastSuccess     prometheus.Gauge
	lastBytes       prometheus.Gauge
	lastSeries      prometheus.Gauge
	duration        prometheus.Histogram
	failures        prometheus.Counter
	restoreDuration prometheus.Gauge
	restoredSeries  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "train_prometheus_snapshot_last_success_timestamp_seconds",
			Help: "Time the last successful snapshot was started at.",
		}),
		lastBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "train_prometheus_snapshot_last_size_bytes",
			Help: "Size of the last successful snapshot.",
		}),
		lastSeries: f.NewGauge(prometheus.GaugeOpts{
			Name: "train_prometheus_snapshot_last_series",
			Help: "Number of series in the last successful snapshot.",
		}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "train_prometheus_snapshot_duration_seconds",
			Help:    "Time taken to write a snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8),
		}),
		failures: f.NewCounter(prometheus.CounterOpts{
			Name: "train_prometheus_snapshot_failures_total",
			Help: "Total number of snapshots that failed.",
		}),
		restoreDuration: f.NewGauge(prometheus.GaugeOpts{
			Name: "train_prometheus_snapshot_restore_duration_seconds",
			Help: "Time taken to restore the snapshot at start-up.",
		}),
		restoredSeries: f.NewGauge(prometheus.GaugeOpts{
			Name: "train_prometheus_snapshot_restored_series",
			Help: "Number of series restored from the snapshot at start-up.",
		}),
	}
}
