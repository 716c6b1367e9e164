// Package engine is the pipeline between the ring buffers and write-back:
// it refits each buffered series' models every retrain_interval, spread over
// the interval, and on every grid tick computes forecasts and anomaly values
// and hands them to a Sink.
//
// The engine never reads the wall clock itself: RetrainDue and Evaluate take
// the time they act at, and Run drives them from Options.Now. The live server
// and the offline replay tools therefore run the same code.
package engine

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Sink receives the samples the engine produces. Append takes ownership of
// the slice; it may block for a while (write-back backpressure), and is
// never called with a series lock held.
type Sink interface {
	Append(samples []output.Sample)
}

// Options tune an Engine.
type Options struct {
	// Now is the clock Run uses; nil means time.Now.
	Now func() time.Time
	// Workers is the size of the fitting pool; 0 means GOMAXPROCS.
	Workers int
	// BatchSize is how many samples are handed to the Sink at once; 0 means 10000.
	BatchSize int
}

// Engine schedules fits and evaluations for every series in a ring.Store.
type Engine struct {
	logger  log.Logger
	metrics *metrics
	quality *qualityMetrics
	store   *ring.Store
	sink    Sink
	opts    Options

	snap atomic.Pointer[snapshot]

	claims outputClaims // who writes which output series

	progressEvery time.Duration // how often long retrain passes log progress
	firstTraining atomic.Bool   // the first training was logged

	mu       sync.RWMutex // guards everything below
	states   map[uint64]*state
	lastEval map[string]int64
	lastGC   int64
	// list holds the states as of store change count listChanges; it is
	// rebuilt only when series came or went (or a reload changed states),
	// so that the once-a-second pass costs nothing while the set is stable.
	list        []*state
	listChanges uint64
	listValid   bool
}

// snapshot is the immutable configuration the engine runs with; a reload
// swaps it whole.
type snapshot struct {
	entries   []*Entry
	namer     namer
	delay     int64 // ms
	staleness int64 // ms
	maxWindow int64 // ms
}

// New returns an Engine over store that sends its output to sink. It does
// nothing until ApplyConfig has been called.
func New(logger log.Logger, reg prometheus.Registerer, store *ring.Store, sink Sink, opts Options) *Engine {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10000
	}
	e := &Engine{
		logger:   log.With(logger, "component", "engine"),
		metrics:  newMetrics(reg),
		quality:  newQualityMetrics(reg),
		store:    store,
		sink:     sink,
		opts:     opts,
		states:   map[uint64]*state{},
		lastEval: map[string]int64{},

		progressEvery: defaultProgressEvery,
	}
	e.snap.Store(&snapshot{})
	return e
}

// ApplyConfig compiles the forecasts entries of cfg and reconciles the
// buffered series with them: series no entry selects any more are deleted,
// series whose grid changed are reset, and fitted models are kept only where
// the entry still fits the same models on the same grid.
func (e *Engine) ApplyConfig(cfg *config.Config) error {
	snap := &snapshot{
		namer:     newNamer(cfg.Output, cfg.Global.ExternalLabels),
		delay:     time.Duration(cfg.Global.EvaluationDelay).Milliseconds(),
		staleness: time.Duration(cfg.Global.Staleness).Milliseconds(),
	}
	for i, fc := range cfg.Forecasts {
		entry, err := CompileEntry(fc, i)
		if err != nil {
			return err
		}
		snap.entries = append(snap.entries, entry)
		snap.maxWindow = max(snap.maxWindow, entry.Window)
	}
	e.snap.Store(snap)

	e.store.Range(func(ser *ring.Series) bool {
		entry := snap.route(ser.Labels())
		switch {
		case entry == nil:
			e.store.Delete(ser)
		case !sameGrid(ser.Options(), entry.Ring):
			ser.Reset(entry.Ring)
		}
		return true
	})

	e.mu.Lock()
	defer e.mu.Unlock()
	for ref, st := range e.states {
		entry := snap.route(st.ser.Labels())
		if entry == nil {
			delete(e.states, ref)
			e.claims.release(st)
			continue
		}
		st.reconfigure(entry)
	}
	e.listValid = false
	for name := range e.lastEval {
		if snap.entry(name) == nil {
			delete(e.lastEval, name)
		}
	}
	e.metrics.series.Set(float64(len(e.states)))
	return nil
}

