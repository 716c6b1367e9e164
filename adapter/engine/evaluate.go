package engine

import (
	"math"
	"math/bits"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
)

// Evaluate computes, for every entry whose grid cell closed since the last
// evaluation, the output of each of its fitted series, and hands it to the
// Sink. With T the start of the cell now open (the newest grid time not after
// now minus the evaluation delay) and C = T - step the cell just closed:
//
//   - forecasts for T + h for each horizon h are stamped T;
//   - the actual value of C is scored against the forecast published for C,
//     and the score and 0/1 flag are stamped C (see models/anomaly; the
//     detectors are per series and model, in the state); a lasting change
//     of level makes the model's forecasts follow the new level and the
//     series refit at the next retrain pass;
//   - series without a sample for the staleness period get a stale marker
//     on each of their output series, once.
//
// No sample is stamped after now. It returns the number of samples produced.
func (e *Engine) Evaluate(now time.Time) int {
	start := time.Now()
	snap := e.snap.Load()
	ms := now.UnixMilli()

	e.mu.Lock()
	cells := make(map[*Entry]int64, len(snap.entries))
	for _, entry := range snap.entries {
		t := openCell(ms, snap.delay, entry.Step)
		if last, ok := e.lastEval[entry.Name]; ok && t <= last {
			continue
		}
		e.lastEval[entry.Name] = t
		cells[entry] = t
	}
	if len(cells) == 0 {
		e.mu.Unlock()
		return 0
	}
	states := make([]*state, 0, len(e.states))
	for _, st := range e.states {
		states = append(states, st)
	}
	e.mu.Unlock()

	b := &batcher{sink: e.sink, size: e.opts.BatchSize}
	q := newQuality()
	fitted := 0
	for _, st := range states {
		st.mu.Lock()
		if st.fitted {
			fitted++
		}
		q.choose(st)
		if t, ok := cells[st.entry]; ok {
			e.evaluateSeries(snap, st, t, ms, b, q)
		}
		st.mu.Unlock()
		if len(b.buf) >= b.size {
			b.flush()
		}
	}
	b.flush()
	for kind, n := range b.kinds {
		e.metrics.samplesOut.WithLabelValues(kind).Add(float64(n))
	}
	e.metrics.fitted.Set(float64(fitted))
	e.quality.update(snap, q, ms)
	e.metrics.evaluations.Inc()
	e.metrics.evalDuration.Observe(time.Since(start).Seconds())
	return b.total
}

// openCell returns the grid time of the cell open at now (ms) for an
// entry of step and an evaluation delay of delay (ms): the newest grid
// time not after now - delay. The cells before it are closed: evaluated,
// and the ones fits train on.
func openCell(now, delay, step int64) int64 {
	return grid.Floor(now-delay, step)
}

