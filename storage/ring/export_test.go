package ring

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestExportRestore checks that a restored series holds what the original
// held and then behaves exactly like it: same values, same refusals, same
// aggregation of the open cell.
func TestExportRestore(t *testing.T) {
	for _, agg := range []Aggregation{AggLast, AggMean, AggMin, AggMax, AggSum} {
		t.Run(agg.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(agg), 7))
			opts := Options{Step: time.Second, Window: 20 * time.Second, Aggregate: agg}
			lset := labels.FromStrings("__name__", "m", "i", agg.String())
			orig, _, err := NewStore(0, nil).GetOrCreate(lset, opts)
			require.NoError(t, err)

			// An empty series exports as empty and restores as empty.
			st := orig.Export(nil)
			require.Empty(t, st.Values)
			empty, err := NewStore(0, nil).Restore(st)
			require.NoError(t, err)
			require.Equal(t, int64(math.MinInt64), empty.LastSampleTime())

			// Irregular samples: gaps, several per cell, late ones, and
			// enough of them to wrap the ring twice.
			ts := int64(1_700_000_000_000)
			for range 60 {
				ts += rng.Int64N(2500)
				v := math.Round(rng.NormFloat64()*100) / 10
				_ = orig.Append(ts, v)
				if rng.IntN(4) == 0 {
					_ = orig.Append(ts-int64(rng.IntN(8))*1000, v) // late
				}
			}

			store := NewStore(0, nil)
			st = orig.Export(nil)
			require.NotEmpty(t, st.Values)
			require.NoError(t, st.Validate())
			restored, err := store.Restore(st)
			require.NoError(t, err)
			require.Equal(t, int64(20*bytesPerCell), store.BufferBytes(), "buffer accounted")
			requireSame(t, orig, restored)

			// Both continue identically.
			for range 40 {
				dt := rng.Int64N(3000) - 1500
				v := float64(rng.IntN(100))
				require.Equal(t, orig.Append(ts+dt, v), restored.Append(ts+dt, v))
				ts += rng.Int64N(1200)
				requireSame(t, orig, restored)
			}
		})
	}
}

func requireSame(t *testing.T, a, b *Series) {
	t.Helper()
	end := a.LastSampleTime() + 1
	sa, va := a.Values(end, nil)
	sb, vb := b.Values(end, nil)
	require.Equal(t, sa, sb)
	requireFloats(t, va, vb)
	require.Equal(t, a.LastSampleTime(), b.LastSampleTime())
	require.Equal(t, a.Count(end), b.Count(end))
	ea, eb := a.Export(nil), b.Export(nil)
	require.Equal(t, ea.Start, eb.Start)
	require.Equal(t, ea.OpenSum, eb.OpenSum)
	require.Equal(t, ea.OpenCount, eb.OpenCount)
}

func TestRestoreRefusesInvalidState(t *testing.T) {
	opts := Options{Step: time.Second, Window: 4 * time.Second}
	good := SeriesState{
		Labels: labels.FromStrings("__name__", "m"), Options: opts,
		Start: 10_000, Values: []float64{1, nan, 3}, LastT: 12_500, OpenSum: 3, OpenCount: 1,
	}
	_, err := NewStore(0, nil).Restore(good)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		mod  func(*SeriesState)
	}{
		{"bad options", func(s *SeriesState) { s.Options.Step = 0 }},
		{"no labels", func(s *SeriesState) { s.Labels = labels.EmptyLabels() }},
		{"too many values", func(s *SeriesState) { s.Values = []float64{1, 2, 3, 4, 5} }},
		{"off grid", func(s *SeriesState) { s.Start = 10_001 }},
		{"newest cell empty", func(s *SeriesState) { s.Values = []float64{1, 2, nan} }},
		{"last sample outside head", func(s *SeriesState) { s.LastT = 13_000 }},
		{"no open count", func(s *SeriesState) { s.OpenCount = 0 }},
		{"start overflows", func(s *SeriesState) { s.Start = math.MaxInt64 - 1000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := good
			tc.mod(&st)
			store := NewStore(0, nil)
			_, err := store.Restore(st)
			require.ErrorIs(t, err, ErrInvalidState)
			require.Equal(t, 0, store.Len())
		})
	}

	t.Run("already present", func(t *testing.T) {
		store := NewStore(0, nil)
		_, err := store.Restore(good)
		require.NoError(t, err)
		_, err = store.Restore(good)
		require.ErrorContains(t, err, "already present")
	})
	t.Run("max series", func(t *testing.T) {
		_, err := NewStore(-1, nil).Restore(good)
		require.NoError(t, err, "no limit")
		store := NewStore(1, nil)
		other := good
		other.Labels = labels.FromStrings("__name__", "other")
		_, err = store.Restore(other)
		require.NoError(t, err)
		_, err = store.Restore(good)
		require.ErrorIs(t, err, ErrTooManySeries)
	})
}
