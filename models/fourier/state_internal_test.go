package fourier

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

// TestStateSavesBins checks that a fit's frequencies are saved as FFT bins
// (a byte or two each) and a state with floats instead restores the same.
func TestStateSavesBins(t *testing.T) {
	s := synth.Spec{Level: 50, Amplitude: 10, Period: 24, Noise: 1, Seed: 1}.Series(1_700_000_000_000, 3_600_000, 24*14)
	f, err := New(models.Options{}, 0).Fit(s, nil)
	require.NoError(t, err)
	ft := f.(*fitted)
	require.NotEmpty(t, ft.harmonics)
	data, err := ft.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(0), data[1], "frequencies saved as bins")
	require.LessOrEqual(t, len(data), 2+3*4+6*8+2+18*len(ft.harmonics))

	// A frequency that is no bin is saved as it is.
	odd := *ft
	odd.harmonics = append([]harmonic(nil), ft.harmonics...)
	odd.harmonics[0].omega += 1e-9
	data, err = odd.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(flagOmegas), data[1])
	g, err := model{}.Restore(data, models.Series{})
	require.NoError(t, err)
	require.Equal(t, &odd, g)
}

// FuzzRestore checks Restore never panics, and that what it accepts
// predicts without panicking and saves a state that restores and saves
// the same again.
func FuzzRestore(f *testing.F) {
	s := synth.Spec{Level: 50, Amplitude: 10, Period: 24, Noise: 1, Seed: 1}.Series(1_700_000_000_000, 3_600_000, 24*7)
	fit, err := New(models.Options{}, 0).Fit(s, nil)
	require.NoError(f, err)
	data, err := fit.(*fitted).MarshalBinary()
	require.NoError(f, err)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte{stateVersion, flagOmegas})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		g, err := model{}.Restore(data, models.Series{})
		if err != nil {
			return
		}
		g.Predict(s.Start)
		g.Predict(s.End() + 1e9)
		again, err := g.(*fitted).MarshalBinary()
		require.NoError(t, err)
		h, err := model{}.Restore(again, models.Series{})
		require.NoError(t, err)
		third, err := h.(*fitted).MarshalBinary()
		require.NoError(t, err)
		require.True(t, bytes.Equal(again, third), "a saved state restores and saves the same")
	})
}
