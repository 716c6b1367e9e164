package holtwinters

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// TestStateGolden: fixed fits encode to the bytes committed in testdata
// (written by the encoder of format version 1 as first released), and
// those bytes restore the same fits.
func TestStateGolden(t *testing.T) {
	cand := [trendKinds]params{
		trendNone:   {alpha: 0.5, gamma: 0.25, phi: 1},
		trendAdd:    {alpha: 0.4, beta: 0.1, gamma: 0.3, phi: 1},
		trendDamped: {alpha: 0.3, beta: 0.05, gamma: 0.2, phi: 0.9},
	}
	season := make([]float64, 24)
	for i := range season {
		season[i] = float64(i-12) / 8
	}
	for _, tc := range []struct {
		name string
		f    fitted
	}{
		{"state-v1-damped.bin", fitted{
			start: 1_700_000_000_000, step: 3_600_000, n: 168, kind: kind{trend: trendDamped, period: 24},
			p: cand[trendDamped], cand: cand, level: 50.125, trend: -0.0625, season: season,
			tail: []float64{49.5, 51.25, 50}, sigma2: 1.75, z: 1.959963984540054,
		}},
		{"state-v1-no-season.bin", fitted{
			start: -3_600_000, step: 60_000, n: 40, kind: kind{trend: trendNone},
			p: cand[trendNone], cand: cand, level: 3.5, sigma2: 0.01, z: 1.2815515655446004,
			tail: []float64{3.25},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f.MarshalBinary()
			require.NoError(t, err)
			want := golden.Bytes(t, tc.name, got)
			g, err := model{}.Restore(want, models.Series{})
			require.NoError(t, err)
			require.Equal(t, &tc.f, g)
		})
	}
}
