package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/anomaly"
	"github.com/train-prometheus/train-prometheus/models/auto"
)

// gcInterval is how often RetrainDue removes series that have sent nothing
// for a whole window.
const gcInterval = time.Minute

// job is one series to fit, with the grid end its training data stops at:
// the open cell of evaluation (see openCell), so that a fit trains only on
// cells closed for evaluation_delay, never on one still filling.
type job struct {
	st    *state
	end   int64
	first bool // the series' first fit
}

// RetrainDue fits every series that is due at now and returns when all
// those fits are done. A series is due when it has never been fitted and
// holds min_history of data, or when its slot in the retrain interval has
// come (slots are spread by a hash of the series' labels). Fits run on
// Options.Workers goroutines; a series already being fitted is skipped.
// Fits train on the cells Evaluate has closed at now: those before the
// cell open at now minus evaluation_delay. A later cell may still get
// samples (a sum or mean of part of its samples would be learnt as a dip
// and forecast a period later).
func (e *Engine) RetrainDue(ctx context.Context, now time.Time) int {
	start := time.Now()
	snap := e.snap.Load()
	ms := now.UnixMilli()
	e.maybeGC(snap, ms)

	var jobs []job
	var lateness int64
	refits := 0
	for _, st := range e.sync(snap) {
		st.mu.Lock()
		entry := st.entry
		end := openCell(ms, snap.delay, entry.Step)
		// When end moves next: what a step's checks wait for.
		nextEnd := end + entry.Step + snap.delay
		due := false
		switch {
		case st.fitting:
		case !st.fitted:
			if ms >= st.nextCheck {
				st.nextCheck = nextEnd
				due = int64(st.ser.Count(end))*entry.Step >= max(entry.MinHistory, 2*entry.Step)
			}
		case ms >= st.nextFit:
			due = true
			refits++
			lateness = max(lateness, ms-st.nextFit)
		case ms >= st.nextCheck:
			// Once a step: has the decision on the transform changed (the
			// series' type came with metadata after a guess from its
			// name, or a reload changed transform)? Then the fits model
			// the wrong values: refit now rather than at the slot.
			st.nextCheck = nextEnd
			due = entry.transformFor(st.ser) != st.transform
		}
		if due {
			st.fitting = true
			jobs = append(jobs, job{st: st, end: end, first: !st.fitted})
		}
		st.mu.Unlock()
	}
	// Set only by passes that refit something: a pass with nothing due
	// must not hide the lateness of the one before from a scrape.
	if refits > 0 {
		e.metrics.retrainLateness.Set(float64(lateness) / 1000)
	}
	if len(jobs) == 0 {
		return 0
	}

	prog := e.startProgress(jobs)
	defer prog.finish()
	ch := make(chan job)
	var wg sync.WaitGroup
	for range min(e.opts.Workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float64
			for j := range ch {
				buf = e.fit(j, ms, buf)
				prog.done.Add(1)
			}
		}()
	}
	n := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			j.st.mu.Lock()
			j.st.fitting = false
			j.st.mu.Unlock()
			continue
		}
		ch <- j
		n++
	}
	close(ch)
	wg.Wait()
	e.metrics.retrainPass.Observe(time.Since(start).Seconds())
	return n
}

