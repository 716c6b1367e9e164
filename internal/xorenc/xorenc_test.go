package xorenc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nan := math.NaN()
	random := make([]float64, 1000)
	for i := range random {
		random[i] = math.Float64frombits(rng.Uint64())
	}
	walk := make([]float64, 1000)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + math.Round(rng.NormFloat64()*100)/100
		if rng.IntN(10) == 0 {
			walk[i] = nan
		}
	}
	for _, tc := range []struct {
		name string
		vals []float64
	}{
		{"empty", nil},
		{"one", []float64{42}},
		{"constant", []float64{1, 1, 1, 1, 1}},
		{"nan gaps", []float64{nan, 1, nan, nan, 2, math.Float64frombits(0x7ff0000000000002), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}},
		{"all bits differ", []float64{math.Float64frombits(0), math.Float64frombits(math.MaxUint64), math.Float64frombits(1), math.Float64frombits(1 << 63)}},
		{"random bits", random},
		{"random walk with gaps", walk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := Append([]byte{0xAB}, tc.vals)
			require.Equal(t, byte(0xAB), enc[0], "prefix kept")
			got, n, err := Decode(nil, enc[1:], len(tc.vals))
			require.NoError(t, err)
			require.Equal(t, len(enc)-1, n, "bytes consumed")
			require.Len(t, got, len(tc.vals))
			for i := range tc.vals {
				require.Equal(t, math.Float64bits(tc.vals[i]), math.Float64bits(got[i]), "value %d", i)
			}
			// Every truncation is detected (the last value may need the
			// last byte's bits).
			for cut := 0; cut < n && len(tc.vals) > 0; cut++ {
				_, _, err := Decode(nil, enc[1:1+cut], len(tc.vals))
				if err == nil {
					// Trailing zero bits of a complete final byte can
					// make a shorter input decode; never a longer one.
					continue
				}
				require.ErrorIs(t, err, ErrCorrupt)
			}
		})
	}
}

func TestCompactOnRepeats(t *testing.T) {
	vals := make([]float64, 2016)
	for i := range vals {
		vals[i] = float64(i / 100) // changes every 100 steps
	}
	enc := Append(nil, vals)
	require.Less(t, len(enc), len(vals)/4, "repeats cost about a bit each")
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, []float64{1, 2, 3, math.NaN(), 3}), 5)
	f.Add([]byte{0xff, 0xff}, 3)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n < 0 || n > 1<<12 {
			return
		}
		vals, used, err := Decode(nil, data, n)
		if err != nil {
			return
		}
		require.LessOrEqual(t, used, len(data))
		// What decodes re-encodes to the same values.
		again, _, err := Decode(nil, Append(nil, vals), n)
		require.NoError(t, err)
		for i := range vals {
			require.Equal(t, math.Float64bits(vals[i]), math.Float64bits(again[i]))
		}
	})
}
