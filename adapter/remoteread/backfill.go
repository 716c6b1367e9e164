package remoteread

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/internal/valenc"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Engine is what the backfiller needs from the engine: the routing of
// series to forecasts entries (the receiver's rule, so a backfilled series
// lands where its live samples would) and a way to have a filled series
// fitted at once.
type Engine interface {
	Route(lset labels.Labels) (ring.Options, bool)
	Wake(ref uint64)
}

// pollInterval is how often the backfiller looks for series that appeared
// through remote write.
const pollInterval = time.Second

// seriesPerRequest is how many new series one read request asks for.
const seriesPerRequest = 64

// BackfillOptions tune a Backfiller.
type BackfillOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// UserAgent is sent with every read request.
	UserAgent string
}

// Backfiller fills the ring buffers with history read from remote-read
// sources: once per forecasts entry when a configuration is applied, and
// once for every series that appears later. It runs beside ingestion and
// never blocks it: each fill takes one series' lock for one copy.
type Backfiller struct {
	logger  log.Logger
	store   *ring.Store
	engine  Engine
	opts    BackfillOptions
	metrics *backfillMetrics

	mu      sync.Mutex
	cfg     *config.Config
	sources []*source
	changed chan struct{}
	// restored holds the series restored from a snapshot and their newest
	// sample (NoteRestored), for the next run of the sources.
	restored map[uint64]int64
}

// NoteRestored records the series of store as restored from a snapshot:
// call it after the restore and before live samples arrive. The next
// backfill reads only the gap since each entry's restored series ended,
// and fills that gap whatever read_recent says (restored data is not live
// data); series it finds that were not restored are read over their whole
// window, as new series are.
func (b *Backfiller) NoteRestored(store *ring.Store) {
	restored := map[uint64]int64{}
	store.Range(func(ser *ring.Series) bool {
		if last := ser.LastSampleTime(); last != math.MinInt64 {
			restored[ser.Ref()] = last
		}
		return true
	})
	b.mu.Lock()
	b.restored = restored
	b.mu.Unlock()
}

// NewBackfiller returns a backfiller over store; it does nothing until a
// configuration with remote_read entries is applied and Run is called.
func NewBackfiller(logger log.Logger, reg prometheus.Registerer, store *ring.Store, eng Engine, opts BackfillOptions) *Backfiller {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Backfiller{
		logger:  log.With(logger, "component", "backfill"),
		store:   store,
		engine:  eng,
		opts:    opts,
		metrics: newBackfillMetrics(reg),
		changed: make(chan struct{}, 1),
	}
}

// ApplyConfig builds a client per remote_read entry. Running backfills are
// restarted when the remote_read list or the forecasts entries changed.
// CheckConfig reports whether cfg's remote_read sources can be set up
// (their HTTP clients built), without applying anything.
func CheckConfig(cfg *config.Config) error {
	for _, rc := range cfg.RemoteRead {
		if _, err := NewClient(rc, ""); err != nil {
			return err
		}
		if err := config.ValidateTenant(sourceTenant(cfg, rc)); err != nil {
			return fmt.Errorf("remote_read %s: headers: %s: %w", rc.Name, cfg.Tenancy.Header, err)
		}
	}
	return nil
}

// sourceTenant returns the tenant whose history rc reads: with tenancy on,
// the value rc sends in the tenant header (Mimir's and Cortex's
// X-Scope-OrgID reads one tenant's series), else "".
func sourceTenant(cfg *config.Config, rc *config.RemoteReadConfig) string {
	if !cfg.Tenancy.Enabled {
		return ""
	}
	for name, v := range rc.Headers {
		if strings.EqualFold(name, cfg.Tenancy.Header) {
			return v
		}
	}
	return ""
}

