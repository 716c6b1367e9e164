package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBlockTrend(t *testing.T) {
	line := make([]float64, 100)
	for i := range line {
		line[i] = 3 + 0.5*float64(i)
	}
	line[7], line[60] = math.NaN(), math.Inf(1) // gaps
	trend, ok := blockTrend(line, 24)
	require.True(t, ok)
	for i := range line {
		require.InDelta(t, 3+0.5*float64(i), trend[i], 1e-9, "i=%d", i) // a line is its own trend, ends included
	}

	// A season of whole blocks averages out: a sine has no trend.
	season := make([]float64, 96)
	for i := range season {
		season[i] = math.Sin(2 * math.Pi * float64(i) / 24)
	}
	trend, ok = blockTrend(season, 24)
	require.True(t, ok)
	for i := range trend {
		require.InDelta(t, 0, trend[i], 1e-9)
	}

	_, ok = blockTrend(line, 60) // one block
	require.False(t, ok)
	_, ok = blockTrend(line, 0)
	require.False(t, ok)
}
