package fourier

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/dsp/fourier"
)

// TestStrongestReconstructs checks the harmonic decomposition against its
// definition: keeping every harmonic of a zero-mean sequence reproduces it
// exactly, for even and odd lengths (the even one has a Nyquist bin).
func TestStrongestReconstructs(t *testing.T) {
	for _, n := range []int{16, 17, 30} {
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			seq := make([]float64, n)
			var mean float64
			for i := range seq {
				seq[i] = rng.NormFloat64()
				mean += seq[i] / float64(n)
			}
			for i := range seq {
				seq[i] -= mean
			}
			coeff := fourier.NewFFT(n).Coefficients(nil, seq)
			f := &fitted{n: float64(n), harmonics: strongest(coeff, n, n)}
			for i, want := range seq {
				require.InDelta(t, want, f.at(float64(i)), 1e-9, "i=%d", i)
				// Periodic continuation.
				require.InDelta(t, want, f.at(float64(i+3*n)), 1e-9, "i=%d", i)
			}
		})
	}
}

func TestSmoothLength(t *testing.T) {
	tests := []struct{ n, want int }{
		{1, 1}, {2, 2}, {11, 10}, {13, 12}, {10080, 10080}, {10007, 10000}, {2017, 2016},
	}
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			got := smoothLength(tc.n)
			require.Equal(t, tc.want, got)
			for _, p := range []int{2, 3, 5, 7} {
				for got%p == 0 {
					got /= p
				}
			}
			require.Equal(t, 1, got, "only factors up to 7")
		})
	}
}
