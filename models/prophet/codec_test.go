package prophet_test

import (
	"encoding"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

// saved returns the state of fits of both modes with changepoints, daily,
// weekly and a caller's seasonality.
func saved(t testing.TB) map[string]struct {
	popts prophet.Options
	s     models.Series
	f     models.Fitted
	data  []byte
} {
	t.Helper()
	s := signal{specs: []synth.Spec{
		{Level: 100, Amplitude: 10, Period: 24, Noise: 1, Seed: 2},
		{Amplitude: 20, Period: 168, Phase: 1, Seed: 3},
		{Amplitude: 3, Period: 5, Seed: 4},
	}, kneeAt: 300, kneeSlope: 0.1}
	series, _ := s.split(hour, 4*168, 0)
	series.Values[17] = math.NaN()
	out := map[string]struct {
		popts prophet.Options
		s     models.Series
		f     models.Fitted
		data  []byte
	}{}
	for name, popts := range map[string]prophet.Options{"additive": {}, "multiplicative": multiplicative} {
		f := fit(t, models.Options{Period: 5, IntervalWidth: 0.8}, popts, series)
		data, err := f.(encoding.BinaryMarshaler).MarshalBinary()
		require.NoError(t, err)
		out[name] = struct {
			popts prophet.Options
			s     models.Series
			f     models.Fitted
			data  []byte
		}{popts, series, f, data}
	}
	return out
}

func restorer(popts prophet.Options) models.Restorer {
	return prophet.New(models.Options{}, popts).(models.Restorer)
}

func TestRestoreRoundTrip(t *testing.T) {
	for name, tc := range saved(t) {
		t.Run(name, func(t *testing.T) {
			r, err := restorer(tc.popts).Restore(tc.data, models.Series{})
			require.NoError(t, err)
			for i := -10; i < len(tc.s.Values)+500; i += 7 {
				ts := tc.s.Time(i) + 1234 // off the grid too
				require.Equal(t, tc.f.Predict(ts), r.Predict(ts), "cell %d", i)
			}
			again, err := r.(encoding.BinaryMarshaler).MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, tc.data, again)
		})
	}
}

func TestRestoreRefuses(t *testing.T) {
	tc := saved(t)["additive"]
	r := restorer(prophet.Options{})
	t.Run("unknown version", func(t *testing.T) {
		for _, v := range []byte{0, 1, 3, 255} { // 1: the old layout
			data := append([]byte{v}, tc.data[1:]...)
			_, err := r.Restore(data, models.Series{})
			require.ErrorIs(t, err, models.ErrUnknownFormat)
		}
		_, err := r.Restore(nil, models.Series{})
		require.ErrorIs(t, err, models.ErrUnknownFormat)
	})
	t.Run("truncated", func(t *testing.T) {
		for n := 1; n < len(tc.data); n++ {
			f, err := r.Restore(tc.data[:n], models.Series{})
			require.Error(t, err, "%d of %d bytes", n, len(tc.data))
			require.Nil(t, f)
		}
	})
	t.Run("trailing bytes", func(t *testing.T) {
		_, err := r.Restore(append(append([]byte(nil), tc.data...), 0), models.Series{})
		require.Error(t, err)
	})
	t.Run("other mode", func(t *testing.T) {
		_, err := restorer(multiplicative).Restore(tc.data, models.Series{})
		require.Error(t, err)
		require.False(t, errors.Is(err, models.ErrUnknownFormat))
	})
	t.Run("non-finite value", func(t *testing.T) {
		data := append([]byte(nil), tc.data...)
		copy(data[3:11], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // yScale = NaN
		_, err := r.Restore(data, models.Series{})
		require.Error(t, err)
	})
	t.Run("huge count", func(t *testing.T) {
		// The changepoint count follows t0 (a varint), five floats and
		// the row count.
		_, n := binary.Varint(tc.data[11:])
		at := 11 + n + 5*8
		_, n = binary.Uvarint(tc.data[at:])
		at += n
		data := append(append(append([]byte(nil), tc.data[:at]...), 0xff, 0xff, 0xff, 0x7f), tc.data[at+1:]...)
		_, err := r.Restore(data, models.Series{})
		require.ErrorContains(t, err, "count 268435455")
	})
}

// FuzzRestore checks Restore never panics, and that whatever it accepts
// predicts finite values or NaN without panicking and encodes back to the
// same bytes.
func FuzzRestore(f *testing.F) {
	for _, tc := range saved(f) {
		f.Add(tc.data)
		f.Add(tc.data[:len(tc.data)/2])
	}
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		for _, popts := range []prophet.Options{{}, multiplicative} {
			r, err := restorer(popts).Restore(data, models.Series{})
			if err != nil {
				continue
			}
			r.Predict(start)
			r.Predict(start + 1e12)
			again, err := r.(encoding.BinaryMarshaler).MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

// TestDeterministicState checks two fits of the same data save the same
// bytes: the fit is deterministic down to the last bit.
func TestDeterministicState(t *testing.T) {
	first, second := saved(t), saved(t)
	for name := range first {
		require.Equal(t, first[name].data, second[name].data, name)
	}
}
