package ring

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/model/labels"
)

// ErrTooManySeries is returned when a new series is refused because the
// store already holds its maximum number of series.
var ErrTooManySeries = errors.New("too many series: max_series reached")

// numShards is the number of independently locked parts of a Store.
const numShards = 256

// shard holds the series whose label hash maps to it. Most series live in
// unique; series whose hash collides with another's live in conflicts.
type shard struct {
	mtx       sync.RWMutex
	unique    map[uint64]*Series
	conflicts map[uint64][]*Series // nil until the first collision.
	// Pad to a cache line so that locks of neighbouring shards do not
	// share one.
	_ [64 - 40]byte
}

func (sh *shard) get(hash uint64, lset labels.Labels) *Series {
	if s := sh.unique[hash]; s != nil && labels.Equal(s.lset, lset) {
		return s
	}
	for _, s := range sh.conflicts[hash] {
		if labels.Equal(s.lset, lset) {
			return s
		}
	}
	return nil
}

func (sh *shard) add(s *Series) {
	if _, ok := sh.unique[s.hash]; !ok {
		sh.unique[s.hash] = s
		return
	}
	if sh.conflicts == nil {
		sh.conflicts = map[uint64][]*Series{}
	}
	sh.conflicts[s.hash] = append(sh.conflicts[s.hash], s)
}

// remove takes s out of the shard and reports whether it was there.
func (sh *shard) remove(s *Series) bool {
	h := s.hash
	c := sh.conflicts[h]
	if sh.unique[h] == s {
		if len(c) == 0 {
			delete(sh.unique, h)
			return true
		}
		sh.unique[h] = c[0]
		c = slices.Delete(c, 0, 1)
	} else {
		i := slices.Index(c, s)
		if i < 0 {
			return false
		}
		c = slices.Delete(c, i, i+1)
	}
	if len(c) == 0 {
		delete(sh.conflicts, h)
	} else {
		sh.conflicts[h] = c
	}
	return true
}

// appendAll appends every series of the shard to dst.
func (sh *shard) appendAll(dst []*Series) []*Series {
	for _, s := range sh.unique {
		dst = append(dst, s)
	}
	for _, c := range sh.conflicts {
		dst = append(dst, c...)
	}
	return dst
}

// Store holds the ring buffers of all series, sharded by label hash. It is
// safe for concurrent use.
type Store struct {
	shards [numShards]shard

	maxSeries   atomic.Int64 // <= 0: no limit.
	numSeries   atomic.Int64
	bufferBytes atomic.Int64
	lastRef     atomic.Uint64
	changes     atomic.Uint64 // bumped whenever a series is created or removed
	families    families      // metric family types from metadata requests

	created prometheus.Counter
	removed prometheus.Counter
	evicted prometheus.Counter
}

// NewStore returns an empty store that holds at most maxSeries series
// (maxSeries <= 0 means no limit) and registers its metrics on reg, which
// may be nil.
func NewStore(maxSeries int, reg prometheus.Registerer) *Store {
	s := &Store{}
	for i := range s.shards {
		s.shards[i].unique = map[uint64]*Series{}
	}
	s.maxSeries.Store(int64(maxSeries))

	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "train_prometheus_ring_series",
		Help: "Number of series held in ring buffers.",
	}, func() float64 { return float64(s.numSeries.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "train_prometheus_ring_buffer_bytes",
		Help: "Bytes of sample value buffers held by the ring buffers.",
	}, func() float64 { return float64(s.bufferBytes.Load()) })
	s.created = f.NewCounter(prometheus.CounterOpts{
		Name: "train_prometheus_ring_series_created_total",
		Help: "Total number of series created in the ring buffers.",
	})
	s.removed = f.NewCounter(prometheus.CounterOpts{
		Name: "train_prometheus_ring_series_removed_total",
		Help: "Total number of series removed from the ring buffers by deletion, garbage collection or eviction.",
	})
	s.evicted = f.NewCounter(prometheus.CounterOpts{
		Name: "train_prometheus_ring_series_evicted_total",
		Help: "Total number of idle series evicted to make room for new ones (limits.max_series or the memory ceiling).",
	})
	return s
}

// Changes returns a number that changes whenever a series is created or
// removed, so that a caller can tell cheaply whether the set of series is
// the one it saw before.
func (s *Store) Changes() uint64 { return s.changes.Load() }

// SetMaxSeries changes the maximum number of series, e.g. on a configuration
// reload (n <= 0 means no limit). Existing series are kept even when they
// exceed the new limit; only new series are refused until enough are gone.
func (s *Store) SetMaxSeries(n int) {
	s.maxSeries.Store(int64(n))
}

func (s *Store) shardFor(hash uint64) *shard {
	return &s.shards[hash%numShards]
}

// GetOrCreate returns the series with exactly the labels lset, creating it
// with opts when it is new (created is true then). A new series keeps a copy
// of lset. When the store holds its maximum number of series, a new series
// is refused with ErrTooManySeries; invalid opts are refused with an error
// wrapping ErrInvalidOptions. The options of an existing series are left
// alone: use Series.Reset to change them.
func (s *Store) GetOrCreate(lset labels.Labels, opts Options) (ser *Series, created bool, err error) {
	return s.getOrCreate(lset.Hash(), lset, opts)
}