func (b *Backfiller) ApplyConfig(cfg *config.Config) error {
	var sources []*source
	for _, rc := range cfg.RemoteRead {
		c, err := NewClient(rc, b.opts.UserAgent)
		if err != nil {
			return err
		}
		sources = append(sources, &source{b: b, cfg: rc, client: c, tenant: sourceTenant(cfg, rc), filled: map[uint64]struct{}{}})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg != nil && sameBackfill(b.cfg, cfg) {
		return nil
	}
	b.cfg, b.sources = cfg, sources
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return nil
}

// Run backfills until ctx is done, starting over on every configuration
// change.
func (b *Backfiller) Run(ctx context.Context) error {
	var (
		wg     sync.WaitGroup
		cancel = func() {}
	)
	defer func() { cancel(); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.changed:
		}
		cancel()
		wg.Wait()
		b.mu.Lock()
		cfg, sources, restored := b.cfg, b.sources, b.restored
		b.mu.Unlock()
		gctx, stop := context.WithCancel(ctx)
		cancel = stop
		for _, s := range sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.run(gctx, cfg, restored)
			}()
		}
	}
}

// source backfills from one remote_read entry.
type source struct {
	b      *Backfiller
	cfg    *config.RemoteReadConfig
	client *Client
	// tenant is the tenant whose series this source reads and fills (the
	// value of its tenant header), "" for series without a tenant.
	tenant string

	// down is set while nothing answers at the source's address: the
	// change is logged at info, each failed read meanwhile at debug only.
	down atomic.Bool

	mu     sync.Mutex
	filled map[uint64]struct{} // refs this source backfilled: not looked up again
	// restored holds the series the store held when the run started (from
	// a snapshot) and their newest sample then: only the gap after it is
	// missing, whatever read_recent says.
	restored map[uint64]int64
}

// job is one read request: the queries, built anew for every attempt (a
// retry asks up to the new now), and whether a series may only be filled
// for the forecasts entry with index entry (-1: any entry).
type job struct {
	build func(now int64) []*prompb.Query
	entry int
	// gapOnly marks an entry job that reads only the gap after the restored
	// series: series it finds that were not restored are not marked filled,
	// so that the watch for new series reads their whole window.
	gapOnly bool
}

func (s *source) run(ctx context.Context, cfg *config.Config, restored map[uint64]int64) {
	staleness := time.Duration(cfg.Global.Staleness).Milliseconds()
	sem := make(chan struct{}, s.cfg.MaxConcurrentRequests)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(j job) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runJob(ctx, sem, j, staleness)
		}()
	}

	// The series the store holds when the entry queries start are covered
	// by them; later ones are looked up one by one. An entry with series
	// restored from a snapshot reads only the gap since the oldest of their
	// newest samples.
	// The store's change count is taken before anything else: a series
	// created after it (by an entry query below, or live) changes the store
	// again, so the watch for new series sees it. Read after the entry
	// queries started, it could already count a series they created, which
	// was then never read over its whole window.
	changes := s.b.store.Changes()
	seen := map[uint64]struct{}{}
	gapFrom := map[int]int64{} // entry index → oldest newest-sample of its restored series
	s.b.store.Range(func(ser *ring.Series) bool {
		seen[ser.Ref()] = struct{}{}
		if last, ok := restored[ser.Ref()]; ok {
			g := ser.Options().Group
			if cur, ok := gapFrom[g]; !ok || last < cur {
				gapFrom[g] = last
			}
		}
		return true
	})
	s.mu.Lock()
	s.restored = restored
	s.mu.Unlock()
	for i, fc := range cfg.Forecasts {
		gap, gapOnly := gapFrom[i]
		start(job{entry: i, gapOnly: gapOnly, build: func(now int64) []*prompb.Query {
			// One request per entry, one query per selector.
			step := time.Duration(fc.Step).Milliseconds()
			from, to := s.span(now, step, time.Duration(fc.Window).Milliseconds())
			if gapOnly {
				from = max(from, grid.FloorDiv(gap, step)*step)
			}
			var qs []*prompb.Query
			for _, sel := range fc.Matchers {
				qs = append(qs, toQuery(from, to, sel))
			}
			return qs
		}})
	}

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c := s.b.store.Changes(); c == changes {
			continue
		} else {
			changes = c
		}
		var fresh []*ring.Series
		current := make(map[uint64]struct{}, len(seen))
		s.mu.Lock()
		s.b.store.Range(func(ser *ring.Series) bool {
			ref := ser.Ref()
			current[ref] = struct{}{}
			_, old := seen[ref]
			_, done := s.filled[ref]
			if !old && !done {
				fresh = append(fresh, ser)
			}
			return true
		})
		for ref := range s.filled {
			if _, ok := current[ref]; !ok {
				delete(s.filled, ref)
			}
		}
		s.mu.Unlock()
		seen = current
		for len(fresh) > 0 {
			n := min(len(fresh), seriesPerRequest)
			batch := fresh[:n]
			start(job{entry: -1, build: func(now int64) []*prompb.Query { return s.seriesQueries(batch, now) }})
			fresh = fresh[n:]
		}
	}
}