// Route returns the ring options of the first entry that selects lset. It
// is the receiver's Router. Series the adapter itself writes are never
// selected, so that a Prometheus that forwards what it receives cannot make
// the adapter model its own forecasts.
func (e *Engine) Route(lset labels.Labels) (ring.Options, bool) {
	snap := e.snap.Load()
	if snap.namer.isOutput(lset) {
		return ring.Options{}, false
	}
	if entry := snap.route(lset); entry != nil {
		return entry.Ring, true
	}
	return ring.Options{}, false
}

// GroupName returns the name of the forecasts entry whose ring options
// carry Group group (its index in the configuration applied last).
func (e *Engine) GroupName(group int) (string, bool) {
	entries := e.snap.Load().entries
	if group < 0 || group >= len(entries) {
		return "", false
	}
	return entries[group].Name, true
}

func (s *snapshot) route(lset labels.Labels) *Entry {
	for _, entry := range s.entries {
		if entry.Selects(lset) {
			return entry
		}
	}
	return nil
}

func (s *snapshot) entry(name string) *Entry {
	for _, entry := range s.entries {
		if entry.Name == name {
			return entry
		}
	}
	return nil
}

// sync adds a state for every buffered series the engine does not know yet
// and forgets states whose series left the store. It returns the states.
func (e *Engine) sync(snap *snapshot) []*state {
	changes := e.store.Changes() // read before Range: a later change forces the next sync
	e.mu.RLock()
	if e.listValid && e.listChanges == changes {
		list := e.list
		e.mu.RUnlock()
		return list
	}
	e.mu.RUnlock()

	seen := make(map[uint64]struct{}, e.store.Len())
	var added []*state
	e.mu.RLock()
	e.store.Range(func(ser *ring.Series) bool {
		seen[ser.Ref()] = struct{}{}
		if _, ok := e.states[ser.Ref()]; !ok {
			if entry := snap.route(ser.Labels()); entry != nil {
				added = append(added, newState(ser, entry))
			}
		}
		return true
	})
	e.mu.RUnlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	// Route again with the snapshot in force now: a reload that ran since
	// the Range above has already reconfigured the states it saw, but not
	// these.
	cur := e.snap.Load()
	for _, st := range added {
		if _, ok := e.states[st.ser.Ref()]; ok {
			continue
		}
		if st.entry = cur.route(st.ser.Labels()); st.entry != nil {
			e.states[st.ser.Ref()] = st
		}
	}
	list := make([]*state, 0, len(e.states))
	for ref, st := range e.states {
		if _, ok := seen[ref]; !ok {
			delete(e.states, ref)
			e.claims.release(st)
			continue
		}
		list = append(list, st)
	}
	e.list, e.listChanges, e.listValid = list, changes, true
	e.metrics.series.Set(float64(len(e.states)))
	return list
}

// Run drives RetrainDue and Evaluate from the clock until ctx is done:
// retraining is checked every second, evaluation runs just after each grid
// boundary plus the evaluation delay.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.runRetrain(ctx)
	}()
	e.runEvaluate(ctx)
	wg.Wait()
	return nil
}

func (e *Engine) runRetrain(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		e.RetrainDue(ctx, e.opts.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) runEvaluate(ctx context.Context) {
	for {
		now := e.opts.Now()
		wait := e.nextEvaluation(now).Sub(now)
		timer := time.NewTimer(min(max(wait, 0), time.Second))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if n := e.Evaluate(e.opts.Now()); n > 0 {
			level.Debug(e.logger).Log("msg", "Evaluated", "samples", n)
		}
	}
}

// nextEvaluation returns the earliest time at which some entry's next grid
// cell closes (boundary plus evaluation delay).
func (e *Engine) nextEvaluation(now time.Time) time.Time {
	snap := e.snap.Load()
	ms := now.UnixMilli()
	next := ms + time.Second.Milliseconds()
	for _, entry := range snap.entries {
		b := openCell(ms, snap.delay, entry.Step) + entry.Step + snap.delay
		next = min(next, b)
	}
	return time.UnixMilli(next)
}

// Latest calls f with every sample the last evaluation produced, series by
// series. It backs the /forecasts page.
func (e *Engine) Latest(f func(output.Sample)) {
	e.mu.RLock()
	states := make([]*state, 0, len(e.states))
	for _, st := range e.states {
		states = append(states, st)
	}
	e.mu.RUnlock()
	for _, st := range states {
		st.mu.Lock()
		for _, s := range st.latest {
			f(s)
		}
		st.mu.Unlock()
	}
}
