package receive

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

// TestCachedSeriesRemoved: a series the route cache points to is removed
// from the store (garbage collection); the next sample looks it up again,
// and is counted as max_series when there is no room for it any more.
func TestCachedSeriesRemoved(t *testing.T) {
	lset := labels.FromStrings("__name__", "sel_a")
	body := func(i int) []byte {
		return encode(t, writeReq(series(lbls("__name__", "sel_a"), samples(int64(i)*15_000, 1, float64(i))...)))
	}
	for _, tc := range []struct {
		name      string
		maxSeries int
		fill      bool // another series takes the room of the removed one
		want      []float64
		dropped   string
	}{
		{name: "looks a removed series up again", want: []float64{1}},
		{name: "removed series cannot come back", maxSeries: 1, fill: true, dropped: "max_series"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			st := ring.NewStore(tc.maxSeries, nil)
			h := NewHandler(nil, reg, st, nameRouter{}, 0)
			h.Configure(nameRouter{}, Limits{EvictIdleAfter: -1}) // the test data is years old
			require.Equal(t, http.StatusNoContent, serve(h, newPost(body(0))).Code)
			old := st.Get(lset)
			require.NotNil(t, old)
			require.True(t, st.Delete(old))
			if tc.fill {
				_, _, err := st.GetOrCreate(labels.FromStrings("__name__", "sel_other"), testOpts)
				require.NoError(t, err)
			}

			code := http.StatusNoContent
			if tc.dropped != "" {
				code = http.StatusBadRequest
			}
			require.Equal(t, code, serve(h, newPost(body(1))).Code)
			require.Equal(t, tc.want, storedValues(t, st, "__name__", "sel_a"))
			if tc.want != nil {
				require.NotSame(t, old, st.Get(lset))
				// The cache now points to the new series.
				require.Equal(t, http.StatusNoContent, serve(h, newPost(body(2))).Code)
				require.Equal(t, []float64{1, 2}, storedValues(t, st, "__name__", "sel_a"))
			}
			if tc.dropped != "" {
				require.Equal(t, 1.0, testutil.ToFloat64(h.dropped[reasonMaxSeries]))
			}
		})
	}
}
