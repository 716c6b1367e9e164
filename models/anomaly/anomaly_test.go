package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models/anomaly"
)

// flagRate feeds errs to a new detector and returns the share of flagged
// steps after the warm-up.
func flagRate(c anomaly.Config, errs []float64) float64 {
	var d anomaly.Detector
	flags, n := 0, 0
	for i, e := range errs {
		r := d.Observe(c, int64(i), e, 0)
		require.False(nil, math.IsNaN(r.Score) || math.IsInf(r.Score, 0))
		if r.Learning {
			continue
		}
		n++
		if r.Anomaly {
			flags++
		}
	}
	return float64(flags) / float64(n)
}

func ar1(rng *rand.Rand, n int, rho float64, noise func() float64) []float64 {
	out := make([]float64, n)
	x := 0.0
	for i := range out {
		x = rho*x + noise()
		out[i] = x
	}
	return out
}

// TestCalibration: on errors without anomalies, the flag rate matches the
// budget within 2x, whatever their autocorrelation and tails.
func TestCalibration(t *testing.T) {
	const n = 400_000
	for _, alpha := range []float64{1e-3, 1e-4} {
		for _, tc := range []struct {
			name  string
			noise func(*rand.Rand) float64
			rho   float64
		}{
			{"white normal", (*rand.Rand).NormFloat64, 0},
			{"AR(1) 0.5 normal", (*rand.Rand).NormFloat64, 0.5},
			{"AR(1) 0.9 normal", (*rand.Rand).NormFloat64, 0.9},
			{"white laplace", func(r *rand.Rand) float64 { return r.ExpFloat64() * float64(1-2*r.IntN(2)) }, 0},
			{"AR(1) 0.7 student t4", func(r *rand.Rand) float64 {
				c := 0.0
				for range 4 {
					g := r.NormFloat64()
					c += g * g
				}
				return r.NormFloat64() / math.Sqrt(c/4)
			}, 0.7},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				errs := ar1(rng, n, tc.rho, func() float64 { return tc.noise(rng) })
				c := anomaly.Config{Alpha: alpha, WarmUp: 1440}
				got := flagRate(c, errs)
				t.Logf("alpha %g: rate %.3g (%.2fx)", alpha, got, got/alpha)
				require.InDelta(t, 0, math.Log2(got/alpha), 1, "flag rate %g, budget %g", got, alpha)
			})
		}
	}
}

// TestStateRoundTrip: a restored detector scores exactly as the saved one.
func TestStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := anomaly.Config{Alpha: 1e-3, WarmUp: 100}
	var a anomaly.Detector
	for i := range 2000 {
		a.Observe(c, int64(i), rng.NormFloat64(), 0)
	}
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	var r anomaly.Detector
	require.NoError(t, r.UnmarshalBinary(b))
	require.Equal(t, a, r)
	for i := 2000; i < 2100; i++ {
		e := rng.NormFloat64() * 3
		require.Equal(t, a.Observe(c, int64(i), e, 0), r.Observe(c, int64(i), e, 0))
	}
	for n := range len(b) {
		require.Error(t, r.UnmarshalBinary(b[:n]), "truncated at %d", n)
	}
	bad := append([]byte{9}, b[1:]...)
	require.ErrorIs(t, r.UnmarshalBinary(bad), anomaly.ErrBadState)
}

// warmed returns a detector that has learnt n steps of normal errors.
func warmed(t *testing.T, c anomaly.Config, n int) (*anomaly.Detector, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	d := &anomaly.Detector{}
	for i := range n {
		r := d.Observe(c, int64(i), rng.NormFloat64(), 0)
		require.Equal(t, i < c.WarmUp, r.Learning)
		if r.Learning {
			require.Zero(t, r.Score)
			require.False(t, r.Anomaly)
		}
	}
	return d, rng
}

// TestSpike: one step of 6 standard deviations flags at once, by
// magnitude, and is not a shift; the next normal step is not flagged.
func TestSpike(t *testing.T) {
	c := anomaly.Config{Alpha: anomaly.AlphaFor(0.01, 60_000), WarmUp: 1440}
	for _, sign := range []float64{1, -1} {
		d, _ := warmed(t, c, 3000)
		r := d.Observe(c, 3000, 6*sign, 0)
		require.True(t, r.Anomaly, "%+v", r)
		require.Equal(t, anomaly.Magnitude, r.Rule)
		require.Zero(t, r.ShiftSteps)
		require.LessOrEqual(t, r.Score, float64(anomaly.MaxScore))
		r = d.Observe(c, 3001, 0.3, 0)
		require.False(t, r.Anomaly, "%+v", r)
	}
}

// TestLevelShift: a lasting shift of 3 standard deviations flags within 3
// steps and is reported as a shift that began at its first step.
func TestLevelShift(t *testing.T) {
	c := anomaly.Config{Alpha: anomaly.AlphaFor(0.01, 300_000), WarmUp: 288}
	d, rng := warmed(t, c, 3000)
	flagged := -1
	for k := range 3 {
		r := d.Observe(c, int64(3000+k), 3+0.3*rng.NormFloat64(), 0)
		if r.Anomaly {
			flagged = k
			break
		}
	}
	require.GreaterOrEqual(t, flagged, 0, "a shift of 3 sigma flags within 3 steps")
}

// TestWarmUp: nothing is flagged before WarmUp steps, however wild.
func TestWarmUp(t *testing.T) {
	c := anomaly.Config{WarmUp: 10}
	var d anomaly.Detector
	d.Prime(1)
	for i := range 10 {
		r := d.Observe(c, int64(i), 1e9, 0)
		require.True(t, r.Learning)
		require.False(t, r.Anomaly)
		require.Zero(t, r.Score)
	}
}

// TestFlatFloor: a series whose errors are all 0 scores a move below its
// floor as nothing, and a large move finitely.
func TestFlatFloor(t *testing.T) {
	c := anomaly.Config{WarmUp: 10}
	var d anomaly.Detector
	for i := range 100 {
		d.Observe(c, int64(i), 0, 0.5)
	}
	r := d.Observe(c, 100, 0.001, 0.5)
	require.False(t, r.Anomaly)
	require.Less(t, r.Score, 0.1)
	r = d.Observe(c, 101, 1e12, 0.5)
	require.True(t, r.Anomaly)
	require.False(t, math.IsInf(r.Score, 0) || math.IsNaN(r.Score))
	var z anomaly.Detector
	for i := range 100 {
		r = z.Observe(c, int64(i), 0, 0)
	}
	r = z.Observe(c, 100, 1, 0) // no floor at all: still finite
	require.False(t, math.IsInf(r.Score, 0) || math.IsNaN(r.Score))
}

func TestFloors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		values      []float64
		noise, band float64
	}{
		{"constant count", []float64{1170, 1170, 1170}, 5, 0},
		{"stepping count", []float64{1170, 1170, 1260, 1260, 1263}, 1.5, 3},
		{"goroutines", []float64{7, 8, 7, 7}, 0.5, 1},
		{"load average", []float64{0.42, 0.43, 0.41}, 0.005, 0.01},
		{"empty", []float64{math.NaN()}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noise, band := anomaly.Floors(tc.values)
			require.InDelta(t, tc.noise, noise, 1e-9)
			require.InDelta(t, tc.band, band, 1e-9)
		})
	}
}
