package ring

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/internal/grid"
)

// Reasons for Series.Append to refuse a sample.
var (
	// ErrTooOld is returned for a sample whose cell is older than the window
	// of the buffer.
	ErrTooOld = errors.New("sample too old for the ring window")
	// ErrOutOfOrder is returned for a duplicate or out-of-order sample whose
	// cell already holds data.
	ErrOutOfOrder = errors.New("duplicate or out-of-order sample for a cell holding data")
	// ErrSeriesRemoved is returned when appending to a series that has been
	// removed from its store; the caller should look the series up again.
	ErrSeriesRemoved = errors.New("series removed from the store")
)

const bytesPerCell = 8

// Series is the ring buffer of one series. It is safe for concurrent use.
type Series struct {
	// Immutable after creation.
	lset  labels.Labels
	ref   uint64
	hash  uint64
	store *Store

	// typ is the MetricType declared with the series (SetType).
	typ atomic.Uint32

	mtx      sync.Mutex
	opts     Options
	step     int64 // Grid step in ms.
	capacity int64 // Number of cells.
	values   []float64
	head     int64 // Cell index of the newest sample.
	first    int64 // Oldest cell index that ever held data.
	lastT    int64 // Newest accepted timestamp, math.MinInt64 if none.
	// Running aggregation state of the head cell, for AggMean.
	openSum   float64
	openCount int64
	// removed is set once the series left its store; its buffer no longer
	// counts towards Store.BufferBytes.
	removed bool
}

func newSeries(st *Store, lset labels.Labels, hash, ref uint64, opts Options) *Series {
	s := &Series{lset: lset, hash: hash, ref: ref, store: st}
	s.applyOptions(opts)
	return s
}

// applyOptions sets opts and empties the buffer. The caller holds s.mtx or
// owns s exclusively.
func (s *Series) applyOptions(opts Options) {
	if s.values != nil && !s.removed {
		s.store.bufferBytes.Add(-int64(len(s.values)) * bytesPerCell)
	}
	s.opts = opts
	s.step = int64(opts.Step / time.Millisecond)
	s.capacity = int64(opts.Capacity())
	s.values = nil
	s.head, s.first = 0, 0
	s.lastT = math.MinInt64
	s.openSum, s.openCount = 0, 0
}

// Labels returns the labels of the series.
func (s *Series) Labels() labels.Labels { return s.lset }

// Ref returns the id of the series: unique within its store, assigned at
// creation and never reused.
func (s *Series) Ref() uint64 { return s.ref }

// Options returns the options currently applied to the series.
func (s *Series) Options() Options {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	return s.opts
}

// LastSampleTime returns the timestamp in ms of the newest accepted sample,
// or math.MinInt64 if the series holds none.
func (s *Series) LastSampleTime() int64 {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	return s.lastT
}

// Reset applies new options, e.g. after a configuration reload. When step,
// window or aggregation change, the buffered data is dropped: the series
// restarts empty on the new grid, as if it had just been created. When only
// Group changes, the data is kept. Options that fail Validate are a
// programming error and make Reset panic; validate them beforehand.
func (s *Series) Reset(opts Options) {
	if err := opts.Validate(); err != nil {
		panic("ring: reset series: " + err.Error())
	}
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.opts.sameGrid(opts) {
		s.opts.Group = opts.Group
		return
	}
	s.applyOptions(opts)
}

// cell returns the index of the grid cell holding timestamp t.
func (s *Series) cell(t int64) int64 {
	return grid.FloorDiv(t, s.step)
}

// slot returns the position of cell k in s.values.
func (s *Series) slot(k int64) int64 {
	i := k % s.capacity
	if i < 0 {
		i += s.capacity
	}
	return i
}

