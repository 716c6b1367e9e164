package models_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

func TestRates(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		prev      float64
		in        []float64
		resetGaps bool
		want      []float64
	}{
		{name: "increments", prev: 0, in: []float64{60, 120, 120, 300}, want: []float64{1, 1, 0, 3}},
		{name: "unknown first cell", prev: nan, in: []float64{60, 120}, want: []float64{nan, 1}},
		{name: "gap makes two missing rates", prev: 0, in: []float64{60, nan, 180, 240}, want: []float64{1, nan, nan, 1}},
		{name: "reset counts from zero", prev: 600, in: []float64{660, 30, 90}, want: []float64{1, 0.5, 1}},
		{name: "reset as gap", prev: 600, in: []float64{660, 30, 90}, resetGaps: true, want: []float64{1, nan, 1}},
		{name: "reset to zero", prev: 600, in: []float64{0, 60}, want: []float64{0, 1}},
		{name: "infinite cell is missing", prev: 0, in: []float64{math.Inf(1), 60}, want: []float64{nan, nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := append([]float64(nil), tc.in...)
			models.Rates(got, tc.prev, 60, tc.resetGaps)
			require.Len(t, got, len(tc.want))
			for k := range got {
				if math.IsNaN(tc.want[k]) {
					require.Truef(t, math.IsNaN(got[k]), "cell %d: got %v, want NaN", k, got[k])
					continue
				}
				require.InDeltaf(t, tc.want[k], got[k], 1e-12, "cell %d", k)
			}
		})
	}
}

func TestRateReset(t *testing.T) {
	r, reset := models.Rate(100, 40, 20)
	require.True(t, reset)
	require.Equal(t, 2.0, r)
	r, reset = models.Rate(40, 100, 20)
	require.False(t, reset)
	require.Equal(t, 3.0, r)
	require.Equal(t, "rate", models.TransformRate.String())
	require.Equal(t, "none", models.TransformNone.String())
}
