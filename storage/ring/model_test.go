package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// refModel is the reference for the ring: an unbounded map from cell index to
// value, with the window applied only when reading or deciding ErrTooOld.
type refModel struct {
	step, capacity int64
	agg            Aggregation

	cells      map[int64]float64
	have       bool
	head       int64
	first      int64
	lastT      int64
	sum, count float64 // Of the head cell, for AggMean.
	fills      int     // Gaps filled by late samples.
}

func newRefModel(step, capacity int64, agg Aggregation) *refModel {
	return &refModel{step: step, capacity: capacity, agg: agg, cells: map[int64]float64{}, lastT: math.MinInt64}
}

func (m *refModel) append(t int64, v float64) error {
	if math.IsNaN(v) {
		return nil
	}
	k := int64(math.Floor(float64(t) / float64(m.step)))
	switch {
	case !m.have || k > m.head:
		if !m.have {
			m.first = k
		}
		m.have, m.head, m.lastT = true, k, t
		m.cells[k] = v
		m.sum, m.count = v, 1
		return nil
	case k == m.head && t > m.lastT:
		m.lastT = t
		old := m.cells[k]
		m.sum += v
		m.count++
		switch m.agg {
		case AggLast:
			m.cells[k] = v
		case AggMean:
			m.cells[k] = m.sum / m.count
		case AggMin:
			m.cells[k] = math.Min(old, v)
		case AggMax:
			m.cells[k] = math.Max(old, v)
		case AggSum:
			m.cells[k] = old + v
		}
		return nil
	case m.head-k >= m.capacity:
		return ErrTooOld
	}
	if _, ok := m.cells[k]; ok {
		return ErrOutOfOrder
	}
	m.cells[k] = v
	m.first = min(m.first, k)
	m.fills++
	return nil
}

func (m *refModel) values(end int64) (int64, []float64) {
	if !m.have {
		return 0, []float64{}
	}
	var out []float64
	start := int64(0)
	for k := max(m.first, m.head-m.capacity+1); k <= m.head && k*m.step < end; k++ {
		if len(out) == 0 {
			start = k * m.step
		}
		v, ok := m.cells[k]
		if !ok {
			v = math.NaN()
		}
		out = append(out, v)
	}
	for _, v := range out {
		if !math.IsNaN(v) {
			return start, out
		}
	}
	return 0, []float64{}
}

// TestAgainstReferenceModel drives the ring many times around with random
// in-order, duplicate, late and far-jumping samples and compares every
// result with refModel.
func TestAgainstReferenceModel(t *testing.T) {
	const ops = 20000
	for _, capacity := range []int64{1, 2, 7, 60} {
		for agg := AggLast; agg <= AggSum; agg++ {
			t.Run(fmt.Sprintf("cap=%d/%s", capacity, agg), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(capacity), uint64(agg)))
				const step = int64(15000)
				ser, _, err := NewStore(0, nil).GetOrCreate(labels.FromStrings("a", "b"), Options{
					Step: time.Duration(step) * time.Millisecond, Window: time.Duration(step*capacity) * time.Millisecond, Aggregate: agg,
				})
				require.NoError(t, err)
				m := newRefModel(step, capacity, agg)

				now := int64(1_700_000_000_000)
				var dst []float64
				errs := map[error]int{}
				for i := range ops {
					ts := now
					switch r := rng.IntN(100); {
					case r < 60: // In order, often within the same cell.
						now += rng.Int64N(step)
						ts = now
					case r < 65: // Jump ahead, sometimes past the whole window.
						now += rng.Int64N(2 * capacity * step)
						ts = now
					case r < 80: // Duplicate of the newest timestamp.
					default: // Late, sometimes older than the window.
						ts = now - rng.Int64N((capacity+2)*step)
					}
					v := float64(rng.IntN(200) - 100)
					if rng.IntN(50) == 0 {
						v = math.NaN()
					}

					wantErr := m.append(ts, v)
					err := ser.Append(ts, v)
					errs[wantErr]++
					require.True(t, errors.Is(err, wantErr), "op %d: append(%d, %v) = %v, want %v", i, ts, v, err, wantErr)
					require.Equal(t, m.lastT, ser.LastSampleTime(), "op %d", i)

					end := now + 1
					if rng.IntN(3) == 0 {
						end = now - rng.Int64N((capacity+1)*step)
					}
					wantStart, wantVals := m.values(end)
					var start int64
					start, dst = ser.Values(end, dst)
					require.Equal(t, wantStart, start, "op %d: start of Values(%d)", i, end)
					requireFloats(t, wantVals, dst)
					require.Equal(t, countData(wantVals), ser.Count(end), "op %d", i)
				}
				require.Greater(t, (m.head-m.first)/capacity, int64(100), "the ring must wrap around many times")
				if capacity > 1 { // A single cell is always the head cell.
					require.Greater(t, m.fills, 10, "gaps must be filled late")
				}
				require.Greater(t, errs[ErrTooOld], 10)
				require.Greater(t, errs[ErrOutOfOrder], 10)
			})
		}
	}
}
