package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models/anomaly"
)

// FuzzUnmarshal: any bytes either fail to decode or give a detector that
// scores finitely and marshals back to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := anomaly.Config{Alpha: 1e-3, WarmUp: 5, Period: 24}
	var d anomaly.Detector
	for i := range 300 {
		d.Observe(c, int64(i), rng.NormFloat64(), 0)
		if i%100 == 0 {
			b, err := d.MarshalBinary()
			require.NoError(f, err)
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		var d anomaly.Detector
		if d.UnmarshalBinary(b) != nil {
			return
		}
		again, err := d.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, b, again)
		r := d.Observe(c, math.MaxInt32, 3, 0.1)
		require.False(t, math.IsNaN(r.Score) || math.IsInf(r.Score, 0), "%+v", r)
		require.LessOrEqual(t, r.Score, float64(anomaly.MaxScore))
	})
}
