package receive

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// groupRouter selects sel_a_* into group 0 and sel_b_* into group 1, named
// "alpha" and "beta".
type groupRouter struct{}

func (groupRouter) Route(lset labels.Labels) (ring.Options, bool) {
	o := testOpts
	name := lset.Get(model.MetricNameLabel)
	switch {
	case strings.HasPrefix(name, "sel_a"):
		o.Group = 0
	case strings.HasPrefix(name, "sel_b"):
		o.Group = 1
	default:
		return o, false
	}
	return o, true
}

func (groupRouter) GroupName(g int) (string, bool) {
	if g < 0 || g > 1 {
		return "", false
	}
	return []string{"alpha", "beta"}[g], true
}

func TestHighestTimestampPerEntry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := NewHandler(nil, reg, ring.NewStore(0, nil), groupRouter{}, 0)
	h.Configure(groupRouter{}, Limits{EvictIdleAfter: -1})
	post := func(name string, offset int64, n int) {
		w := serve(h, newPost(encode(t, writeReq(series(lbls("__name__", name), samples(offset, n, 1)...)))))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	}
	post("sel_a1", 0, 3)      // newest baseT+30s
	post("sel_a2", 15_000, 1) // older than sel_a1's newest: no change
	post("sel_b1", 0, 1)      // newest baseT
	post("other", 600_000, 1) // unselected: not counted
	want := func(a, b int64) string {
		return `# HELP train_prometheus_received_highest_timestamp_seconds Newest sample timestamp accepted for the series of a forecasts entry since the configuration was applied, in seconds since the epoch; time() minus it is the senders' lag.
# TYPE train_prometheus_received_highest_timestamp_seconds gauge
train_prometheus_received_highest_timestamp_seconds{forecast="alpha"} ` + fmtSeconds(a) + `
train_prometheus_received_highest_timestamp_seconds{forecast="beta"} ` + fmtSeconds(b) + `
`
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want(baseT+30_000, baseT)), "train_prometheus_received_highest_timestamp_seconds"))

	// From the cache, too.
	post("sel_b1", 45_000, 1)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want(baseT+30_000, baseT+45_000)), "train_prometheus_received_highest_timestamp_seconds"))

	// A reload may renumber the entries: it starts over.
	h.Configure(groupRouter{}, Limits{EvictIdleAfter: -1})
	n, err := testutil.GatherAndCount(reg, "train_prometheus_received_highest_timestamp_seconds")
	require.NoError(t, err)
	require.Zero(t, n)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// fmtSeconds formats ms as the exposition format writes seconds.
func fmtSeconds(ms int64) string {
	return strings.TrimRight(strings.TrimRight(strconvFormat(float64(ms)/1000), "0"), ".")
}

func strconvFormat(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
