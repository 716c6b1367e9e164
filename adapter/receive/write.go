package receive

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// reason is why a sample was not accepted into a ring buffer; it is the
// reason label of train_prometheus_dropped_samples_total.
type reason int

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
}

// write validates, routes and appends series, counting into st. Invalid
// series are skipped; the others are processed whatever their neighbours.
func (h *Handler) write(st *stats, series []prompb.TimeSeries, lim *limits) {
	router := lim.router
	var (
		b    = labels.NewScratchBuilder(16)
		lset labels.Labels
	)
	for i := range series {
		ts := &series[i]
		if err := validateSeries(ts, &lim.Limits); err != nil {
			st.invalidSeries++
			st.dropped[reasonInvalid] += len(ts.Samples) + len(ts.Histograms)
			if st.firstInvalid == nil {
				st.firstInvalid = fmt.Errorf("series %s: %w", describeSeries(ts.Labels), err)
			}
			continue
		}
		// Exemplars are ignored without counting: they are not samples.
		st.dropped[reasonHistogram] += len(ts.Histograms)
		if len(ts.Samples) == 0 {
			continue
		}
		if router == nil {
			st.dropped[reasonUnselected] += len(ts.Samples)
			continue
		}

		// The labels are valid and sorted. A label with an empty value is
		// the same as no label in Prometheus, so it is left out. Overwrite
		// reuses one buffer for all series: lset is only valid until the
		// next series, which Router and Store.GetOrCreate (it copies the
		// labels of a new series) allow.
		b.Reset()
		for _, l := range ts.Labels {
			// The tenant label is the adapter's own: a sender cannot set it.
			if l.Value != "" && l.Name != config.TenantLabel {
				b.Add(l.Name, l.Value)
			}
		}
		if st.tenant != "" {
			// Multi-tenancy: the tenant is part of the series' identity and
			// is carried to its outputs, whose write-back sends it as the
			// tenant header again.
			b.Add(config.TenantLabel, st.tenant)
			b.Sort()
		}
		b.Overwrite(&lset)
		opts, ok := router.Route(lset)
		if !ok {
			st.dropped[reasonUnselected] += len(ts.Samples)
			continue
		}
		if h.owns != nil && !h.owns(lset) {
			st.dropped[reasonNotOwned] += len(ts.Samples)
			continue
		}
		h.appendSamples(st, lset, opts, ts.Samples)
	}
}

// appendSamples appends the samples of one valid, routed series. The
// series is created on its first non-NaN sample only, so that a series
// that only carries stale markers takes no place in the store.
func (h *Handler) appendSamples(st *stats, lset labels.Labels, opts ring.Options, samples []prompb.Sample) {
	var ser *ring.Series
	for i, s := range samples {
		// math.IsNaN covers the stale marker (value.StaleNaN) too.
		if math.IsNaN(s.Value) {
			st.dropped[reasonNaN]++
			continue
		}
		// Timestamps before the epoch are not those of a live stream; the
		// bound also keeps the ring's cell arithmetic far from overflow.
		if s.Timestamp < 0 || s.Timestamp > st.maxT {
			st.dropped[reasonOutOfBounds]++
			continue
		}
		err := h.appendSample(&ser, lset, opts, s.Timestamp, s.Value, st.noNewSeries)
		switch {
		case err == nil:
			st.accepted++
		case errors.Is(err, ring.ErrTooOld):
			st.dropped[reasonTooOld]++
		case errors.Is(err, ring.ErrOutOfOrder):
			st.dropped[reasonDuplicate]++
		case ser == nil:
			// The series could not be had: drop the rest of it.
			st.dropFailed(err, len(samples)-i)
			return
		default:
			st.dropFailed(err, 1)
		}
	}
}

// appendSample appends (t, v) to *ser. It looks the series up first when
// *ser is nil, and again, once, when the series was removed from the store
// (garbage collected) since. *ser is nil when the series could not be had.
func (h *Handler) appendSample(ser **ring.Series, lset labels.Labels, opts ring.Options, t int64, v float64, noNew bool) error {
	if *ser == nil {
		s, err := h.getSeries(lset, opts, noNew)
		if err != nil {
			return err
		}
		*ser = s
	}
	err := (*ser).Append(t, v)
	if !errors.Is(err, ring.ErrSeriesRemoved) {
		return err
	}
	s, err := h.getSeries(lset, opts, noNew)
	*ser = s
	if err != nil {
		return err
	}
	if err := s.Append(t, v); err != nil {
		return fmt.Errorf("append sample: %w", err)
	}
	return nil
}

