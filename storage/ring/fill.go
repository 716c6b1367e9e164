package ring

import "math"

// Fill writes whole cells of history in one call, for a backfill: vals[i]
// is the complete, already aggregated value of the cell with grid time
// start + i*step (start is rounded down to the grid); NaN means no data,
// and so do +Inf and -Inf, which no model can learn from.
// It returns how many cells it filled.
//
// The merge rule is that live data wins: a cell that already holds data
// keeps it, and only NaN cells are filled. Cells older than the window are
// skipped. When vals reach past the head cell, the head advances to the
// newest filled cell (the cells skipped over are cleared, as for Append) and
// the newest accepted timestamp becomes the end of that cell: the cells
// given are complete, so a live sample later sent for one of them is refused
// as a duplicate instead of being counted twice.
func (s *Series) Fill(start int64, vals []float64) (int, error) {
	lo := s.cell(start)
	hi := int64(-1)
	for i := len(vals) - 1; i >= 0; i-- {
		if !gap(vals[i]) {
			hi = lo + int64(i)
			break
		}
	}

	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.removed {
		return 0, ErrSeriesRemoved
	}
	if hi < lo {
		return 0, nil
	}
	switch {
	case s.values == nil:
		s.values = make([]float64, s.capacity)
		fillNaN(s.values)
		s.store.bufferBytes.Add(s.capacity * bytesPerCell)
		s.head, s.first = hi, hi
		s.advanced(hi)
	case hi > s.head:
		skipped := int64(min(uint64(hi-s.head), uint64(s.capacity)))
		a, b := s.span(s.head+1, skipped)
		fillNaN(a)
		fillNaN(b)
		s.head = hi
		s.advanced(hi)
	}

	n := 0
	oldest := s.head - s.capacity + 1
	for i, v := range vals {
		k := lo + int64(i)
		if k < oldest || k > s.head || gap(v) {
			continue
		}
		// Cells in the window before the first cell that ever held data
		// are NaN, as in Append.
		p := &s.values[s.slot(k)]
		if !math.IsNaN(*p) {
			continue // live data wins
		}
		*p = v
		s.first = min(s.first, k)
		n++
	}
	return n, nil
}

// advanced records that the head moved to cell hi through a fill: the
// newest accepted timestamp becomes the last millisecond of that cell, so
// that no live sample aggregates into it. The caller holds s.mtx.
func (s *Series) advanced(hi int64) {
	s.lastT = max(s.lastT, (hi+1)*s.step-1)
	s.openSum, s.openCount = 0, 0
}

// Oldest returns the grid time (ms) of the oldest cell in the window that
// holds or held data, and false when the series holds no data.
func (s *Series) Oldest() (int64, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.values == nil {
		return 0, false
	}
	return max(s.first, s.head-s.capacity+1) * s.step, true
}
