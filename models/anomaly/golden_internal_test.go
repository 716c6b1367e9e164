package anomaly

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
)

// TestStateGolden: a fixed detector encodes to the bytes committed in
// testdata (written by the encoder of state version 1 as first released),
// and those bytes decode to the same detector.
func TestStateGolden(t *testing.T) {
	d := Detector{
		n: 1234, last: 28_333_335, run: 3, runUp: true, flagRun: 2, hotRun: 1, primed: true,
		absErr: 0.75, box: [boxLen]float64{0.5, -1.25, 2}, nbox: 3, ewma: -0.125, settle: 4,
		stats: [nStats]tail{
			{absMean: 0.8, w: 12.5, r: 0.25, m1: 0.5, m2: 0.375, priorAdded: true},
			{absMean: 1.5, w: 3, r: 0, m1: 0, m2: 0, priorAdded: true},
			{},
		},
	}
	for i := range phaseBins {
		d.phase[i], d.phaseW[i] = float32(i)/4, float32(phaseBins-i)
	}
	got, err := d.MarshalBinary()
	require.NoError(t, err)
	want := golden.Bytes(t, "detector-v1.bin", got)
	var g Detector
	require.NoError(t, g.UnmarshalBinary(want))
	require.Equal(t, d, g)
}