func (s *Store) getOrCreate(hash uint64, lset labels.Labels, opts Options) (*Series, bool, error) {
	sh := s.shardFor(hash)
	sh.mtx.RLock()
	ser := sh.get(hash, lset)
	sh.mtx.RUnlock()
	if ser != nil {
		return ser, false, nil
	}
	if err := opts.Validate(); err != nil {
		return nil, false, fmt.Errorf("create series %s: %w", lset, err)
	}

	sh.mtx.Lock()
	defer sh.mtx.Unlock()
	if ser := sh.get(hash, lset); ser != nil {
		return ser, false, nil
	}
	if !s.reserve() {
		return nil, false, ErrTooManySeries
	}
	ser = newSeries(s, lset.Copy(), hash, s.lastRef.Add(1), opts)
	sh.add(ser)
	s.changes.Add(1)
	s.created.Inc()
	return ser, true, nil
}

// reserve counts one more series unless that would exceed the limit.
func (s *Store) reserve() bool {
	for {
		n, limit := s.numSeries.Load(), s.maxSeries.Load()
		if limit > 0 && n >= limit {
			return false
		}
		if s.numSeries.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Get returns the series with exactly the labels lset, or nil if absent.
func (s *Store) Get(lset labels.Labels) *Series {
	hash := lset.Hash()
	sh := s.shardFor(hash)
	sh.mtx.RLock()
	defer sh.mtx.RUnlock()
	return sh.get(hash, lset)
}

// Range calls f for every series until f returns false. Each shard's list is
// snapshotted under its read lock and f runs without any store lock held, so
// f may call other methods of the store. Series created or removed while
// Range runs may or may not be visited.
func (s *Store) Range(f func(*Series) bool) {
	var buf []*Series
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mtx.RLock()
		buf = sh.appendAll(buf[:0])
		sh.mtx.RUnlock()
		for _, ser := range buf {
			if !f(ser) {
				return
			}
		}
	}
}

// Len returns the number of series in the store.
func (s *Store) Len() int {
	return int(s.numSeries.Load())
}

// BufferBytes returns the bytes of the value buffers of all series in the
// store.
func (s *Store) BufferBytes() int64 {
	return s.bufferBytes.Load()
}

// Delete removes ser from the store and reports whether it was there. The
// removed series keeps its data for readers but refuses appends with
// ErrSeriesRemoved.
func (s *Store) Delete(ser *Series) bool {
	if ser == nil || ser.store != s {
		return false
	}
	sh := s.shardFor(ser.hash)
	sh.mtx.Lock()
	defer sh.mtx.Unlock()
	if !sh.remove(ser) {
		return false
	}
	ser.mtx.Lock()
	ser.detach()
	ser.mtx.Unlock()
	s.removedOne()
	return true
}

// GC removes the series whose newest sample is older than before (ms since
// the epoch), including series that never received a sample, and returns how
// many it removed. A series is checked and detached under its own lock, so a
// sample appended concurrently either keeps the series or is refused with
// ErrSeriesRemoved.
func (s *Store) GC(before int64) int {
	removed := 0
	var all, stale []*Series
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mtx.Lock()
		all, stale = sh.appendAll(all[:0]), stale[:0]
		for _, ser := range all {
			ser.mtx.Lock()
			if ser.lastT < before {
				ser.detach()
				stale = append(stale, ser)
			}
			ser.mtx.Unlock()
		}
		for _, ser := range stale {
			sh.remove(ser)
			s.removedOne()
		}
		sh.mtx.Unlock()
		removed += len(stale)
	}
	return removed
}

func (s *Store) removedOne() {
	s.changes.Add(1)
	s.numSeries.Add(-1)
	s.removed.Inc()
}

// EvictIdle makes room: it removes up to limit series whose newest sample
// is older than idleBefore (ms since the epoch), the least recently written
// first, and returns them. Removed series behave as after Delete.
func (s *Store) EvictIdle(limit int, idleBefore int64) (removed []*Series) {
	type candidate struct {
		ser   *Series
		lastT int64
	}
	var (
		cands []candidate
		buf   []*Series
	)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mtx.RLock()
		buf = sh.appendAll(buf[:0])
		sh.mtx.RUnlock()
		for _, ser := range buf {
			if t := ser.LastSampleTime(); t < idleBefore {
				cands = append(cands, candidate{ser, t})
			}
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.lastT, b.lastT) })
	for _, c := range cands[:min(limit, len(cands))] {
		sh := s.shardFor(c.ser.hash)
		sh.mtx.Lock()
		c.ser.mtx.Lock()
		// Still idle, and still in the store?
		if c.ser.lastT < idleBefore && !c.ser.removed && sh.remove(c.ser) {
			c.ser.detach()
			s.removedOne()
			s.evicted.Inc()
			removed = append(removed, c.ser)
		}
		c.ser.mtx.Unlock()
		sh.mtx.Unlock()
	}
	return removed
}
