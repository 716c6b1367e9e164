package valenc

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
			// Every truncation is detected: the last byte always holds
			// bits of the last value.
			for cut := 0; cut < n && len(tc.vals) > 0; cut++ {
				_, _, err := Decode(nil, enc[1:1+cut], len(tc.vals))
				require.ErrorIs(t, err, ErrCorrupt, "cut to %d of %d bytes", cut, n)
			}
		})
	}
}

func TestSchemes(t *testing.T) {
	nan := math.NaN()
	counter := make([]float64, 2016)
	gauge := make([]float64, 2016)
	rng := rand.New(rand.NewPCG(5, 6))
	c := 1e9
	for i := range counter {
		c += math.Round(300 + rng.NormFloat64()*20)
		counter[i] = c
		gauge[i] = math.Round((5+math.Sin(float64(i)/50)+rng.NormFloat64()*0.2)*100) / 100
	}
	counter[100], gauge[7] = nan, nan
	full := make([]float64, 100)
	for i := range full {
		full[i] = rng.Float64()
	}
	for _, tc := range []struct {
		name        string
		vals        []float64
		scheme      byte
		maxPerPoint float64 // bytes
	}{
		{"counter", counter, schemeDoD, 1.3},
		{"two decimals", gauge, schemeDelta, 1.6},
		{"integers", []float64{1, 2, 2, 2, 3, 3, -4, 1 << 52}, schemeDelta, 3},
		{"constant", []float64{7, 7, 7, 7, 7, 7, 7, 7, 7}, schemeDelta, 1.5},
		{"full precision", full, schemeXOR, 9},
		{"negative zero", []float64{0, math.Copysign(0, -1), 1}, schemeXOR, 9},
		{"other NaN payload", []float64{1, math.Float64frombits(0x7ff0000000000002), 1}, schemeXOR, 9},
		{"infinity", []float64{1, math.Inf(1)}, schemeXOR, 9},
		{"beyond 2^53", []float64{1 << 60, 1<<60 + 256}, schemeXOR, 9},
		{"all NaN", []float64{nan, nan}, schemeDelta, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := Append(nil, tc.vals)
			require.Equal(t, tc.scheme, enc[0])
			require.LessOrEqual(t, float64(len(enc))/float64(len(tc.vals)), tc.maxPerPoint)
			got, n, err := Decode(nil, enc, len(tc.vals))
			require.NoError(t, err)
			require.Equal(t, len(enc), n)
			for i := range tc.vals {
				require.Equal(t, math.Float64bits(tc.vals[i]), math.Float64bits(got[i]), "value %d", i)
			}
		})
	}
	_, _, err := Decode(nil, []byte{9, 0}, 1)
	require.ErrorIs(t, err, ErrCorrupt, "unknown scheme")
	_, _, err = Decode(nil, nil, 0)
	require.ErrorIs(t, err, ErrCorrupt, "no scheme byte")
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

// TestAppendPastMaxDecimals: a value that needs more than maxDecimals digits
// after one that needed exactly maxDecimals falls back to XOR instead of
// indexing past the table of powers (found by FuzzDecode).
func TestAppendPastMaxDecimals(t *testing.T) {
	vals := []float64{0.123456789, 0.1, math.Pi}
	got, _, err := Decode(nil, Append(nil, vals), len(vals))
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if math.Float64bits(got[i]) != math.Float64bits(vals[i]) {
			t.Fatalf("value %d: got %v, want %v", i, got[i], vals[i])
		}
	}
}