// span returns the time range to read for a grid of step and window ms at
// now: the closed cells of the backfill history, up to the open cell,
// which live samples still fill.
func (s *source) span(now, step, window int64) (from, to int64) {
	hist := window
	if h := time.Duration(s.cfg.History).Milliseconds(); h > 0 {
		hist = min(h, window)
	}
	end := grid.FloorDiv(now, step) * step
	return end - hist/step*step, end - 1
}

// seriesQueries builds the queries for series that appeared after the
// start. Without read_recent a series is read only up to its oldest cell.
func (s *source) seriesQueries(series []*ring.Series, now int64) []*prompb.Query {
	var qs []*prompb.Query
	for _, ser := range series {
		if ser.Labels().Get(config.TenantLabel) != s.tenant {
			continue // another tenant's series: this source cannot read it
		}
		o := ser.Options()
		from, to := s.span(now, o.Step.Milliseconds(), o.Window.Milliseconds())
		if oldest, ok := ser.Oldest(); ok && !s.cfg.ReadRecent {
			to = min(to, oldest-1)
		}
		if to <= from {
			continue
		}
		var ms []*labels.Matcher
		ser.Labels().Range(func(l labels.Label) {
			if l.Name != config.TenantLabel { // the adapter's own label: the source has none
				ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value))
			}
		})
		qs = append(qs, toQuery(from, to, ms))
	}
	return qs
}

