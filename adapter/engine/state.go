package engine

import (
	"math"
	"sync"

	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/internal/grid"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// state is what the engine keeps per buffered series.
type state struct {
	ser   *ring.Series
	phase uint64 // spreads this series' fits over the retrain interval

	mu       sync.Mutex // guards everything below
	entry    *Entry
	fits     []models.Fitted // per model of entry; nil until fitted
	trainEnd int64           // grid time after the last cell the fits saw
	// transform is what the fits were made on (and what the outputs are
	// named by): the cells as they are, or their per-second rates. Every
	// read of the cells for the models goes through it (see transform.go).
	transform models.Transform
	// claimed is set once out is claimed for this series; collided while
	// another series writes the outputs this one would (see
	// outputClaims): it writes none.
	claimed, collided bool
	fitted            bool
	fitting           bool  // a fit is running: never fit a series twice at once
	retrying          bool  // a model lacked data at the last fit: retried each step, off the slot
	nextFit           int64 // ms; when the next scheduled fit is due
	// nextCheck is when an unfitted series' history is counted again, so
	// that series below min_history cost one check per step, not per pass.
	nextCheck int64

	out      *outputs
	pending  []models.Point // per model: the published forecast for pendingT
	pendingT int64
	det      []detection // per model: anomaly detector and level correction
	// From the history of the last fit: the error scale and band
	// half-width its data supports (anomaly.Floors), and its seasonal
	// period in steps (0: unknown or none).
	noiseFloor, bandFloor float64
	period                int
	flags                 []Flag // the latest flags, oldest first (maxFlags)
	// adjust re-levels the history before changes of level the series
	// made, so that fits learn the new level with the old shape.
	adjust []levelAdjust
	// masked are the grid times of isolated anomalous cells (flagged by
	// magnitude, not part of a change of level), oldest first: fits see
	// them as gaps, so that an incident is not learnt as the season and
	// echoed a period later.
	masked []int64
	// Newest timestamps written, so output samples strictly increase per series.
	lastForecastT int64
	lastScoreT    int64
	// The cells evaluated while empty, to count those that get data too
	// late (see lateCells): bit k is the cell k steps before emptyAt.
	emptyMask uint64
	emptyAt   int64
	stale     bool
	latest    []output.Sample // what the last evaluation wrote, for /forecasts
	// For the status page: when the last fit ran (ms) and how it failed.
	lastFitAt  int64
	lastFitErr string
}

func newState(ser *ring.Series, entry *Entry) *state {
	return &state{
		ser:           ser,
		phase:         ser.Labels().Hash(),
		entry:         entry,
		lastForecastT: math.MinInt64,
		lastScoreT:    math.MinInt64,
		pendingT:      math.MinInt64,
	}
}

// reconfigure points the state at the entry that now selects it, keeping
// fitted models only when they remain valid. Output labels are rebuilt,
// since names or external labels may have changed.
func (st *state) reconfigure(entry *Entry) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !modelsEqual(st.entry, entry) || !sameGrid(st.entry.Ring, entry.Ring) {
		st.fits = nil
		st.fitted = false
		st.pending = nil
		st.pendingT = math.MinInt64
		st.det = nil
		st.flags = nil
		st.adjust = nil
		st.masked = nil
		st.nextFit = 0
		st.nextCheck = 0
		st.retrying = false
		st.emptyMask = 0
	}
	st.entry = entry
	st.out = nil
	st.latest = st.latest[:0]
}

// nextPhaseTime returns the first time after now at which a series with
// phase p is due under interval: the times congruent to p modulo interval.
func nextPhaseTime(now, interval int64, p uint64) int64 {
	off := int64(p % uint64(interval))
	return (grid.FloorDiv(now-off, interval)+1)*interval + off
}
