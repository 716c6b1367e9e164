package receive

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// TestSetLimitsConcurrent reloads limits while requests are served; run
// with -race.
func TestSetLimitsConcurrent(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, nil, st, nameRouter{}, 0)
	body := encode(t, writeReq(series(lbls("__name__", "sel_a"), samples(0, 1, 1)...)))

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if i%2 == 0 {
				h.SetLimits(allRouter{}, len(body)-1)
			} else {
				h.SetLimits(nameRouter{}, 0)
			}
		}
	}()
	codes := map[int]int{}
	for range 200 {
		codes[serve(h, newPost(body)).Code]++
	}
	<-done
	for code := range codes {
		require.Contains(t, []int{http.StatusNoContent, http.StatusRequestEntityTooLarge}, code)
	}

	h.SetLimits(nil, len(body))
	require.Equal(t, http.StatusNoContent, serve(h, newPost(body)).Code)
	require.Equal(t, 1.0, testutil.ToFloat64(h.dropped[reasonUnselected]))
	h.SetLimits(nameRouter{}, len(body)-1)
	require.Equal(t, http.StatusRequestEntityTooLarge, serve(h, newPost(body)).Code)
}

func TestHandlerMaxAhead(t *testing.T) {
	now := time.UnixMilli(baseT)
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, nil, st, nameRouter{}, 0)
	h.now = func() time.Time { return now }
	limit := now.Add(maxAhead).UnixMilli()
	body := encode(t, writeReq(
		series(lbls("__name__", "sel_a"), prompb.Sample{Timestamp: limit, Value: 1}),
		series(lbls("__name__", "sel_b"), prompb.Sample{Timestamp: limit + 1, Value: 1}),
	))

	require.Equal(t, http.StatusNoContent, serve(h, newPost(body)).Code)

	require.Equal(t, []float64{1}, storedValues(t, st, "__name__", "sel_a"))
	require.Nil(t, st.Get(labels.FromStrings("__name__", "sel_b")))
	require.Equal(t, 1.0, testutil.ToFloat64(h.samples))
	require.Equal(t, 1.0, testutil.ToFloat64(h.dropped[reasonOutOfBounds]))
}
