package prophet

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// TestStateGolden: fixed fits encode to the bytes committed in testdata
// (written by the encoder of format version 2 as first released), and
// those bytes restore the same fits.
func TestStateGolden(t *testing.T) {
	const rows = 1000
	onRows := []float64{100.0 / rows, 250.0 / rows, 250.0 / rows, 800.0 / rows}
	for i := range onRows {
		onRows[i] = float64(int(onRows[i]*rows+0.5)) * (1 / float64(rows)) // as Fit places them
	}
	delta := []float64{0.5, 0, -0.25, 1e-3}
	seas := []seasonality{
		{period: 86_400_000, harmonics: []int{1, 2, 3, 5}},
		{period: 604_800_000, harmonics: []int{2}},
	}
	beta := []float64{0.1, -0.2, 0.3, -0.4, 0.05, 0, 1.5, -2.5, 0.75, 0.125}
	base := fitted{
		mode: Additive, yScale: 120.5, t0: 1_700_000_000_000, tScale: 3_600_000 * rows,
		rows: rows, k: 0.25, m: 0.5, cpT: onRows, delta: delta, seas: seas, beta: beta,
		sigma: 0.0625, lambda: laplaceScale(delta), rate: float64(len(onRows)), z: 1.959963984540054,
	}
	flags := base // every flag: times off the rows, lambda and rate saved
	flags.mode = Multiplicative
	flags.cpT = []float64{0.1, 0.2501, 0.75}
	flags.delta = []float64{0, 0.5, -0.5}
	flags.lambda, flags.rate = 0.3, 2.5
	for _, tc := range []struct {
		name string
		f    fitted
	}{
		{"state-v2-additive.bin", base},
		{"state-v2-multiplicative-flags.bin", flags},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f.MarshalBinary()
			require.NoError(t, err)
			want := golden.Bytes(t, tc.name, got)
			g, err := New(models.Options{}, Options{Mode: tc.f.mode}).(models.Restorer).Restore(want, models.Series{})
			require.NoError(t, err)
			require.Equal(t, &tc.f, g)
		})
	}
}
