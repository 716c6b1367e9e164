package grid

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFloorDiv(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{
		{7, 2, 3}, {-7, 2, -4}, {7, -2, -4}, {-7, -2, 3},
		{6, 2, 3}, {-6, 2, -3}, {0, 5, 0}, {-1, 60_000, -1},
		{math.MinInt64, 1, math.MinInt64}, {math.MaxInt64, 60_000, math.MaxInt64 / 60_000},
	} {
		require.Equal(t, c.want, FloorDiv(c.a, c.b), "%d / %d", c.a, c.b)
	}
	require.Equal(t, int64(-60_000), Floor(-1, 60_000))
	require.Equal(t, int64(120_000), Floor(179_999, 60_000))
}
