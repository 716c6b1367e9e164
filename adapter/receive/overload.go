package receive

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one request may carry and how much the receiver takes
// on at once. Zero fields mean "no limit", except MaxRequestBytes (zero
// means DefaultMaxRequestBytes).
type Limits struct {
	// MaxRequestBytes bounds the body, snappy-encoded and decoded (413).
	MaxRequestBytes int
	// MaxSeriesPerRequest bounds the series of one request (413).
	MaxSeriesPerRequest int
	// MaxLabelsPerSeries, MaxLabelNameLength and MaxLabelValueLength make a
	// series that exceeds them invalid (400, the other series are kept).
	MaxLabelsPerSeries  int
	MaxLabelNameLength  int
	MaxLabelValueLength int
	// MaxInflightRequests bounds the requests decoded at once; a request
	// that finds no slot within inflightWait is answered 429.
	MaxInflightRequests int
	// MaxMemoryBytes is the memory ceiling: above seriesAdmissionShare of
	// it (live heap) new series are refused, above requestShare of it
	// every request is answered 429.
	MaxMemoryBytes int64
	// TenantHeader, when set, names the request header whose value is
	// kept with every series of the request as config.TenantLabel.
	TenantHeader string
	// EvictIdleAfter is how long a series must have received no sample
	// before it may be evicted to make room for a new one (max_series
	// reached, or the memory ceiling); zero means DefaultEvictIdleAfter,
	// negative never evicts.
	EvictIdleAfter time.Duration
}

// DefaultEvictIdleAfter is the default Limits.EvictIdleAfter: a series
// silent for an hour has stopped (Prometheus marks series stale after 5
// minutes); one that comes back later starts anew.
const DefaultEvictIdleAfter = time.Hour

// Eviction runs at most every evictEvery, removing at most evictShare of
// the series (at least one) each time: a flood of new series turns the
// idle ones over gradually, not all at once.
const (
	evictEvery = time.Second
	evictShare = 0.01
)

const (
	// inflightWait is how long a request waits for a free slot before it
	// is answered 429: it smooths bursts without queueing without bound.
	inflightWait = 100 * time.Millisecond
	// retryAfterSeconds is the Retry-After of a 429.
	retryAfterSeconds = "1"
	// seriesAdmissionShare and requestShare are the shares of
	// MaxMemoryBytes of live heap past which new series, and then whole
	// requests, are refused. The heap needs headroom above its live data
	// for the garbage collector, which the ceiling also drives (the
	// adapter sets the runtime's soft memory limit to it).
	seriesAdmissionShare = 0.7
	requestShare         = 0.85
	// memSampleEvery is how often the live heap is read at most.
	memSampleEvery = 50 * time.Millisecond
)

// memPressure is how close the process is to its memory ceiling.
type memPressure int

const (
	memOK          memPressure = iota
	memNoNewSeries             // refuse new series, keep appending to known ones
	memRefuse                  // answer every request 429
)

// memGauge reads the live heap at most every memSampleEvery and caches it.
// It is safe for concurrent use.
type memGauge struct {
	read   func() uint64 // liveHeapBytes, replaced in tests
	cycles func() uint64 // gcCycles, replaced in tests

	// pending is the memory admitted to new series since the live heap
	// figure was last brought up to date by a garbage collection: the
	// figure does not include it yet.
	pending   atomic.Int64
	lastCycle atomic.Uint64

	mu     sync.Mutex
	last   atomic.Int64 // unix nanos of the last read
	value  atomic.Uint64
	sample []metrics.Sample
}

func newMemGauge() *memGauge {
	g := &memGauge{}
	g.sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	g.read = g.liveHeapBytes
	g.cycles = g.gcCycles
	return g
}

// gcCycles is the number of completed garbage collections; it reads the
// sample liveHeapBytes read last.
func (g *memGauge) gcCycles() uint64 {
	if g.sample[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return g.sample[1].Value.Uint64()
}

// liveHeapBytes is the heap memory occupied by live objects as of the last
// garbage collection.
func (g *memGauge) liveHeapBytes() uint64 {
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return g.sample[0].Value.Uint64()
}

// bytes returns the live heap, read anew when the cached value is older
// than memSampleEvery. Concurrent callers use the cached value while one
// of them reads.
func (g *memGauge) bytes(now time.Time) uint64 {
	if now.UnixNano()-g.last.Load() < int64(memSampleEvery) {
		return g.value.Load()
	}
	if !g.mu.TryLock() {
		return g.value.Load()
	}
	defer g.mu.Unlock()
	g.value.Store(g.read())
	if c := g.cycles(); c != g.lastCycle.Load() {
		// A collection has measured the series admitted before it.
		g.lastCycle.Store(c)
		g.pending.Store(0)
	}
	g.last.Store(now.UnixNano())
	return g.value.Load()
}

// admit reserves cost bytes for a new series unless that would take the
// live heap, plus what was admitted since it was measured, past
// seriesAdmissionShare of limit (0: no ceiling). Checking each new series
// before it is allocated keeps one request of many new series from
// overshooting the ceiling between two measurements.
func (g *memGauge) admit(cost, limit int64, now time.Time) bool {
	if limit <= 0 {
		return true
	}
	used := int64(g.bytes(now)) + g.pending.Load()
	if float64(used+cost) > seriesAdmissionShare*float64(limit) {
		return false
	}
	g.pending.Add(cost)
	return true
}

// pressure returns the memory pressure against limit (0: no ceiling).
func (g *memGauge) pressure(limit int64, now time.Time) memPressure {
	if limit <= 0 {
		return memOK
	}
	used := float64(g.bytes(now))
	switch {
	case used >= requestShare*float64(limit):
		return memRefuse
	case used >= seriesAdmissionShare*float64(limit):
		return memNoNewSeries
	}
	return memOK
}

// semaphore bounds concurrent requests; nil means no bound.
type semaphore chan struct{}

func newSemaphore(n int) semaphore {
	if n <= 0 {
		return nil
	}
	return make(semaphore, n)
}

// acquire takes a slot, waiting up to wait. It reports whether it got one.
func (s semaphore) acquire(wait time.Duration) bool {
	if s == nil {
		return true
	}
	select {
	case s <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// release gives a slot back.
func (s semaphore) release() {
	if s != nil {
		<-s
	}
}
