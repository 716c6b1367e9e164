package receive

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// reason is why a sample was not accepted into a ring buffer; it is the
// reason label of train_prometheus_dropped_samples_total.
type reason int

// reasonNone is no reason: the samples are kept.
const reasonNone reason = -1

const (
	// reasonInvalid: the series was invalid and the request answered 400.
	reasonInvalid reason = iota
	// reasonUnselected: no forecast selects the series.
	reasonUnselected
	// reasonMaxSeries: the store was full and the series new.
	reasonMaxSeries
	// reasonNaN: NaN values, Prometheus stale markers included.
	reasonNaN
	// reasonTooOld: older than the window of the ring buffer.
	reasonTooOld
	// reasonDuplicate: the cell of the sample already held data, e.g. a
	// resend.
	reasonDuplicate
	// reasonHistogram: native histogram samples, which are not forecast.
	reasonHistogram
	// reasonOutOfBounds: timestamps before the epoch or more than maxAhead
	// after the receiver's clock.
	reasonOutOfBounds
	// reasonNotOwned: the series belongs to another replica's shard.
	reasonNotOwned
	// reasonError: the store refused the sample for another reason, such as
	// invalid ring options from the router.
	reasonError
	// reasonMemory: the series was new and the process near its memory
	// ceiling (limits.max_memory_bytes): known series are served first.
	reasonMemory
	// reasonInf: +Inf or -Inf, which no model can learn from: a gap.
	reasonInf
	numReasons
)

