// Package adapter is the composition root of train-prometheus: it builds the
// receiver, the ring buffers, the engine and the write-back queues, applies
// configuration to them, and routes HTTP.
package adapter

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/receive"
	"github.com/train-prometheus/train-prometheus/adapter/remoteread"
	"github.com/train-prometheus/train-prometheus/adapter/shard"
	"github.com/train-prometheus/train-prometheus/adapter/web"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
	"github.com/train-prometheus/train-prometheus/storage/ring"
	"github.com/train-prometheus/train-prometheus/storage/snapshot"
)

// Options are the adapter's settings that come from flags, not from the
// configuration file.
type Options struct {
	// LoadConfig reads the configuration anew on Reload; nil makes Reload
	// fail.
	LoadConfig func() (*config.Config, error)
	// UserAgent is sent with every write-back request.
	UserAgent string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Shard is this replica's share of the series; the zero value owns all.
	Shard shard.Shard
	// StoragePath is the directory of local snapshots; empty disables
	// them unless storage.s3 is configured.
	StoragePath string
	// EnableLifecycle serves POST /-/reload, as Prometheus'
	// --web.enable-lifecycle; off, it answers 403 (SIGHUP still reloads).
	EnableLifecycle bool
}

// Adapter wires the parts together.
type Adapter struct {
	logger  log.Logger
	opts    Options
	store   *ring.Store
	engine  *engine.Engine
	queues  *writeback.Manager
	receive *receive.Handler
	// Remote read: the backfill client and the forecast server.
	backfill *remoteread.Backfiller
	read     *remoteread.Server
	ui       *web.UI

	snapshots      *snapshot.Manager
	storageMu      sync.Mutex // guards the storage fields below
	storageCfg     config.StorageConfig
	storageApplied bool
	snapshotsOn    bool

	cfg   atomic.Pointer[config.Config]
	ready atomic.Bool

	initialMemLimit int64 // the runtime's soft memory limit at New

	reloadMu        sync.Mutex
	reloadSuccess   prometheus.Gauge
	reloadSuccessTS prometheus.Gauge
	lastReload      atomic.Pointer[web.Reload] // nil until the first reload
}

// New builds an adapter with no configuration applied; call ApplyConfig or
// Reload before serving.
func New(logger log.Logger, reg prometheus.Registerer, opts Options) *Adapter {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Adapter{logger: logger, opts: opts, initialMemLimit: debug.SetMemoryLimit(-1)}
	a.store = ring.NewStore(config.DefaultLimitsConfig.MaxSeries, reg)
	a.queues = writeback.NewManager(logger, reg, writeback.Options{UserAgent: opts.UserAgent, Now: opts.Now})
	a.engine = engine.New(logger, reg, a.store, a.queues, engine.Options{Now: opts.Now})
	a.receive = receive.NewHandler(logger, reg, a.store, a.engine, config.DefaultLimitsConfig.MaxRequestBytes)
	if opts.Shard.Enabled() {
		a.receive.SetOwner(opts.Shard.Owns)
	}
	var backfillEngine remoteread.Engine = a.engine
	if opts.Shard.Enabled() {
		backfillEngine = ownedOnly{Engine: a.engine, owns: opts.Shard.Owns}
	}
	a.backfill = remoteread.NewBackfiller(logger, reg, a.store, backfillEngine, remoteread.BackfillOptions{Now: opts.Now, UserAgent: opts.UserAgent})
	a.read = remoteread.NewServer(logger, reg, a.store, a.engine, opts.Now)
	a.snapshots = snapshot.NewManager(logger, reg, a.store,
		snapshot.Hooks{Extra: a.engine.SnapshotState, Restore: a.restoreSeries}, snapshot.Options{Now: opts.Now, StageDir: opts.StoragePath})
	a.ui = newUI(logger, a)

	f := promauto.With(reg)
	a.reloadSuccess = f.NewGauge(prometheus.GaugeOpts{
		Name: "train_prometheus_config_last_reload_successful",
		Help: "Whether the last configuration reload attempt was successful.",
	})
	a.reloadSuccessTS = f.NewGauge(prometheus.GaugeOpts{
		Name: "train_prometheus_config_last_reload_success_timestamp_seconds",
		Help: "Timestamp of the last successful configuration reload.",
	})
	return a
}

// applier is one named step of applying a configuration.
type applier struct {
	name  string
	apply func(*config.Config) error
}

