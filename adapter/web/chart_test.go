package web

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// linear is a fit whose forecast is a line with a band of ±1.
type linear struct{}

func (linear) Predict(t int64) models.Point {
	v := float64(t) / 1000
	return models.Point{Yhat: v, Lower: v - 1, Upper: v + 1}
}

func TestBuildChart(t *testing.T) {
	vals := []float64{0, 1, math.NaN(), 3, 40, 5}
	c := buildChart(0, 1000, vals, linear{}, 2, 3000)
	require.NotNil(t, c)
	require.Equal(t, 2, strings.Count(c.Actual, "M"), "a gap splits the line: %s", c.Actual)
	require.Equal(t, 1, strings.Count(c.Yhat, "M"))
	require.Equal(t, 1, strings.Count(c.Band, "Z"))
	require.Len(t, c.Anomalies, 1, "40 lies outside [3, 5]")
	require.Equal(t, 40.0, c.Anomalies[0].V)
	require.Equal(t, math.Round(c.PlotLeft+(c.PlotRight-c.PlotLeft)*3/7), c.NowX)
	require.Equal(t, 6, c.Cells)
	require.Equal(t, 2, c.Ahead)

	require.Nil(t, buildChart(0, 1000, []float64{math.NaN(), math.NaN()}, nil, 0, 0), "nothing to draw")
	c = buildChart(0, 1000, make([]float64, 5000), nil, 100, 0)
	require.Equal(t, maxChartCells, c.Cells, "history is cut")
	require.Zero(t, c.Ahead, "no forecast without a fit")
	require.Empty(t, c.Band)
}
