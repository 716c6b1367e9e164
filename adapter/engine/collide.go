package engine

import (
	"sync"

	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/model/labels"
)

// outputClaims makes sure no two input series write the same output
// series. Under output.preset ancestor the outputs drop the input's name
// (unless name_label keeps it), so two selected metrics with one label set
// would otherwise write the same predicted_values_* series, each
// overwriting the other's samples. The first series to claim an output set
// keeps it; the others write nothing until it is gone, and are counted and
// logged (config.Warnings tells at load time when this can happen).
type outputClaims struct {
	mu      sync.Mutex
	owners  map[uint64]claim  // by the hash of an output set's first series
	claimed map[*state]uint64 // the owners key each state holds
}

type claim struct {
	st   *state
	lset labels.Labels
}

// key returns the label set that identifies the outputs o: its first
// series (all of an input's outputs share its labels).
func (o *outputs) key() (labels.Labels, bool) {
	switch {
	case len(o.forecast) > 0:
		return o.forecast[0], true
	case len(o.score) > 0:
		return o.score[0], true
	}
	return labels.EmptyLabels(), false
}

// claim reports whether st may write the outputs o: nobody else writes
// them, or their writer has left the engine (alive reports whether a
// state is still tracked).
func (c *outputClaims) claim(st *state, o *outputs, alive func(*state) bool) (ok bool, other *state) {
	key, has := o.key()
	if !has {
		return true, nil
	}
	h := key.Hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owners == nil {
		c.owners, c.claimed = map[uint64]claim{}, map[*state]uint64{}
	}
	if cur, taken := c.owners[h]; taken && cur.st != st && labels.Equal(cur.lset, key) && alive(cur.st) {
		return false, cur.st
	}
	c.releaseLocked(st) // a state renamed by a reload holds one claim
	c.owners[h] = claim{st: st, lset: key}
	c.claimed[st] = h
	return true, nil
}

// release forgets the claim of st.
func (c *outputClaims) release(st *state) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(st)
}

// releaseLocked forgets the claim of st; c.mu is held. It costs one map
// lookup, so that dropping many states at once stays linear.
func (c *outputClaims) releaseLocked(st *state) {
	h, ok := c.claimed[st]
	if !ok {
		return
	}
	delete(c.claimed, st)
	if cur, ok := c.owners[h]; ok && cur.st == st {
		delete(c.owners, h)
	}
}

// claimOutputs claims st.out for st. When another series writes the same
// outputs, st writes nothing: it is counted and, once per series, logged.
// st.mu is held.
func (e *Engine) claimOutputs(st *state) bool {
	ok, other := e.claims.claim(st, st.out, e.tracked)
	if ok {
		st.claimed, st.collided = true, false
		return true
	}
	if !st.collided {
		st.collided = true
		e.metrics.outputCollisions.WithLabelValues(st.entry.Name).Inc()
		level.Warn(e.logger).Log("msg", "Two input series would write the same output series: only the first one is written; set output.name_label",
			"series", st.ser.Labels(), "first", other.ser.Labels(), "forecast", st.entry.Name)
	}
	return false
}

// tracked reports whether st's series is still in the store (a state the
// engine drops releases its claims; this catches a series removed since).
// It takes no engine lock: st.mu of another state is held.
func (e *Engine) tracked(st *state) bool {
	return e.store.Get(st.ser.Labels()) == st.ser
}