// ApplyConfig applies cfg to every component, all or nothing: every
// component checks cfg first (the engine compiles its selectors, the
// write-back builds its HTTP clients), and nothing is applied unless all
// checks pass. Errors after that are not expected and are reported by name.
func (a *Adapter) ApplyConfig(cfg *config.Config) error {
	checks := append(configChecks(), applier{"storage", func(c *config.Config) error {
		_, err := a.storageBackend(c.Storage)
		return err
	}})
	var errs []error
	for _, ch := range checks {
		if err := ch.apply(cfg); err != nil {
			errs = append(errs, fmt.Errorf("check %s config: %w", ch.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	appliers := []applier{
		{"limits", func(c *config.Config) error {
			a.store.SetMaxSeries(c.Limits.MaxSeries)
			a.setMemoryLimit(c.Limits.MaxMemoryBytes)
			return nil
		}},
		{"engine", a.engine.ApplyConfig},
		{"receiver", func(c *config.Config) error {
			a.receive.Configure(a.engine, receiveConfig(c))
			return nil
		}},
		{"remote_write", func(c *config.Config) error {
			a.queues.SetTenantHeader(c.Tenancy.Header)
			return a.queues.ApplyConfig(c.RemoteWrite)
		}},
		{"remote_read", a.backfill.ApplyConfig},
		{"remote_read_server", a.read.ApplyConfig},
		{"storage", a.applyStorage},
	}
	for _, ap := range appliers {
		if err := ap.apply(cfg); err != nil {
			errs = append(errs, fmt.Errorf("apply %s config: %w", ap.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.cfg.Store(cfg)
	a.ready.Store(true)
	return nil
}

// Reload rereads the configuration file and applies it. A file that does
// not load keeps the running configuration. The success gauge tells which
// happened; SIGHUP and POST /-/reload both end here.
func (a *Adapter) Reload() (err error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	defer func() {
		if err != nil {
			// The answer of /-/reload and the log show it: no URL
			// passwords (a URL that does not parse is quoted whole).
			err = config.RedactError(err)
			a.reloadSuccess.Set(0)
			a.lastReload.Store(&web.Reload{At: a.opts.Now(), Err: err.Error()})
			level.Error(a.logger).Log("msg", "Reloading configuration failed", "err", err)
			return
		}
		a.reloadSuccess.Set(1)
		a.reloadSuccessTS.SetToCurrentTime()
		a.lastReload.Store(&web.Reload{At: a.opts.Now()})
	}()
	if a.opts.LoadConfig == nil {
		return errors.New("no configuration source to reload from")
	}
	cfg, err := a.opts.LoadConfig()
	if err != nil {
		return err
	}
	if cur := a.cfg.Load(); cur != nil && cur.Hash() == cfg.Hash() {
		level.Info(a.logger).Log("msg", "Configuration unchanged")
		return nil
	}
	if err := a.ApplyConfig(cfg); err != nil {
		return err
	}
	level.Info(a.logger).Log("msg", "Completed loading of configuration",
		"forecasts", len(cfg.Forecasts), "remote_write", len(cfg.RemoteWrite),
		"max_series", cfg.Limits.MaxSeries, "buffer_bytes_at_max_series", cfg.MaxBufferBytes())
	for _, w := range cfg.Warnings() {
		level.Warn(a.logger).Log("msg", "Configuration is valid but probably not what was meant", "warning", w)
	}
	return nil
}

// Config returns the configuration in force, or nil before the first one.
func (a *Adapter) Config() *config.Config { return a.cfg.Load() }

// LastReload returns how the last reload ended, and false before the first
// (applying the first configuration with ApplyConfig is no reload).
func (a *Adapter) LastReload() (web.Reload, bool) {
	r := a.lastReload.Load()
	if r == nil {
		return web.Reload{}, false
	}
	return *r, true
}

// Engine returns the engine, for the offline tools and tests.
func (a *Adapter) Engine() *engine.Engine { return a.engine }

// Store returns the ring buffers.
func (a *Adapter) Store() *ring.Store { return a.store }

// Run runs the engine and the remote-read backfills until ctx is done.
func (a *Adapter) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.backfill.Run(ctx) // logs its own errors
	}()
	err := a.engine.Run(ctx)
	<-done
	return err
}

// Stop flushes and stops the write-back queues.
func (a *Adapter) Stop() {
	a.queues.Stop()
}

// ownedOnly routes only the series this replica owns, so that a sharded
// replica backfills its own series and not every series its selectors match.
type ownedOnly struct {
	remoteread.Engine
	owns func(labels.Labels) bool
}

// Route implements remoteread.Engine.
func (o ownedOnly) Route(lset labels.Labels) (ring.Options, bool) {
	if !o.owns(lset) {
		return ring.Options{}, false
	}
	return o.Engine.Route(lset)
}
