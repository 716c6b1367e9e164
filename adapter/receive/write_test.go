package receive

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range numReasons {
		name := r.String()
		require.NotContains(t, name, "reason(", "reason %d has no name", int(r))
		require.False(t, seen[name], "duplicate name %q", name)
		seen[name] = true
	}
	require.Equal(t, "reason(99)", reason(99).String())
}

func TestAppendSample(t *testing.T) {
	lset := labels.FromStrings("__name__", "sel_a")

	for _, tc := range []struct {
		name      string
		maxSeries int
		prepare   func(t *testing.T, st *ring.Store) *ring.Series
		wantErr   error
		wantNil   bool
	}{
		{
			name:    "looks the series up",
			prepare: func(*testing.T, *ring.Store) *ring.Series { return nil },
		},
		{
			name: "looks a removed series up again",
			prepare: func(t *testing.T, st *ring.Store) *ring.Series {
				ser, _, err := st.GetOrCreate(lset, testOpts)
				require.NoError(t, err)
				require.True(t, st.Delete(ser))
				return ser
			},
		},
		{
			name:      "removed series cannot come back",
			maxSeries: 1,
			prepare: func(t *testing.T, st *ring.Store) *ring.Series {
				ser, _, err := st.GetOrCreate(lset, testOpts)
				require.NoError(t, err)
				require.True(t, st.Delete(ser))
				_, _, err = st.GetOrCreate(labels.FromStrings("__name__", "sel_other"), testOpts)
				require.NoError(t, err)
				return ser
			},
			wantErr: ring.ErrTooManySeries,
			wantNil: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ring.NewStore(tc.maxSeries, nil)
			h := NewHandler(nil, nil, st, nameRouter{}, 0)
			ser := tc.prepare(t, st)
			before := ser

			err := h.appendSample(&ser, lset, testOpts, baseT, 7, false)

			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				require.Equal(t, []float64{7}, storedValues(t, st, "__name__", "sel_a"))
			}
			if tc.wantNil {
				require.Nil(t, ser)
				return
			}
			require.NotSame(t, before, ser)
			require.Same(t, st.Get(lset), ser)
		})
	}
}
