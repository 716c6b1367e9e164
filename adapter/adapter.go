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

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/receive"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
	"github.com/train-prometheus/train-prometheus/storage/ring"
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
}

// Adapter wires the parts together.
type Adapter struct {
	logger  log.Logger
	opts    Options
	store   *ring.Store
	engine  *engine.Engine
	queues  *writeback.Manager
	receive *receive.Handler

	cfg   atomic.Pointer[config.Config]
	ready atomic.Bool

	initialMemLimit int64 // the runtime's soft memory limit at New

	reloadMu        sync.Mutex
	reloadSuccess   prometheus.Gauge
	reloadSuccessTS prometheus.Gauge
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
	checks := []applier{
		{"engine", engine.CheckConfig},
		{"remote_write", func(c *config.Config) error { return writeback.CheckConfig(c.RemoteWrite) }},
	}
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
			a.reloadSuccess.Set(0)
			level.Error(a.logger).Log("msg", "Reloading configuration failed", "err", err)
			return
		}
		a.reloadSuccess.Set(1)
		a.reloadSuccessTS.SetToCurrentTime()
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
	return nil
}

// Config returns the configuration in force, or nil before the first one.
func (a *Adapter) Config() *config.Config { return a.cfg.Load() }

// Engine returns the engine, for the offline tools and tests.
func (a *Adapter) Engine() *engine.Engine { return a.engine }

// Store returns the ring buffers.
func (a *Adapter) Store() *ring.Store { return a.store }

// Run runs the engine until ctx is done.
func (a *Adapter) Run(ctx context.Context) error {
	return a.engine.Run(ctx)
}

// Stop flushes and stops the write-back queues.
func (a *Adapter) Stop() {
	a.queues.Stop()
}
