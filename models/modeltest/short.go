package modeltest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

// ShortHistory is a seasonal series a model sees only a few periods of:
// the values of Spec at one-minute steps plus a second harmonic of
// amplitude Second, with Shift added to the cells from ShiftAt for
// ShiftLen cells (a level shift, as a deploy or an incident makes).
type ShortHistory struct {
	Spec     synth.Spec
	Second   float64
	Shift    float64
	ShiftAt  int
	ShiftLen int
}

// DailySine is the case of the issue the band checks come from: a daily
// sine of amplitude 5 with noise σ 0.3 at one-minute steps, and +6 for 30
// minutes at minute 3500 (2.4 days in).
var DailySine = ShortHistory{
	Spec:  synth.Spec{Amplitude: 5, Period: 1440, Noise: 0.3, Seed: 1},
	Shift: 6, ShiftAt: 3500, ShiftLen: 30,
}

// NodeLoad is a low-noise gauge like a node_load1: level 1, a daily shape
// (two harmonics, 0.3 and 0.1), noise σ 0.08, no shift.
var NodeLoad = ShortHistory{
	Spec:   synth.Spec{Level: 1, Amplitude: 0.3, Period: 1440, Noise: 0.08, Seed: 5},
	Second: 0.1,
}

// Values returns the first n values.
func (h ShortHistory) Values(n int) []float64 {
	v := h.Spec.Values(n)
	for i := range v {
		v[i] += h.Second * math.Sin(4*math.Pi*float64(i)/h.Spec.Period+1)
		if i >= h.ShiftAt && i < h.ShiftAt+h.ShiftLen {
			v[i] += h.Shift
		}
	}
	return v
}

// ShortHistoryBand fits m to h after 2, 2.5, 3 and 3.5 periods of history
// with the period given (as the engine and auto give it), and after 2.5, 3
// and 3.5 periods with the period left to the model to detect (at exactly
// two periods the autocorrelation reaches the period only at its last lag,
// and a model that finds none is another case). It requires the band over
// the next hour to be between 0.8 and maxRatio times 2·z·σ, the width of
// a band whose only error is the noise.
//
// While a series holds only a few periods, a model's out-of-sample
// estimate of its error rests on one or two periods or one backtest
// origin; it must not turn into a band tens of times wider than the error
// (20–60× was published for this case), which no anomaly can leave, nor
// into one narrower than the noise.
func ShortHistoryBand(t *testing.T, m models.Model, h ShortHistory, maxRatio float64) {
	t.Helper()
	p := int(h.Spec.Period)
	ideal := 2 * models.ZScore(models.Options{}.Width()) * h.Spec.Noise
	for _, given := range []bool{true, false} {
		for _, periods := range []float64{2, 2.5, 3, 3.5} {
			if !given && periods == 2 {
				continue
			}
			n := int(periods * float64(p))
			s := models.Series{Start: start, Step: step, Values: h.Values(n)}
			if given {
				s.Period = p
			}
			f, err := m.Fit(s, nil)
			require.NoError(t, err)
			lo, hi := math.Inf(1), 0.0
			for j := range 60 {
				pt := f.Predict(s.End() + int64(j)*s.Step)
				require.True(t, finite(pt), "%+v", pt)
				lo, hi = min(lo, pt.Upper-pt.Lower), max(hi, pt.Upper-pt.Lower)
			}
			what := fmt.Sprintf("%s after %v periods (period given: %v)", m.Name(), periods, given)
			t.Logf("%s: band over the next hour %.3g to %.3g wide, %.1f× to %.1f× 2·z·σ", what, lo, hi, lo/ideal, hi/ideal)
			require.LessOrEqual(t, hi/ideal, maxRatio, what)
			require.GreaterOrEqual(t, lo/ideal, 0.8, what)
		}
	}
}
