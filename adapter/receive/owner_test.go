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

// TestOwner checks that a handler with an owner keeps only the selected
// series it owns and counts the others as not_owned, apart from the
// unselected ones.
func TestOwner(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.SetOwner(func(lset labels.Labels) bool { return lset.Get("job") == "mine" })

	body := encode(t, writeReq(
		series(lbls("__name__", "sel_a", "job", "mine"), samples(0, 3, 1)...),
		series(lbls("__name__", "sel_a", "job", "theirs"), samples(0, 2, 1)...),
		series(lbls("__name__", "other", "job", "theirs"), samples(0, 4, 1)...),
	))
	w := serve(h, newPost(body))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, 3.0, testutil.ToFloat64(h.samples))
	require.Equal(t, 2.0, testutil.ToFloat64(h.dropped[reasonNotOwned]))
	require.Equal(t, 4.0, testutil.ToFloat64(h.dropped[reasonUnselected]))
	require.Equal(t, 1, st.Len())
	require.Equal(t, "not_owned", reasonNotOwned.String())
}