// fit fits all models of one series on its cells before j.end and installs
// the results. buf is scratch space, returned for reuse.
func (e *Engine) fit(j job, now int64, buf []float64) []float64 {
	st := j.st
	st.mu.Lock()
	entry := st.entry
	tr := entry.transformFor(st.ser)
	prev := st.fits
	adj := slices.Clone(st.adjust)
	masked := slices.Clone(st.masked)
	shift, shifted := st.pendingAdjust(j.end)
	// While the anomaly detector warms up for want of a known period,
	// each fit looks for one (a single model detects its own).
	needPeriod := st.period == 0 && (len(st.det) == 0 || st.det[0].det.Observations() < int64(st.warmUp()))
	if st.fitted && tr != st.transform {
		// Another transform: nothing learnt on the other values carries
		// over (see installTransform).
		prev, adj, masked, shifted, needPeriod = nil, nil, nil, false, true
	}
	st.mu.Unlock()

	start, vals := st.transformedValues(j.end, tr, entry.Step, true, buf)
	if shifted {
		adj = append(adj, shift)
		if len(adj) > maxAdjust {
			adj = adj[1:]
		}
	}
	adjusted(vals, start, entry.Step, adj)
	masking(vals, start, entry.Step, masked)
	s := models.Series{Start: start, Step: entry.Step, Values: vals}
	if entry.Period == 0 && (len(entry.Models) > 1 || entry.Models[0].Name() == auto.Name) {
		// Detect the period once for all models: it is most of a fit's
		// cost (auto would detect the same one itself). The anomaly
		// warm-up is a period long.
		s.Period = models.DetectPeriod(vals, 0)
		if s.Period == 0 {
			s.Period = -1
		}
	}
	period := max(entry.Period, s.Period, 0)
	if period == 0 && s.Period == 0 && needPeriod {
		period = models.DetectPeriod(vals, 0)
	}
	noise, band := anomaly.Floors(vals)
	if tr == models.TransformRate && noise == 0 {
		noise, band = idleRateFloors(entry.Step)
	}
	fits := make([]models.Fitted, len(entry.Models))
	ok, short := false, false
	var fitErrs []string
	for i, m := range entry.Models {
		var p models.Fitted
		if i < len(prev) {
			p = prev[i]
		}
		t0 := time.Now()
		f, err := m.Fit(s, p)
		e.metrics.fitDuration.WithLabelValues(m.Name()).Observe(time.Since(t0).Seconds())
		switch {
		case err == nil:
			fits[i] = f
			ok = true
			e.metrics.fits.WithLabelValues(m.Name(), "success").Inc()
		case errors.Is(err, models.ErrInsufficientData):
			short = true
			e.metrics.fits.WithLabelValues(m.Name(), "insufficient_data").Inc()
			fitErrs = append(fitErrs, m.Name()+": "+err.Error())
		case errors.Is(err, models.ErrNonFinite):
			// Values near the limits of float64: the series keeps its
			// previous fits when no model fits (see README, Models).
			e.metrics.fits.WithLabelValues(m.Name(), "non_finite").Inc()
			fitErrs = append(fitErrs, m.Name()+": "+err.Error())
			level.Warn(e.logger).Log("msg", "Fit not finite", "series", st.ser.Labels().String(), "model", m.Name(), "err", err)
		default:
			e.metrics.fits.WithLabelValues(m.Name(), "error").Inc()
			fitErrs = append(fitErrs, m.Name()+": "+err.Error())
			level.Warn(e.logger).Log("msg", "Fit failed", "series", st.ser.Labels().String(), "model", m.Name(), "err", err)
		}
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	st.fitting = false
	st.lastFitAt, st.lastFitErr = now, strings.Join(fitErrs, "; ")
	if st.entry != entry {
		// Reconfigured while fitting: these fits may be for the old models.
		return vals
	}
	// The next fit is at the series' next slot. After a first fit (made as
	// soon as min_history is there, off the slot) that slot is at least
	// half an interval away, so the fit is not repeated seconds later. A
	// model that lacked data is retried at the next step instead: history
	// grows every step.
	from := now
	if !st.fitted || st.retrying {
		from += entry.RetrainInterval / 2
	}
	st.nextFit = nextPhaseTime(from, entry.RetrainInterval, st.phase)
	st.retrying = short
	if short {
		st.nextFit = min(st.nextFit, now+entry.Step)
	}
	if !ok {
		return vals
	}
	if tr != st.transform {
		st.installTransform(tr)
	}
	if shifted {
		st.rebase(st.fits, fits, j.end)
	}
	for len(adj) > 0 && adj[0].from <= start {
		adj = adj[1:] // before the window: nothing left to re-level
	}
	st.adjust = adj
	st.masked = slices.DeleteFunc(st.masked, func(t int64) bool { return t < start })
	st.fits, st.trainEnd, st.fitted = fits, j.end, true
	st.noiseFloor, st.bandFloor = noise, band
	if period > 0 || s.Period < 0 || needPeriod {
		st.period = period // else: a single model's refit keeps the one found
	}
	return vals
}

// installTransform makes tr the transform of st's fits, about to be
// installed: what the state learnt on the values under the old transform
// (detectors and their error scales, level changes, masked cells, the
// pending forecast, the latest flags, the period) is dropped, and the output
// series are named anew. st.mu is held.
func (st *state) installTransform(tr models.Transform) {
	st.transform = tr
	st.det, st.adjust, st.masked, st.flags = nil, nil, nil, nil
	st.pending, st.pendingT = nil, math.MinInt64
	st.period = 0
	st.out = nil
}

// maybeGC removes series that have sent nothing for the longest window.
func (e *Engine) maybeGC(snap *snapshot, now int64) {
	e.mu.Lock()
	due := now-e.lastGC >= gcInterval.Milliseconds() && snap.maxWindow > 0
	if due {
		e.lastGC = now
	}
	e.mu.Unlock()
	if due {
		if n := e.store.GC(now - snap.maxWindow); n > 0 {
			level.Info(e.logger).Log("msg", "Removed series without samples for a whole window", "series", n)
		}
	}
}