// String returns the label value of the reason.
func (r reason) String() string {
	switch r {
	case reasonInvalid:
		return "invalid"
	case reasonUnselected:
		return "unselected"
	case reasonMaxSeries:
		return "max_series"
	case reasonNaN:
		return "nan"
	case reasonTooOld:
		return "too_old"
	case reasonDuplicate:
		return "duplicate"
	case reasonHistogram:
		return "histogram"
	case reasonOutOfBounds:
		return "out_of_bounds"
	case reasonNotOwned:
		return "not_owned"
	case reasonError:
		return "error"
	case reasonMemory:
		return "memory"
	case reasonInf:
		return "inf"
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// maxAhead is how far after the receiver's clock a sample may be, as in
// Prometheus' receiver. One sample far in the future would move the head of
// its ring there, clear the buffer and make every later sample too old.
const maxAhead = 10 * time.Minute

// stats sum up what happened to the samples of one request.
type stats struct {
	maxT          int64 // Samples after maxT (ms) are out of bounds.
	accepted      int
	dropped       [numReasons]int
	invalidSeries int
	firstInvalid  error  // Why the first invalid series was invalid.
	storeErr      error  // The first unexpected error of the store.
	noNewSeries   bool   // Near the memory ceiling: append to known series only.
	tenant        string // Tenant of the request ("" for none), kept as config.TenantLabel.

	// newest[g] is the newest timestamp accepted for ring group g
	// (forecasts entry), -1 if none.
	newest []int64

	// Written counts, as remote-write 2.0 reports them: the samples,
	// histograms and exemplars of valid series, except samples refused for
	// want of room (max_series, memory) or by a store error.
	samplesWritten, histogramsWritten, exemplarsWritten int
}

// lookupRoutes looks every series of req up in the route cache, under one
// lock, and decodes the labels of those it does not know (1.0 leaves them
// for now, see unmarshalV1). An error is a malformed label: the request is
// refused as a whole, as the generated decoder would.
func (req *writeRequest) lookupRoutes(c *routeCache, tenant string) error {
	req.routes = slices.Grow(req.routes[:0], len(req.series))[:len(req.series)]
	c.mu.RLock()
	for si := range req.series {
		r, ok := c.entries[string(req.keyOf(&req.series[si], tenant))]
		req.routes[si] = lookup{route: r, hit: ok}
	}
	c.mu.RUnlock()
	for si := range req.series {
		if !req.routes[si].hit {
			if err := req.parseLabels(&req.series[si]); err != nil {
				return err
			}
		}
	}
	return nil
}

// write validates, routes and appends the series of req, counting into
// st; lookupRoutes has run. Invalid series are skipped; the others are
// processed whatever their neighbours. bad marks series the decoder
// already found invalid (2.0 label references), indexed like req.series;
// it may be nil.
func (h *Handler) write(st *stats, req *writeRequest, bad []error, lim *limits) {
	var b = labels.NewScratchBuilder(16)
	for si := range req.series {
		s := &req.series[si]
		ss := req.seriesSamples(s)
		r := req.routes[si]
		var err error
		switch {
		case si < len(bad) && bad[si] != nil:
			err = bad[si]
		case !r.hit:
			// The cache holds label sets found valid under this
			// configuration: only a new one is checked.
			err = validateLabels(req.seriesLabels(s), &lim.Limits)
		}
		if err == nil {
			err = validateSamples(ss)
		}
		if err != nil {
			st.invalidSeries++
			st.dropped[reasonInvalid] += len(ss) + int(s.histograms)
			if st.firstInvalid == nil {
				_ = req.parseLabels(s) // for the message; a hit parses
				st.firstInvalid = fmt.Errorf("series %s: %w", describeSeries(req.seriesLabels(s)), err)
			}
			continue
		}
		// Native histograms and exemplars are accepted and counted, not
		// kept: the models forecast floats.
		st.dropped[reasonHistogram] += int(s.histograms)
		st.histogramsWritten += int(s.histograms)
		st.exemplarsWritten += int(s.exemplars)
		st.samplesWritten += len(ss)
		if len(ss) == 0 {
			continue
		}
		if r.hit {
			if r.ser == nil {
				st.dropped[r.drop] += len(ss)
				continue
			}
			if h.appendSamples(st, r.ser, ss) {
				r.ser.SetType(s.typ)
				st.saw(r.group, ss)
				continue
			}
			// Removed from the store (garbage collected) since it was
			// cached: look it up anew.
			lim.cache.remove(req.keyOf(s, st.tenant))
			if err := req.parseLabels(s); err != nil {
				// Cannot happen: the same bytes decoded before.
				st.dropFailed(err, len(ss))
				continue
			}
		}
		if lim.router == nil {
			st.dropped[reasonUnselected] += len(ss)
			continue
		}
		lset := h.labelsOf(st, &b, req.seriesLabels(s))
		opts, ok := lim.router.Route(lset)
		drop := reasonNone
		switch {
		case !ok:
			drop = reasonUnselected
		case h.owns != nil && !h.owns(lset):
			drop = reasonNotOwned
		}
		if drop != reasonNone {
			lim.cache.put(req.keyOf(s, st.tenant), route{drop: drop})
			st.dropped[drop] += len(ss)
			continue
		}
		if !st.anyStorable(ss) {
			// Only NaNs (stale markers) or timestamps out of bounds: a
			// series is not created for them.
			continue
		}
		ser, err := h.getSeries(lset, opts, st.noNewSeries, lim)
		if err != nil {
			st.samplesWritten -= len(ss)
			st.dropFailed(err, len(ss))
			continue
		}
		lim.cache.put(req.keyOf(s, st.tenant), route{ser: ser, group: opts.Group})
		if !h.appendSamples(st, ser, ss) {
			st.samplesWritten -= len(ss)
			st.dropFailed(ring.ErrSeriesRemoved, len(ss))
			continue
		}
		ser.SetType(s.typ)
		st.saw(opts.Group, ss)
	}
}

// saw records the newest timestamp of ss for ring group g. The samples of
// a valid series are in time order, so it is the last one.
func (st *stats) saw(g int, ss []wireSample) {
	if g < 0 || g >= maxGroups || len(ss) == 0 {
		return
	}
	for len(st.newest) <= g {
		st.newest = append(st.newest, -1)
	}
	st.newest[g] = max(st.newest[g], ss[len(ss)-1].t)
}

// anyStorable reports whether a sample of ss may be appended: one that is
// not NaN and in bounds. When none is, the samples are counted as dropped.
func (st *stats) anyStorable(ss []wireSample) bool {
	for _, s := range ss {
		if !math.IsNaN(s.v) && !math.IsInf(s.v, 0) && s.t >= 0 && s.t <= st.maxT {
			return true
		}
	}
	for _, s := range ss {
		switch {
		case math.IsNaN(s.v):
			st.dropped[reasonNaN]++
		case math.IsInf(s.v, 0):
			st.dropped[reasonInf]++
		default:
			st.dropped[reasonOutOfBounds]++
		}
	}
	return false
}

// labelsOf builds the labels a series is stored with: sorted, without
// empty values (the same as no label in Prometheus), with the request's
// tenant as config.TenantLabel (a sender cannot set that label itself).
// The result is only valid until the next call: b reuses its buffer, which
// Router and Store.GetOrCreate (it copies the labels of a new series)
// allow.
func (h *Handler) labelsOf(st *stats, b *labels.ScratchBuilder, ls []wireLabel) labels.Labels {
	b.Reset()
	for _, l := range ls {
		if l.value != "" && l.name != config.TenantLabel {
			b.Add(l.name, l.value)
		}
	}
	if st.tenant != "" {
		// Multi-tenancy: the tenant is part of the series' identity and
		// is carried to its outputs, whose write-back sends it as the
		// tenant header again.
		b.Add(config.TenantLabel, st.tenant)
	}
	b.Sort()
	var lset labels.Labels
	b.Overwrite(&lset)
	return lset
}

// appendSamples appends the samples of one valid, routed series to ser.
// It returns false, having appended nothing, when ser left its store (the
// caller looks it up again).
func (h *Handler) appendSamples(st *stats, ser *ring.Series, ss []wireSample) bool {
	tried := false
	for _, s := range ss {
		// math.IsNaN covers the stale marker (value.StaleNaN) too.
		if math.IsNaN(s.v) {
			st.dropped[reasonNaN]++
			continue
		}
		if math.IsInf(s.v, 0) {
			st.dropped[reasonInf]++
			continue
		}
		// Timestamps before the epoch are not those of a live stream; the
		// bound also keeps the ring's cell arithmetic far from overflow.
		if s.t < 0 || s.t > st.maxT {
			st.dropped[reasonOutOfBounds]++
			continue
		}
		err := ser.Append(s.t, s.v)
		first := !tried
		tried = true
		switch {
		case err == nil:
			st.accepted++
		case errors.Is(err, ring.ErrTooOld):
			st.dropped[reasonTooOld]++
		case errors.Is(err, ring.ErrOutOfOrder):
			st.dropped[reasonDuplicate]++
		case errors.Is(err, ring.ErrSeriesRemoved) && first:
			return false
		default:
			// Removed while its samples were appended: the rest are lost
			// with it, as they would have been a moment later.
			st.samplesWritten--
			st.dropFailed(err, 1)
		}
	}
	return true
}

// errMemory refuses a new series near the memory ceiling.
var errMemory = errors.New("new series refused near limits.max_memory_bytes")

// getSeries returns the series of lset, creating it with opts if needed
// unless noNew is set (memory pressure) or there is no room for it: then
// it evicts idle series once (see makeRoom) and tries again.
func (h *Handler) getSeries(lset labels.Labels, opts ring.Options, noNew bool, lim *limits) (*ring.Series, error) {
	if ser := h.store.Get(lset); ser != nil {
		return ser, nil
	}
	cost, now := seriesCost(lset, opts), time.Now()
	if noNew || !h.mem.admit(cost, lim.MaxMemoryBytes, now) {
		if !h.makeRoom(lim, now) || !h.mem.admit(cost, lim.MaxMemoryBytes, now) {
			return nil, errMemory
		}
	}
	ser, _, err := h.store.GetOrCreate(lset, opts)
	if errors.Is(err, ring.ErrTooManySeries) && h.makeRoom(lim, now) {
		ser, _, err = h.store.GetOrCreate(lset, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("get or create series: %w", err)
	}
	return ser, nil
}

// makeRoom evicts the least recently written of the series idle for
// lim.EvictIdleAfter, at most evictShare of them, at most every
// evictEvery, and reports whether it evicted any. Their estimated cost
// counts as freed for the memory admission at once.
func (h *Handler) makeRoom(lim *limits, now time.Time) bool {
	idle := lim.EvictIdleAfter
	if idle == 0 {
		idle = DefaultEvictIdleAfter
	}
	last := h.lastEvict.Load()
	if idle < 0 || now.UnixNano()-last < int64(evictEvery) || !h.lastEvict.CompareAndSwap(last, now.UnixNano()) {
		return false
	}
	evicted := h.store.EvictIdle(max(1, int(evictShare*float64(h.store.Len()))), now.Add(-idle).UnixMilli())
	for _, ser := range evicted {
		h.mem.pending.Add(-seriesCost(ser.Labels(), ser.Options()))
	}
	if len(evicted) > 0 {
		level.Info(h.logger).Log("msg", "Evicted idle series to make room for new ones", "series", len(evicted), "idle_for_at_least", idle)
	}
	return len(evicted) > 0
}

// seriesCost estimates the memory of a new series: its ring buffer, its
// labels (kept by the store and by the engine's outputs) and bookkeeping.
func seriesCost(lset labels.Labels, opts ring.Options) int64 {
	return int64(opts.Capacity())*8 + 4*int64(lset.ByteSize()) + 512
}

// dropFailed counts n samples refused by the store with err: when a
// series cannot be had, all its remaining samples are counted.
func (st *stats) dropFailed(err error, n int) {
	if errors.Is(err, ring.ErrTooManySeries) {
		st.dropped[reasonMaxSeries] += n
		return
	}
	if errors.Is(err, errMemory) {
		st.dropped[reasonMemory] += n
		return
	}
	st.dropped[reasonError] += n
	if st.storeErr == nil {
		st.storeErr = err
	}
}

// Reasons for a series to be invalid.
var (
	errNoLabels        = errors.New("no labels")
	errNoMetricName    = errors.New("no metric name (__name__ label)")
	errSampleOrder     = errors.New("samples out of order: timestamps not strictly increasing")
	errLabelDuplicate  = errors.New("duplicate label name")
	errLabelName       = errors.New("invalid label name")
	errLabelNameEmpty  = errors.New("empty label name")
	errLabelValue      = errors.New("label value not valid UTF-8")
	errEmptyMetricName = errors.New("empty metric name")
	errTooManyLabels   = errors.New("too many labels")
	errLabelNameLong   = errors.New("label name too long")
	errLabelValueLong  = errors.New("label value too long")
)

// validateLabels checks what remote write requires of a label set: not
// empty, valid UTF-8 names and values, a non-empty __name__, no duplicate
// or empty name; and the limits of lim (zero: none). Labels out of order
// are sorted in place, as Prometheus' receiver does, rather than refused.
func validateLabels(ls []wireLabel, lim *Limits) error {
	if len(ls) == 0 {
		return errNoLabels
	}
	if n := lim.MaxLabelsPerSeries; n > 0 && len(ls) > n {
		return fmt.Errorf("%w: %d labels, more than limits.max_labels_per_series=%d", errTooManyLabels, len(ls), n)
	}
	hasName, sorted := false, true
	for i, l := range ls {
		if l.name == "" {
			return errLabelNameEmpty
		}
		if n := lim.MaxLabelNameLength; n > 0 && len(l.name) > n {
			return fmt.Errorf("%w: %s is %d bytes, more than limits.max_label_name_length=%d", errLabelNameLong, quote(l.name), len(l.name), n)
		}
		if !model.UTF8Validation.IsValidLabelName(l.name) {
			return fmt.Errorf("%w %s", errLabelName, quote(l.name))
		}
		if i > 0 && l.name <= ls[i-1].name {
			sorted = false
		}
		if !utf8.ValidString(l.value) {
			return fmt.Errorf("%w for label %s", errLabelValue, quote(l.name))
		}
		if n := lim.MaxLabelValueLength; n > 0 && len(l.value) > n {
			return fmt.Errorf("%w: value of %s is %d bytes, more than limits.max_label_value_length=%d", errLabelValueLong, quote(l.name), len(l.value), n)
		}
		if l.name == model.MetricNameLabel {
			if l.value == "" {
				return errEmptyMetricName
			}
			hasName = true
		}
	}
	if !hasName {
		return errNoMetricName
	}
	if !sorted {
		slices.SortStableFunc(ls, func(a, b wireLabel) int { return strings.Compare(a.name, b.name) })
		for i := 1; i < len(ls); i++ {
			if ls[i].name == ls[i-1].name {
				return fmt.Errorf("%w %s", errLabelDuplicate, quote(ls[i].name))
			}
		}
	}
	return nil
}

// validateSamples checks that timestamps strictly increase. Timestamps are
// integers on the wire, so they cannot be NaN or infinite; values may be
// anything (NaN is counted, not refused).
func validateSamples(ss []wireSample) error {
	for i := 1; i < len(ss); i++ {
		if ss[i].t <= ss[i-1].t {
			return fmt.Errorf("%w: %d after %d", errSampleOrder, ss[i].t, ss[i-1].t)
		}
	}
	return nil
}

// maxQuoted bounds the length of client strings quoted in error messages,
// which go back to the client and into the log.
const maxQuoted = 128

// quote returns s quoted, cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuoted]) + "..."
}

// describeSeries formats labels for an error message, bounded in length.
func describeSeries(ls []wireLabel) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range ls {
		if sb.Len() > 4*maxQuoted {
			sb.WriteString(", ...")
			break
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quote(l.name))
		sb.WriteByte('=')
		sb.WriteString(quote(l.value))
	}
	sb.WriteByte('}')
	return sb.String()
}
