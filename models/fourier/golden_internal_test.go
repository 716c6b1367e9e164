package fourier

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// TestStateGolden: fixed fits encode to the bytes committed in testdata
// (written by the encoder of state version 3 as first released), and
// those bytes restore the same fits.
func TestStateGolden(t *testing.T) {
	const n = 1440
	base := fitted{
		start: 1_700_000_040_000, step: 60_000, n: n, intercept: 12.5, slope: -0.001,
		z: 1.959963984540054, variance: 2.25, growthBase: 0.5, growth: 0.01,
		harmonics: []harmonic{
			{omega: binOmega(1, n), amplitude: 3, phase: 0.25},
			{omega: binOmega(60, n), amplitude: 0.5, phase: -1.5},
			{omega: binOmega(720, n), amplitude: 1e-3, phase: 3},
		},
	}
	omegas := base
	omegas.harmonics = append([]harmonic(nil), base.harmonics...)
	omegas.harmonics[1].omega += 1e-9 // no bin: saved as a float
	for _, tc := range []struct {
		name string
		f    fitted
	}{
		{"state-v3-bins.bin", base},
		{"state-v3-omegas.bin", omegas},
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