// evaluateSeries writes one series' output for open cell t. st.mu is held.
func (e *Engine) evaluateSeries(snap *snapshot, st *state, t, now int64, b *batcher, q *quality) {
	entry := st.entry
	mark := len(b.buf)
	defer func() { st.latest = append(st.latest[:0], b.buf[mark:]...) }()

	if last := st.ser.LastSampleTime(); last == math.MinInt64 || last < now-snap.staleness {
		if !st.stale && st.out != nil {
			e.writeStale(st, t, b)
			e.metrics.stale.Inc()
		}
		st.stale = true
		return
	}
	st.stale = false
	if !st.fitted {
		return
	}
	if st.out == nil {
		st.out = snap.namer.build(st.ser.Labels(), entry, st.transform)
		st.claimed = false
	}
	// Claimed once per output set; a state whose outputs another writes
	// tries again every step, until that one is gone.
	if !st.claimed && !e.claimOutputs(st) {
		return
	}

	// Score the cell that just closed against the forecast made for it.
	c := t - entry.Step
	if n := st.lateCells(c); n > 0 {
		e.metrics.cellsMissed.WithLabelValues(entry.Name).Add(float64(n))
	}
	if c > st.lastScoreT {
		// Under st.transform; a counter reset reads as missing: never scored.
		if actual := st.actual(c); !math.IsNaN(actual) {
			for i, f := range st.fits {
				var p models.Point
				switch {
				case st.pendingT == c && i < len(st.pending):
					p = st.pending[i]
				case f != nil && st.trainEnd <= c:
					p = f.Predict(c)
				default:
					continue
				}
				if !p.Finite() {
					continue // withheld when published (see finite), or no forecast
				}
				res := st.scoreCell(i, c, now, actual, p)
				if !models.IsFinite(res.Score) {
					e.metrics.nonfinite.WithLabelValues(entry.Name, entry.Models[i].Name()).Inc()
					continue
				}
				q.band(entry, i, actual, p)
				flag := 0.0
				if res.Anomaly {
					flag = 1
					e.metrics.anomalies.WithLabelValues(res.Rule.String()).Inc()
				}
				b.add(st.out.score[i], c, res.Score, "anomaly_score")
				b.add(st.out.flag[i], c, flag, "anomaly")
				st.lastScoreT = c
			}
		}
	}

	// Forecast the open cell and each horizon ahead of it.
	if t <= st.lastForecastT {
		return
	}
	if len(st.pending) != len(st.fits) {
		st.pending = make([]models.Point, len(st.fits))
	}
	nh := len(entry.Horizons)
	for i, f := range st.fits {
		if f == nil {
			st.pending[i] = models.Point{Yhat: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
			continue
		}
		offset := st.levelOffset(i)
		st.pending[i] = e.finite(entry, i, st.publish(f.Predict(t), offset))
		for h, off := range entry.Horizons {
			p := st.pending[i]
			if off != 0 {
				p = e.finite(entry, i, st.publish(f.Predict(t+off), offset))
			}
			base := (i*nh + h) * 3
			b.add(st.out.forecast[base], t, p.Yhat, "forecast")
			b.add(st.out.forecast[base+1], t, p.Lower, "forecast")
			b.add(st.out.forecast[base+2], t, p.Upper, "forecast")
		}
	}
	st.pendingT = t
	st.lastForecastT = t
}

// missedCells is how many steps back lateCells watches the cells
// evaluated while empty.
const missedCells = 64

// lateCells returns how many of the cells st evaluated while they held no
// data, up to missedCells steps before c, hold data now: their samples came
// later than evaluation_delay, and they are never scored. It then records
// whether c, evaluated now, is empty. st.mu is held.
func (st *state) lateCells(c int64) int {
	n := 0
	if st.emptyMask != 0 {
		if c <= st.emptyAt {
			return 0 // evaluated already
		}
		step := st.entry.Step
		for m := st.emptyMask; m != 0; m &= m - 1 {
			k := bits.TrailingZeros64(m)
			if !math.IsNaN(st.ser.At(st.emptyAt - int64(k)*step)) {
				n++
				st.emptyMask &^= 1 << k
			}
		}
		if shift := (c - st.emptyAt) / step; shift >= missedCells {
			st.emptyMask = 0
		} else {
			st.emptyMask <<= shift
		}
	}
	st.emptyAt = c
	if c > st.lastScoreT && math.IsNaN(st.ser.At(c)) {
		st.emptyMask |= 1
	}
	return n
}

// finite returns p, the forecast of model i of entry, when its value and
// band are finite, and else a NaN point, which is not written (nor scored
// later): a forecast a model has no value for (all NaN) silently, any
// other (a NaN or infinite band, an overflow) counted in nonfinite_outputs.
func (e *Engine) finite(entry *Entry, i int, p models.Point) models.Point {
	if p.Finite() {
		return p
	}
	if !math.IsNaN(p.Yhat) || !math.IsNaN(p.Lower) || !math.IsNaN(p.Upper) {
		e.metrics.nonfinite.WithLabelValues(entry.Name, entry.Models[i].Name()).Inc()
	}
	return models.NaNPoint()
}

// writeStale ends every output series of st with a stale marker at t (or
// just after the newest sample written, if that is later).
func (e *Engine) writeStale(st *state, t int64, b *batcher) {
	stale := math.Float64frombits(value.StaleNaN)
	ft := max(t, st.lastForecastT+1)
	for _, ls := range st.out.forecast {
		b.add(ls, ft, stale, "stale")
	}
	st.lastForecastT = ft
	st.pending = nil
	if st.lastScoreT == math.MinInt64 {
		return // no score was ever written
	}
	stt := max(t, st.lastScoreT+1)
	for i := range st.out.score {
		b.add(st.out.score[i], stt, stale, "stale")
		b.add(st.out.flag[i], stt, stale, "stale")
	}
	st.lastScoreT = stt
}

// batcher collects output samples and hands them to the sink in batches.
type batcher struct {
	sink  Sink
	size  int
	buf   []output.Sample
	total int
	kinds map[string]int
}

func (b *batcher) add(ls labels.Labels, t int64, v float64, kind string) {
	if b.buf == nil {
		// The sink owns each flushed batch, so every batch is a new slice;
		// sized once, it does not grow append by append.
		b.buf = make([]output.Sample, 0, b.size+64)
	}
	// A NaN other than the stale marker carries no information; ±Inf is
	// never written (callers count what they withhold: see finite).
	if !models.IsFinite(v) && !value.IsStaleNaN(v) {
		return
	}
	b.buf = append(b.buf, output.Sample{Labels: ls, T: t, V: v})
	b.total++
	if b.kinds == nil {
		b.kinds = map[string]int{}
	}
	b.kinds[kind]++
}

func (b *batcher) flush() {
	if len(b.buf) > 0 && b.sink != nil {
		b.sink.Append(b.buf)
	}
	b.buf = nil
}
