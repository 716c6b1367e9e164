package models_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// band is a forecast of 100 with a half band of 10.
var band = models.Point{Yhat: 100, Lower: 90, Upper: 110}

// run scores actuals cell by cell against band and returns the scores.
func run(r models.AnomalyRule, actuals ...float64) []float64 {
	var w models.ScoreWindow
	out := make([]float64, len(actuals))
	for i, a := range actuals {
		out[i], _ = r.Score(&w, int64(i), a, band)
	}
	return out
}

func TestAnomalyRuleScore(t *testing.T) {
	rule := models.AnomalyRule{}
	tests := []struct {
		name    string
		rule    models.AnomalyRule
		actuals []float64
		want    []float64
	}{
		{"inside the band", rule, []float64{100, 105, 95}, []float64{0, 0, 0}},
		{
			"one outlier at 1.5 stays below 1",
			rule, []float64{101, 115, 101, 101}, []float64{0, 0, 0.1, 0.1},
		},
		{
			"one huge outlier stays below 1",
			rule, []float64{101, 1e9, 101, 101}, []float64{0, 0, 0.1, 0.1},
		},
		{
			"two outliers in five stay below 1",
			rule, []float64{101, 115, 102, 115, 103}, []float64{0, 0, 0.1, 0.2, 0.3},
		},
		{
			"three in a row cross 1",
			rule, []float64{101, 115, 115, 115, 101, 101, 101}, []float64{0, 0, 0.1, 1.5, 1.5, 1.5, 0.1},
		},
		{
			"three of five cross 1, with one back in the band",
			rule, []float64{115, 101, 120, 116, 102}, []float64{0, 0, 0.1, 1.5, 1.5},
		},
		{
			"deviations on both sides",
			rule, []float64{130, 70, 125}, []float64{0, 0, 2.5},
		},
		{
			"direction up ignores deviations below",
			models.AnomalyRule{Direction: models.Up}, []float64{70, 70, 70, 130, 130, 130}, []float64{0, 0, 0, 0, 0, 3},
		},
		{
			"direction down ignores deviations above",
			models.AnomalyRule{Direction: models.Down}, []float64{130, 130, 130, 70, 70, 70}, []float64{0, 0, 0, 0, 0, 3},
		},
		{
			"a cell below the minimum deviation scores 0",
			models.AnomalyRule{MinDeviation: 20}, []float64{130, 130, 115, 130, 130, 130}, []float64{0, 0, 0, 3, 3, 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.rule, tc.actuals...)
			require.InDeltaSlice(t, tc.want, got, 1e-9, "%v", got)
			for i, s := range got {
				require.Equal(t, s >= 1, tc.rule.Anomalous(s), "cell %d", i)
			}
		})
	}
}

// TestAnomalyRuleZeroWidthBand: a constant series has a zero-width band;
// without a minimum deviation any wobble scores +Inf, with one it does not.
func TestAnomalyRuleZeroWidthBand(t *testing.T) {
	flat := models.Point{Yhat: 5, Lower: 5, Upper: 5}
	var w models.ScoreWindow
	var last float64
	for i := range 3 {
		last, _ = models.AnomalyRule{}.Score(&w, int64(i), 5.001, flat)
	}
	require.True(t, math.IsInf(last, 1))

	w = models.ScoreWindow{}
	r := models.AnomalyRule{MinDeviation: 0.01}
	for i := range 3 {
		s, ok := r.Score(&w, int64(i), 5.001, flat)
		require.True(t, ok)
		require.Zero(t, s)
		require.False(t, r.Anomalous(s))
	}
	// Beyond the minimum deviation it is anomalous again.
	for i := 3; i < 6; i++ {
		last, _ = r.Score(&w, int64(i), 6, flat)
	}
	require.True(t, r.Anomalous(last))
}

func TestAnomalyRuleGapsAndNaN(t *testing.T) {
	r := models.AnomalyRule{}
	var w models.ScoreWindow
	for i := range 3 {
		r.Score(&w, int64(i), 130, band)
	}
	s, ok := r.Score(&w, 3, math.NaN(), band)
	require.False(t, ok)
	require.True(t, math.IsNaN(s))
	s, ok = r.Score(&w, 4, 130, models.NaNPoint())
	require.False(t, ok)
	require.True(t, math.IsNaN(s))

	// Cells 3 and 4 had no score: 0,1,2 and 5 are out, three of the last five.
	s, _ = r.Score(&w, 5, 130, band)
	require.Equal(t, 3.0, s)
	// Cell 9: only 5 and 9 are out in 5..9.
	s, _ = r.Score(&w, 9, 130, band)
	require.Zero(t, s)
	// A long gap forgets everything.
	w = models.ScoreWindow{}
	for i := range 3 {
		r.Score(&w, int64(i), 130, band)
	}
	s, _ = r.Score(&w, 100, 130, band)
	require.Zero(t, s)
}

// TestAnomalyRuleFalseAlarms: on Gaussian errors with a 95% band, raw
// scores cross 1 on ~5% of cells, the smoothed score on far fewer.
func TestAnomalyRuleFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	z := models.ZScore(0.95)
	p := models.Point{Yhat: 0, Lower: -z, Upper: z}
	var w models.ScoreWindow
	r := models.AnomalyRule{}
	const n = 100000
	var raw, smoothed int
	for i := range n {
		a := rng.NormFloat64()
		if models.AnomalyScore(a, p) >= 1 {
			raw++
		}
		if s, _ := r.Score(&w, int64(i), a, p); r.Anomalous(s) {
			smoothed++
		}
	}
	require.InDelta(t, 0.05, float64(raw)/n, 0.005)
	require.Less(t, float64(smoothed)/n, 0.003)
}

func TestParseDirection(t *testing.T) {
	for i, name := range models.Directions() {
		d, err := models.ParseDirection(name)
		require.NoError(t, err)
		require.Equal(t, models.Direction(i), d)
		require.Equal(t, name, d.String())
	}
	_, err := models.ParseDirection("sideways")
	require.EqualError(t, err, `direction "sideways" is not one of [both up down]`)
}