// runJob runs one job, retrying recoverable failures with capped
// exponential backoff until it succeeds or ctx ends.
func (s *source) runJob(ctx context.Context, sem chan struct{}, j job, staleness int64) {
	backoff := time.Duration(s.cfg.MinBackoff)
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		now := s.b.opts.Now().UnixMilli()
		queries := j.build(now)
		if len(queries) == 0 {
			<-sem
			return
		}
		start := time.Now()
		series, samples, err := s.read(ctx, queries, j.entry, j.gapOnly, now-staleness)
		<-sem
		took := time.Since(start)
		s.b.metrics.duration.WithLabelValues(s.cfg.Name).Observe(took.Seconds())
		if err == nil && s.down.CompareAndSwap(true, false) {
			level.Info(s.b.logger).Log("msg", "Backfill source reachable again", "remote_name", s.cfg.Name)
		}
		if err == nil {
			lvl := level.Debug // new series, a few at a time
			if j.entry >= 0 {
				lvl = level.Info // an entry's history at start: long work worth a line
			}
			lvl(s.b.logger).Log("msg", "Backfill done", "remote_name", s.cfg.Name, "entry", j.entry, "gap_only", j.gapOnly,
				"queries", len(queries), "series_filled", series, "samples", samples, "took", took)
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		s.b.metrics.failures.WithLabelValues(s.cfg.Name).Inc()
		if !IsRecoverable(err) {
			level.Error(s.b.logger).Log("msg", "Backfill failed, not retrying", "remote_name", s.cfg.Name, "queries", len(queries), "err", err)
			return
		}
		switch {
		case !IsUnreachable(err):
			level.Warn(s.b.logger).Log("msg", "Backfill failed, retrying", "remote_name", s.cfg.Name, "queries", len(queries), "backoff", backoff, "err", err)
		case s.down.CompareAndSwap(false, true):
			// One line, not a line per job and retry: with the default
			// configuration and no Prometheus on localhost this is normal.
			level.Info(s.b.logger).Log("msg", "Backfill source not reachable; forecasts start after min_history of live data unless it comes up (retrying quietly)",
				"remote_name", s.cfg.Name, "url", s.cfg.URL.Redacted(), "max_backoff", s.cfg.MaxBackoff, "err", err)
		default:
			level.Debug(s.b.logger).Log("msg", "Backfill source still not reachable, retrying", "remote_name", s.cfg.Name, "queries", len(queries), "backoff", backoff, "err", err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, time.Duration(s.cfg.MaxBackoff))
	}
}

// read runs one request and fills the ring buffers with its answer, all
// or nothing: the series are staged (their cells compressed) as the answer
// is decoded, and filled only once the whole answer has been read without
// error, so that an answer cut short or corrupt midway, which is retried,
// leaves no part of itself behind (a cell filled from half its samples
// would not be refilled). A series answered by several queries
// (overlapping selectors) is filled from the first. A series not buffered
// yet whose newest sample is before staleBefore is left out: it ended, and
// would only be buffered until the garbage collection removes it, without
// a forecast.
func (s *source) read(ctx context.Context, queries []*prompb.Query, entry int, gapOnly bool, staleBefore int64) (series, samples int, _ error) {
	var (
		acc    accumulator
		seen   seenSeries
		staged []stagedSeries
	)
	flush := func() {
		if !acc.active {
			return
		}
		acc.active = false
		if st, ok := acc.stage(); ok {
			staged = append(staged, st)
		}
	}
	err := s.client.Read(ctx, queries, func(qi int, lset labels.Labels, t int64, v float64) error {
		if (!acc.active && !acc.skip) || acc.qi != qi || !labels.Equal(acc.src, lset) {
			flush()
			acc.skip = false
			acc.src = lset.Copy()
			lset = s.withTenant(acc.src)
			dup := seen.add(lset)
			opts, ok := s.b.engine.Route(lset)
			if dup || !ok || (entry >= 0 && opts.Group != entry) {
				// Not selected, or owned by an earlier entry, whose own
				// query fills it.
				acc.skip, acc.lset, acc.qi = true, lset.Copy(), qi
				return nil
			}
			q := queries[qi]
			acc.reset(qi, lset, opts, q.StartTimestampMs, q.EndTimestampMs)
		}
		if !acc.skip {
			acc.add(t, v)
		}
		return nil
	})
	flush()
	if err != nil {
		return 0, 0, err // nothing of a failed answer is applied
	}
	var (
		refused  int
		firstErr error
		vals     []float64
	)
	for i := range staged {
		filled, err := s.fill(&staged[i], gapOnly, staleBefore, &vals)
		if err != nil {
			refused++
			if firstErr == nil {
				firstErr = err
			}
		}
		if filled {
			series++
			samples += staged[i].samples
		}
		staged[i] = stagedSeries{} // let its cells go
	}
	if refused > 0 {
		s.b.metrics.failures.WithLabelValues(s.cfg.Name).Add(float64(refused))
		level.Warn(s.b.logger).Log("msg", "Series not backfilled", "remote_name", s.cfg.Name, "series", refused, "first_err", firstErr)
	}
	return series, samples, nil
}

// seenSeries is the set of series an answer has named. Series are found
// by their hash and told apart by their labels: two series whose hashes
// collide are both kept.
type seenSeries map[uint64][]labels.Labels

// add adds lset and reports whether it was there already.
func (m *seenSeries) add(lset labels.Labels) bool {
	if *m == nil {
		*m = seenSeries{}
	}
	h := lset.Hash()
	for _, l := range (*m)[h] {
		if labels.Equal(l, lset) {
			return true
		}
	}
	(*m)[h] = append((*m)[h], lset.Copy())
	return false
}

// stagedSeries is one series of an answer being read, waiting for the
// answer to complete: its cells from start on, compressed with
// internal/valenc (a staged answer takes about as much memory as it took
// on the wire).
type stagedSeries struct {
	lset    labels.Labels
	opts    ring.Options
	start   int64 // grid time of the first cell
	step    int64
	n       int // cells
	cells   []byte
	samples int
	lastT   int64
}

// stage returns the accumulated series ready to wait for the end of its
// answer; false when it holds no sample.
func (a *accumulator) stage() (stagedSeries, bool) {
	if a.samples == 0 {
		return stagedSeries{}, false
	}
	vals := a.values()
	// Only the span that holds samples: a new series' window is mostly
	// empty.
	lo, hi := 0, len(vals)
	for lo < hi && math.IsNaN(vals[lo]) {
		lo++
	}
	for hi > lo && math.IsNaN(vals[hi-1]) {
		hi--
	}
	return stagedSeries{
		lset: a.lset, opts: a.opts, start: a.start + int64(lo)*a.step, step: a.step, n: hi - lo,
		cells: valenc.Append(nil, vals[lo:hi]), samples: a.samples, lastT: a.lastT,
	}, true
}

// withTenant returns lset as the series is known here: with the source's
// tenant as config.TenantLabel, as the receiver adds it to the live
// samples of that tenant, so that both fill the same series. The label is
// the adapter's own: a source's is dropped.
func (s *source) withTenant(lset labels.Labels) labels.Labels {
	if s.tenant == "" && !lset.Has(config.TenantLabel) {
		return lset
	}
	b := labels.NewBuilder(lset).Del(config.TenantLabel)
	if s.tenant != "" {
		b.Set(config.TenantLabel, s.tenant)
	}
	return b.Labels()
}

// fill writes one staged series into its ring buffer; buf is reused for
// its cells. It fails only when the store refuses the series (max_series)
// or its staged cells do not decode. After a gap-only read, a series that
// was not restored is left for the watch for new series, which reads its
// whole window.
func (s *source) fill(st *stagedSeries, gapOnly bool, staleBefore int64, buf *[]float64) (bool, error) {
	if st.samples == 0 || (st.lastT < staleBefore && s.b.store.Get(st.lset) == nil) {
		return false, nil
	}
	vals, _, err := valenc.Decode((*buf)[:0], st.cells, st.n)
	if err != nil {
		return false, fmt.Errorf("series %s: decode staged cells: %w", st.lset, err)
	}
	*buf = vals
	ser, _, err := s.b.store.GetOrCreate(st.lset, st.opts)
	if err != nil {
		return false, fmt.Errorf("series %s: %w", st.lset, err)
	}
	s.mu.Lock()
	_, wasRestored := s.restored[ser.Ref()]
	if !gapOnly || wasRestored {
		s.filled[ser.Ref()] = struct{}{}
	}
	s.mu.Unlock()
	if oldest, ok := ser.Oldest(); ok && !s.cfg.ReadRecent && !wasRestored {
		// Only before the live data, as Prometheus reads a remote only
		// before its local storage without read_recent.
		vals = vals[:max(0, min(len(vals), int((oldest-st.start)/st.step)))]
	}
	n, err := ser.Fill(st.start, vals)
	if err != nil || n == 0 {
		return false, nil // removed meanwhile, or nothing was missing
	}
	s.b.metrics.series.WithLabelValues(s.cfg.Name).Inc()
	s.b.metrics.samples.WithLabelValues(s.cfg.Name).Add(float64(st.samples))
	s.b.metrics.cells.WithLabelValues(s.cfg.Name).Add(float64(n))
	s.b.engine.Wake(ser.Ref())
	return true, nil
}

// accumulator aggregates the samples of one series into grid cells with
// the series' aggregation, as the ring does for live samples.
type accumulator struct {
	active, skip bool
	qi           int
	src          labels.Labels // the series as the source named it
	lset         labels.Labels // as buffered (with the source's tenant)
	opts         ring.Options
	step         int64
	start        int64 // grid time of vals[0]
	vals         []float64
	counts       []int32
	samples      int
	lastT        int64 // newest sample added
}

func (a *accumulator) reset(qi int, lset labels.Labels, opts ring.Options, from, to int64) {
	a.active, a.qi, a.lset, a.opts = true, qi, lset.Copy(), opts
	a.step = opts.Step.Milliseconds()
	a.start = grid.FloorDiv(from, a.step) * a.step
	n := max(0, min(int((to-a.start)/a.step)+1, opts.Capacity()))
	a.vals = a.vals[:0]
	a.counts = a.counts[:0]
	for range n {
		a.vals = append(a.vals, 0)
		a.counts = append(a.counts, 0)
	}
	a.samples = 0
	a.lastT = math.MinInt64
}

func (a *accumulator) add(t int64, v float64) {
	if math.IsNaN(v) || t < a.start {
		return // stale markers and gaps
	}
	k := (t - a.start) / a.step
	if k >= int64(len(a.vals)) {
		return
	}
	a.samples++
	a.lastT = max(a.lastT, t)
	p, c := &a.vals[k], &a.counts[k]
	*c++
	if *c == 1 {
		*p = v
		return
	}
	switch a.opts.Aggregate {
	case ring.AggLast:
		*p = v
	case ring.AggMean, ring.AggSum:
		*p += v
	case ring.AggMin:
		*p = min(*p, v)
	case ring.AggMax:
		*p = max(*p, v)
	}
}

// values returns the cells, NaN where no sample fell.
func (a *accumulator) values() []float64 {
	for i, c := range a.counts {
		switch {
		case c == 0:
			a.vals[i] = math.NaN()
		case a.opts.Aggregate == ring.AggMean:
			a.vals[i] /= float64(c)
		}
	}
	return a.vals
}

func toQuery(from, to int64, ms []*labels.Matcher) *prompb.Query {
	q := &prompb.Query{StartTimestampMs: from, EndTimestampMs: to}
	for _, m := range ms {
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: protoMatchType(m.Type), Name: m.Name, Value: m.Value})
	}
	return q
}

func protoMatchType(t labels.MatchType) prompb.LabelMatcher_Type {
	switch t {
	case labels.MatchNotEqual:
		return prompb.LabelMatcher_NEQ
	case labels.MatchRegexp:
		return prompb.LabelMatcher_RE
	case labels.MatchNotRegexp:
		return prompb.LabelMatcher_NRE
	}
	return prompb.LabelMatcher_EQ
}

// sameBackfill reports whether a and b backfill the same way: the same
// sources and the same selectors on the same grids.
func sameBackfill(a, b *config.Config) bool {
	if len(a.RemoteRead) != len(b.RemoteRead) || len(a.Forecasts) != len(b.Forecasts) || a.Tenancy != b.Tenancy {
		return false
	}
	for i := range a.RemoteRead {
		if !reflect.DeepEqual(*a.RemoteRead[i], *b.RemoteRead[i]) {
			return false
		}
	}
	for i, fa := range a.Forecasts {
		fb := b.Forecasts[i]
		if !slices.Equal(fa.Match, fb.Match) || fa.Step != fb.Step || fa.Window != fb.Window || fa.Aggregate != fb.Aggregate {
			return false
		}
	}
	return true
}
