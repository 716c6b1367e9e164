package ring

import "math"

// At returns the value of the cell holding grid time t (ms): NaN when the
// cell is a gap, outside the window, or newer than the head cell.
func (s *Series) At(t int64) float64 {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.values == nil {
		return math.NaN()
	}
	k := s.cell(t)
	if k > s.head || k <= s.head-s.capacity || k < s.first {
		return math.NaN()
	}
	return s.values[s.slot(k)]
}
