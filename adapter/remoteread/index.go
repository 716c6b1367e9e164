package remoteread

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// indexRefresh is how long a forecast index is used at least before the
// next request rebuilds it (sooner when series came or went, or on a
// reload): the one full pass over the engine's forecasts is paid at most
// once per refresh, whatever the number of requests and queries. The
// refresh grows to indexCostFactor times the last build's duration, so that
// rebuilding takes at most 1/indexCostFactor of a core (about 4 s at 100k
// series). Meanwhile an answer may start one step early (at a grid time
// just written back) or use the model from before a retrain; a series that
// came or went is seen at once.
const (
	indexRefresh    = time.Second
	indexCostFactor = 20
)

// ctxCheckEvery is how many series a pass visits between checks of the
// request context.
const ctxCheckEvery = 1024

// indexed is one answerable forecast series: the value type vt of fc.
type indexed struct {
	fc   *output.Forecast
	vt   int
	lset labels.Labels // as the engine names it, tenant label included
}

// index holds the forecast series by metric name and the buffered input
// series by metric name, so that a query with an equality matcher on
// __name__ visits only the series of that name.
type index struct {
	built   time.Time // monotonic
	took    time.Duration
	changes uint64 // ring.Store.Changes() when built
	gen     uint64 // Server.gen when built

	forecasts map[string][]indexed
	nForecast int
	raw       map[string][]*ring.Series
}

// valid reports whether idx can answer a request now.
func (idx *index) valid(changes, gen uint64) bool {
	return idx != nil && idx.changes == changes && idx.gen == gen && time.Since(idx.built) < max(indexRefresh, indexCostFactor*idx.took)
}

// eachForecast calls f with the candidate forecast series of a query whose
// metric name is name ("" for a query without an equality matcher on
// __name__: every series), until f returns false.
func (idx *index) eachForecast(name string, f func(*indexed) bool) {
	if name != "" {
		for i := range idx.forecasts[name] {
			if !f(&idx.forecasts[name][i]) {
				return
			}
		}
		return
	}
	for _, list := range idx.forecasts {
		for i := range list {
			if !f(&list[i]) {
				return
			}
		}
	}
}

// eachRaw is eachForecast for the buffered input series.
func (idx *index) eachRaw(name string, f func(*ring.Series) bool) {
	if name != "" {
		for _, ser := range idx.raw[name] {
			if !f(ser) {
				return
			}
		}
		return
	}
	for _, list := range idx.raw {
		for _, ser := range list {
			if !f(ser) {
				return
			}
		}
	}
}

// equalName returns the value of an equality matcher on __name__ among ms,
// or "".
func equalName(ms []*labels.Matcher) string {
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && m.Value != "" {
			return m.Value
		}
	}
	return ""
}

// indexer builds and keeps the current index; concurrent requests that find
// it stale wait for one rebuild rather than each scanning everything.
type indexer struct {
	mu  sync.Mutex
	cur *index
}

// index returns a valid index, rebuilding it when stale. The rebuild stops
// with ctx's error when ctx is done (the half-built index is dropped).
func (s *Server) index(ctx context.Context, withRaw bool) (*index, error) {
	changes, gen := s.store.Changes(), s.gen.Load()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if cur := s.idx.cur; cur.valid(changes, gen) && (!withRaw || cur.raw != nil) {
		return cur, nil
	}
	idx := &index{built: time.Now(), changes: changes, gen: gen, forecasts: map[string][]indexed{}}
	var (
		visited int
		err     error
	)
	s.fc.Forecasts(nil, func(fc output.Forecast) bool {
		if visited++; visited%ctxCheckEvery == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		p := &fc
		for vt := range fc.Labels {
			name := fc.Labels[vt].Get(model.MetricNameLabel)
			idx.forecasts[name] = append(idx.forecasts[name], indexed{fc: p, vt: vt, lset: fc.Labels[vt]})
			idx.nForecast++
		}
		return true
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if withRaw {
		idx.raw = map[string][]*ring.Series{}
		visited = 0
		s.store.Range(func(ser *ring.Series) bool {
			if visited++; visited%ctxCheckEvery == 0 {
				if err = ctx.Err(); err != nil {
					return false
				}
			}
			name := ser.Labels().Get(model.MetricNameLabel)
			idx.raw[name] = append(idx.raw[name], ser)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	idx.took = time.Since(idx.built)
	s.idx.cur = idx
	s.indexBuilds.Inc()
	return idx, nil
}
