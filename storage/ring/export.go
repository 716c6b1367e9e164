package ring

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/internal/grid"
)

// ErrInvalidState is returned by Store.Restore for a SeriesState that no
// series could have exported.
var ErrInvalidState = errors.New("invalid series state")

// SeriesState is everything a series holds, as Export copies it and Restore
// recreates it: enough to continue exactly where the series left off.
type SeriesState struct {
	Labels  labels.Labels
	Options Options
	// Start is the grid time (ms) of Values[0].
	Start int64
	// Values are the cells from the oldest one in the window that ever held
	// data up to the head cell (the newest one), NaN where nothing arrived.
	// The last value is never NaN. Empty when the series holds no data.
	Values []float64
	// LastT is the timestamp (ms) of the newest accepted sample; it lies in
	// the head cell.
	LastT int64
	// OpenSum and OpenCount are the running aggregation state of the head
	// cell (used by AggMean).
	OpenSum   float64
	OpenCount int64
}

// Export copies the state of s into a SeriesState. Values reuses dst when
// its capacity suffices. Export and Restore round-trip exactly, NaN
// payloads included.
func (s *Series) Export(dst []float64) SeriesState {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st := SeriesState{
		Labels:    s.lset,
		Options:   s.opts,
		LastT:     s.lastT,
		OpenSum:   s.openSum,
		OpenCount: s.openCount,
		Values:    dst[:0],
	}
	if s.values == nil {
		return st
	}
	lo := max(s.first, s.head-s.capacity+1)
	n := s.head - lo + 1
	a, b := s.span(lo, n)
	st.Values = append(append(st.Values, a...), b...)
	st.Start = lo * s.step
	return st
}

// Validate returns an error wrapping ErrInvalidState when st is not a state
// a series could have exported.
func (st SeriesState) Validate() error {
	if err := st.Options.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	if st.Labels.IsEmpty() || !sortedUnique(st.Labels) {
		return fmt.Errorf("%w: labels %s empty, unsorted or repeated", ErrInvalidState, st.Labels)
	}
	if len(st.Values) == 0 {
		return nil
	}
	step := st.Options.Step.Milliseconds()
	n := int64(len(st.Values))
	switch {
	case n > int64(st.Options.Capacity()):
		return fmt.Errorf("%w: %d values exceed the capacity of %d cells", ErrInvalidState, n, st.Options.Capacity())
	case st.Start%step != 0:
		return fmt.Errorf("%w: start %d is not on the %d ms grid", ErrInvalidState, st.Start, step)
	case st.Start > math.MaxInt64-n*step || st.Start < math.MinInt64+step:
		return fmt.Errorf("%w: start %d out of range", ErrInvalidState, st.Start)
	case math.IsNaN(st.Values[n-1]):
		return fmt.Errorf("%w: the newest cell holds no data", ErrInvalidState)
	case grid.FloorDiv(st.LastT, step) != st.Start/step+n-1:
		return fmt.Errorf("%w: last sample time %d is not in the newest cell", ErrInvalidState, st.LastT)
	case st.OpenCount < 1:
		return fmt.Errorf("%w: open cell count %d", ErrInvalidState, st.OpenCount)
	}
	return nil
}

// Restore creates the series st describes, holding exactly the data it
// held when exported, and returns it. The store's options for the series
// are st.Options. A series with these labels that already exists is left
// alone and refused with an error; so is a new series over max_series
// (ErrTooManySeries) and an invalid state (ErrInvalidState).
func (s *Store) Restore(st SeriesState) (*Series, error) {
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("restore series %s: %w", st.Labels, err)
	}
	ser, created, err := s.GetOrCreate(st.Labels, st.Options)
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, fmt.Errorf("restore series %s: already present", st.Labels)
	}
	ser.mtx.Lock()
	defer ser.mtx.Unlock()
	if ser.removed {
		return nil, fmt.Errorf("restore series %s: %w", st.Labels, ErrSeriesRemoved)
	}
	if len(st.Values) == 0 {
		return ser, nil
	}
	ser.values = make([]float64, ser.capacity)
	fillNaN(ser.values)
	s.bufferBytes.Add(ser.capacity * bytesPerCell)
	ser.first = st.Start / ser.step
	ser.head = ser.first + int64(len(st.Values)) - 1
	a, b := ser.span(ser.first, int64(len(st.Values)))
	copy(b, st.Values[copy(a, st.Values):])
	ser.lastT = st.LastT
	ser.openSum, ser.openCount = st.OpenSum, st.OpenCount
	return ser, nil
}

func sortedUnique(lset labels.Labels) bool {
	ok, prev, first := true, "", true
	lset.Range(func(l labels.Label) {
		if !first && l.Name <= prev {
			ok = false
		}
		prev, first = l.Name, false
	})
	return ok
}
