package holtwinters_test

import (
	"encoding"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/holtwinters"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

func restorer() models.Restorer {
	return holtwinters.New(models.Options{}).(models.Restorer)
}

func marshal(t testing.TB, f models.Fitted) []byte {
	t.Helper()
	b, err := f.(encoding.BinaryMarshaler).MarshalBinary()
	require.NoError(t, err)
	return b
}

// samples are fits of the shapes the encoding has to carry: seasonal
// (damped or not), non-seasonal, and with gaps.
func samples(t testing.TB) map[string]models.Fitted {
	t.Helper()
	seasonal := synth.Spec{Level: 50, Slope: 0.02, Amplitude: 10, Period: 24, Noise: 1, Seed: 4}.Series(start, step, 24*7)
	gappy := seasonal
	gappy.Values = synth.WithGaps(seasonal.Values, 3, 50, 51, 52, len(seasonal.Values)-1)
	return map[string]models.Fitted{
		"seasonal":  fit(t, models.Options{}, seasonal),
		"no season": fit(t, models.Options{}, synth.Spec{Level: 3, Slope: 0.1, Noise: 0.1, Seed: 1}.Series(start, step, 40)),
		"gaps":      fit(t, models.Options{IntervalWidth: 0.8}, gappy),
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for name, f := range samples(t) {
		t.Run(name, func(t *testing.T) {
			b := marshal(t, f)
			require.Equal(t, byte(1), b[0], "format version")
			g, err := restorer().Restore(b, models.Series{})
			require.NoError(t, err)
			for h := -30; h < 200; h++ {
				ts := start + int64(24*7+h)*step
				want, got := f.Predict(ts), g.Predict(ts)
				if math.IsNaN(want.Yhat) {
					require.True(t, math.IsNaN(got.Yhat))
					continue
				}
				require.Equal(t, want, got, "h=%d", h)
			}
			require.Equal(t, b, marshal(t, g), "re-encoding")
		})
	}
}

// TestRestoredWarmStart checks a restored fit warm-starts the next fit
// exactly as the original would.
func TestRestoredWarmStart(t *testing.T) {
	s := synth.Spec{Level: 50, Amplitude: 10, Period: 24, Noise: 1, Seed: 6}.Series(start, step, 24*8)
	m := holtwinters.New(models.Options{})
	f := fit(t, models.Options{}, s)
	g, err := restorer().Restore(marshal(t, f), models.Series{})
	require.NoError(t, err)
	next := synth.Spec{Level: 50, Amplitude: 10, Period: 24, Noise: 1, Seed: 7}.Series(start, step, 24*8)
	a, err := m.Fit(next, f)
	require.NoError(t, err)
	b, err := m.Fit(next, g)
	require.NoError(t, err)
	require.Equal(t, marshal(t, a), marshal(t, b))
}

func TestRestoreRefuses(t *testing.T) {
	b := marshal(t, samples(t)["seasonal"])
	t.Run("unknown version", func(t *testing.T) {
		for _, v := range []byte{0, 2, 255} {
			bad := append([]byte{v}, b[1:]...)
			f, err := restorer().Restore(bad, models.Series{})
			require.True(t, errors.Is(err, models.ErrUnknownFormat), "version %d: %v", v, err)
			require.Nil(t, f)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := range len(b) {
			f, err := restorer().Restore(b[:n], models.Series{})
			require.Error(t, err, "length %d", n)
			require.Nil(t, f)
		}
	})
	t.Run("trailing bytes", func(t *testing.T) {
		_, err := restorer().Restore(append(append([]byte(nil), b...), 0), models.Series{})
		require.Error(t, err)
	})
	t.Run("huge length", func(t *testing.T) {
		bad := append([]byte(nil), b...)
		// The period field (after version, start, step, n, flags) claims 2^32-1 phases.
		copy(bad[1+24+1:], []byte{0xff, 0xff, 0xff, 0xff})
		_, err := restorer().Restore(bad, models.Series{})
		require.Error(t, err)
	})
	t.Run("out of range parameter", func(t *testing.T) {
		bad := append([]byte(nil), b...)
		// The chosen alpha follows the period.
		copy(bad[1+24+1+4:], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // NaN
		_, err := restorer().Restore(bad, models.Series{})
		require.Error(t, err)
	})
}

// FuzzRestore checks Restore never panics and that whatever it accepts
// predicts without panicking.
func FuzzRestore(f *testing.F) {
	for _, fit := range samples(f) {
		f.Add(marshal(f, fit))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		g, err := restorer().Restore(data, models.Series{})
		if err != nil {
			require.Nil(t, g)
			return
		}
		for h := range 5 {
			g.Predict(start + int64(h)*step)
		}
	})
}