// Append adds the sample (t, v), t in ms since the epoch, following the
// rules in the package documentation. NaN values, including Prometheus
// stale markers, and infinite values are ignored and return nil: the cell
// stays a gap. A refused sample returns
// ErrTooOld, ErrOutOfOrder or ErrSeriesRemoved.
func (s *Series) Append(t int64, v float64) error {
	if gap(v) {
		return nil
	}
	k := s.cell(t)

	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.removed {
		return ErrSeriesRemoved
	}

	switch {
	case s.values == nil:
		s.values = make([]float64, s.capacity)
		fillNaN(s.values)
		s.store.bufferBytes.Add(s.capacity * bytesPerCell)
		s.first = k
		s.openCell(k, t, v)

	case k > s.head:
		// Clear the cells skipped over; k itself is overwritten below. The
		// distance is taken unsigned: k-s.head may exceed math.MaxInt64.
		skipped := int64(min(uint64(k-s.head)-1, uint64(s.capacity)))
		a, b := s.span(s.head+1, skipped)
		fillNaN(a)
		fillNaN(b)
		s.openCell(k, t, v)

	case k == s.head && t > s.lastT:
		s.aggregate(t, v)

	case uint64(s.head-k) >= uint64(s.capacity):
		// k < s.head here; unsigned, as above, so extreme values cannot wrap.
		return ErrTooOld

	case k == s.head:
		// The head cell always holds data.
		return ErrOutOfOrder

	default:
		i := s.slot(k)
		if !math.IsNaN(s.values[i]) {
			return ErrOutOfOrder
		}
		s.values[i] = v
		s.first = min(s.first, k)
	}
	return nil
}

// openCell makes k the head cell, starting it with v.
func (s *Series) openCell(k, t int64, v float64) {
	s.head = k
	s.lastT = t
	s.values[s.slot(k)] = v
	s.openSum, s.openCount = v, 1
}

// aggregate combines v at t into the open head cell.
func (s *Series) aggregate(t int64, v float64) {
	s.lastT = t
	p := &s.values[s.slot(s.head)]
	switch s.opts.Aggregate {
	case AggLast:
		*p = v
	case AggMean:
		s.openSum += v
		s.openCount++
		*p = s.openSum / float64(s.openCount)
	case AggMin:
		*p = min(*p, v)
	case AggMax:
		*p = max(*p, v)
	case AggSum:
		*p += v
	}
}

// bounds returns the cells [lo, hi] of the buffer with grid time before end.
// ok is false when there are none. The caller holds s.mtx.
func (s *Series) bounds(end int64) (lo, hi int64, ok bool) {
	if s.values == nil || end == math.MinInt64 {
		return 0, 0, false
	}
	lo = max(s.first, s.head-s.capacity+1)
	hi = min(s.head, s.cell(end-1))
	return lo, hi, lo <= hi
}

// Values copies the cells whose grid time is before end (ms) into dst,
// oldest first, and returns them with the grid time of the first one. dst is
// reused when its capacity suffices. Gaps and cells not yet seen within the
// window are NaN; the NaN cells before the first sample the series ever held
// are not returned. The last returned cell is at most the head cell. Values
// returns (0, dst[:0]) when the series holds no data before end.
func (s *Series) Values(end int64, dst []float64) (start int64, vals []float64) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	lo, hi, ok := s.bounds(end)
	if !ok {
		return 0, dst[:0]
	}
	n := int(hi - lo + 1)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	a, b := s.span(lo, int64(n))
	copy(dst[copy(dst, a):], b)

	for _, v := range dst {
		if !math.IsNaN(v) {
			return lo * s.step, dst
		}
	}
	return 0, dst[:0]
}

// Count returns how many cells with grid time before end (ms) hold data.
func (s *Series) Count(end int64) int {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	lo, hi, ok := s.bounds(end)
	if !ok {
		return 0
	}
	a, b := s.span(lo, hi-lo+1)
	return countData(a) + countData(b)
}

// span returns the n cells starting at cell lo as at most two slices of
// s.values, in cell order. n must not exceed the capacity.
func (s *Series) span(lo, n int64) (a, b []float64) {
	i := s.slot(lo)
	if i+n <= s.capacity {
		return s.values[i : i+n], nil
	}
	return s.values[i:], s.values[:i+n-s.capacity]
}

func countData(vs []float64) int {
	n := 0
	for _, v := range vs {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// detach marks the series as removed from its store and releases its buffer
// from the store's accounting. The caller holds s.mtx.
func (s *Series) detach() {
	if s.removed {
		return
	}
	s.removed = true
	if s.values != nil {
		s.store.bufferBytes.Add(-int64(len(s.values)) * bytesPerCell)
	}
}

func fillNaN(vs []float64) {
	nan := math.NaN()
	for i := range vs {
		vs[i] = nan
	}
}

// gap reports whether v leaves its cell empty: NaN (stale markers
// included), +Inf and -Inf. Only finite values reach the buffers.
func gap(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0)
}
