package synth_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

func TestSpec(t *testing.T) {
	spec := synth.Spec{Level: 1, Slope: 0.5, Amplitude: 2, Period: 8, Noise: 0.1, Seed: 3}
	t.Run("clean signal", func(t *testing.T) {
		require.InDelta(t, 1, spec.Clean(0), 1e-12)
		require.InDelta(t, 1+0.5*2+2, spec.Clean(2), 1e-12) // sin(π/2) = 1
		require.InDelta(t, 1+0.5*6-2, spec.Clean(6), 1e-12) // sin(3π/2) = -1
	})
	t.Run("seeded and extendable", func(t *testing.T) {
		short, long := spec.Values(10), spec.Values(20)
		require.Equal(t, short, long[:10])
		require.NotEqual(t, long, synth.Spec{Level: 1, Slope: 0.5, Amplitude: 2, Period: 8, Noise: 0.1, Seed: 4}.Values(20))
		for i, v := range long {
			require.InDelta(t, spec.Clean(i), v, 0.6) // 6 sigma
		}
	})
	t.Run("split", func(t *testing.T) {
		s, future := spec.Split(100, 10, 12, 5)
		require.Equal(t, spec.Values(17), append(append([]float64(nil), s.Values...), future...))
		require.Equal(t, int64(220), s.End())
	})
	t.Run("gaps copy", func(t *testing.T) {
		v := []float64{1, 2, 3}
		g := synth.WithGaps(v, 1)
		require.True(t, math.IsNaN(g[1]))
		require.Equal(t, 2.0, v[1])
	})
}