// errMemory refuses a new series near the memory ceiling.
var errMemory = errors.New("new series refused near limits.max_memory_bytes")

// getSeries returns the series of lset, creating it with opts if needed
// unless noNew is set (memory pressure).
func (h *Handler) getSeries(lset labels.Labels, opts ring.Options, noNew bool) (*ring.Series, error) {
	if noNew {
		if ser := h.store.Get(lset); ser != nil {
			return ser, nil
		}
		return nil, errMemory
	}
	ser, _, err := h.store.GetOrCreate(lset, opts)
	if err != nil {
		return nil, fmt.Errorf("get or create series: %w", err)
	}
	return ser, nil
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
	errLabelOrder      = errors.New("labels out of order: names not sorted")
	errLabelDuplicate  = errors.New("duplicate label name")
	errLabelName       = errors.New("invalid label name")
	errLabelNameEmpty  = errors.New("empty label name")
	errLabelValue      = errors.New("label value not valid UTF-8")
	errEmptyMetricName = errors.New("empty metric name")
	errTooManyLabels   = errors.New("too many labels")
	errLabelNameLong   = errors.New("label name too long")
	errLabelValueLong  = errors.New("label value too long")
)

// validateSeries checks what remote-write 1.0 requires of a series: a
// non-empty label set with valid UTF-8 names and values, names strictly
// ascending (sorted, no duplicates), a non-empty __name__, and samples with
// strictly increasing timestamps; and the limits of lim (zero: none).
// Timestamps are integers in remote-write 1.0, so they cannot be NaN or
// infinite; sample values may be anything (NaN is counted, not refused).
func validateSeries(ts *prompb.TimeSeries, lim *Limits) error {
	if len(ts.Labels) == 0 {
		return errNoLabels
	}
	if n := lim.MaxLabelsPerSeries; n > 0 && len(ts.Labels) > n {
		return fmt.Errorf("%w: %d labels, more than limits.max_labels_per_series=%d", errTooManyLabels, len(ts.Labels), n)
	}
	hasName := false
	for i, l := range ts.Labels {
		if l.Name == "" {
			return errLabelNameEmpty
		}
		if n := lim.MaxLabelNameLength; n > 0 && len(l.Name) > n {
			return fmt.Errorf("%w: %s is %d bytes, more than limits.max_label_name_length=%d", errLabelNameLong, quote(l.Name), len(l.Name), n)
		}
		if !model.UTF8Validation.IsValidLabelName(l.Name) {
			return fmt.Errorf("%w %s", errLabelName, quote(l.Name))
		}
		if i > 0 && l.Name == ts.Labels[i-1].Name {
			return fmt.Errorf("%w %s", errLabelDuplicate, quote(l.Name))
		}
		if i > 0 && l.Name < ts.Labels[i-1].Name {
			return fmt.Errorf("%w: %s after %s", errLabelOrder, quote(l.Name), quote(ts.Labels[i-1].Name))
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("%w for label %s", errLabelValue, quote(l.Name))
		}
		if n := lim.MaxLabelValueLength; n > 0 && len(l.Value) > n {
			return fmt.Errorf("%w: value of %s is %d bytes, more than limits.max_label_value_length=%d", errLabelValueLong, quote(l.Name), len(l.Value), n)
		}
		if l.Name == model.MetricNameLabel {
			if l.Value == "" {
				return errEmptyMetricName
			}
			hasName = true
		}
	}
	if !hasName {
		return errNoMetricName
	}
	for i := 1; i < len(ts.Samples); i++ {
		if ts.Samples[i].Timestamp <= ts.Samples[i-1].Timestamp {
			return fmt.Errorf("%w: %d after %d", errSampleOrder, ts.Samples[i].Timestamp, ts.Samples[i-1].Timestamp)
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
func describeSeries(ls []prompb.Label) string {
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
		sb.WriteString(quote(l.Name))
		sb.WriteByte('=')
		sb.WriteString(quote(l.Value))
	}
	sb.WriteByte('}')
	return sb.String()
}
