package fourier

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
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

// TestResidVarParseval checks the residual variance fitCore computes from
// the spectrum against the residual evaluated cell by cell, for even and
// odd lengths (the even one may keep its Nyquist bin).
func TestResidVarParseval(t *testing.T) {
	for _, n := range []int{30, 31, 240} {
		rng := rand.New(rand.NewPCG(uint64(n), 2))
		values := make([]float64, n)
		for i := range values {
			values[i] = 5 + 0.1*float64(i) + 3*math.Sin(float64(i)) + rng.NormFloat64()
			if i%2 == 0 {
				values[i] += 2 // energy at Nyquist
			}
		}
		for _, period := range []int{0, 10} {
			c := fitCore(values, period, 4)
			fit := c.inSample(make([]float64, n))
			resid := make([]float64, n)
			for i, v := range values {
				resid[i] = v - fit[i]
			}
			require.InEpsilon(t, stat.Variance(resid, nil), c.residVar, 1e-9, "n=%d period=%d", n, period)
		}
	}
}

// TestStudentT checks the expansion against gonum's Student t quantile.
func TestStudentT(t *testing.T) {
	for _, nu := range []float64{2, 5, 8, 22, 58, 286} {
		for _, w := range []float64{0.5, 0.8, 0.95, 0.99} {
			want := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(0.5 + w/2)
			got := studentT(distuv.UnitNormal.Quantile(0.5+w/2), nu)
			require.InEpsilon(t, want, got, 1e-3, "nu %v width %v", nu, w)
		}
	}
}
