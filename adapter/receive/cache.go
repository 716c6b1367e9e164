package receive

import (
	"encoding/binary"
	"sync"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// routeCache remembers, for the label sets the receiver has seen, what
// routing decided: the ring series to append to, or why the series is not
// kept. Prometheus sends every series again at every scrape, so in steady
// state a series costs one map lookup instead of building its labels,
// validating them, matching every selector and looking it up in the store.
//
// Keys are the label bytes exactly as received (see appendKey): an entry
// exists only for a label set that was valid under the limits and routing
// of the configuration the cache belongs to. A configuration change starts
// a new cache (it lives in limits); a series the store removed is found by
// its ErrSeriesRemoved and looked up again. Series refused for want of room
// (max_series, memory) are not remembered, so they are admitted once there
// is room.
type routeCache struct {
	mu       sync.RWMutex
	entries  map[string]route
	bytes    int // sum of key lengths plus routeOverhead per entry
	maxBytes int
}

// route is a cached routing decision: ser to append to, or the reason the
// series' samples are dropped when ser is nil.
type route struct {
	ser   *ring.Series
	drop  reason
	group int // ring.Options.Group of ser: its forecasts entry
}

// routeOverhead is the approximate memory of one cache entry besides its
// key: map slot, string header, route.
const routeOverhead = 64

// defaultRouteCacheBytes bounds the memory of the route cache: about
// 350,000 series of eight labels. When full, it starts over.
const defaultRouteCacheBytes = 64 << 20

func newRouteCache(maxBytes int) *routeCache {
	return &routeCache{entries: map[string]route{}, maxBytes: maxBytes}
}

// put remembers r for key, which it copies. When the cache is over its
// bound, it is emptied first: the series that keep coming fill it again.
func (c *routeCache) put(key []byte, r route) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[string(key)]; !ok {
		if c.bytes+len(key)+routeOverhead > c.maxBytes {
			clear(c.entries)
			c.bytes = 0
		}
		c.bytes += len(key) + routeOverhead
	}
	c.entries[string(key)] = r
}

// remove forgets key.
func (c *routeCache) remove(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[string(key)]; ok {
		delete(c.entries, string(key))
		c.bytes -= len(key) + routeOverhead
	}
}

// appendKey appends the cache key of a series with labels ls received for
// tenant to dst: every string length-prefixed, in the order received.
func appendKey(dst []byte, tenant string, ls []wireLabel) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(tenant)))
	dst = append(dst, tenant...)
	for _, l := range ls {
		dst = binary.AppendUvarint(dst, uint64(len(l.name)))
		dst = append(dst, l.name...)
		dst = binary.AppendUvarint(dst, uint64(len(l.value)))
		dst = append(dst, l.value...)
	}
	return dst
}
