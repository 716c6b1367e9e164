package naive

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// TestStateGolden: fits of a fixed integer-valued history, with fixed
// bands and drift, encode to the bytes committed in testdata (written by
// the encoder of state version 4 as first released), and those bytes
// restore the same fits from that history.
func TestStateGolden(t *testing.T) {
	vals := make([]float64, 6*24)
	for i := range vals {
		vals[i] = float64(i * 37 % 101)
		if i%53 == 7 {
			vals[i] = math.NaN()
		}
	}
	s := models.Series{Start: 1_700_000_000_000 / 3_600_000 * 3_600_000, Step: 3_600_000, Values: vals, Period: 24}
	for _, tc := range []struct {
		name  string
		model models.Model
		drift float64
	}{
		{"state-v4-seasonal.bin", New(models.Options{}), 0},
		{"state-v4-drift.bin", NewDrift(models.Options{}), -0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := tc.model.Fit(s, nil)
			require.NoError(t, err)
			f := fit.(*fitted)
			f.halfWidths, f.drift = []float64{1.5, 2.25, math.Pi}, tc.drift
			got, err := f.MarshalBinary()
			require.NoError(t, err)
			want := golden.Bytes(t, tc.name, got)
			g, err := model{}.Restore(want, s)
			require.NoError(t, err)
			requireSameFit(t, f, g.(*fitted))
			require.Equal(t, math.Float64bits(f.drift), math.Float64bits(g.(*fitted).drift))
		})
	}
}
