package writeback

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func TestManagerStatus(t *testing.T) {
	good := newReceiver(t, nil)
	bad := newReceiver(t, func(int) response { return response{status: http.StatusBadRequest, body: "no"} })
	m := NewManager(nil, prometheus.NewPedanticRegistry(), Options{})
	t.Cleanup(m.Stop)
	withUser := strings.Replace(good.srv.URL, "http://", "http://user:hunter2@", 1)
	require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{
		testConfig(t, withUser, func(c *config.RemoteWriteConfig) { c.Name = "b-good" }),
		testConfig(t, bad.srv.URL, func(c *config.RemoteWriteConfig) { c.Name = "a-bad" }),
	}))
	before := time.Now()
	m.Append(samplesOf(0, 4, 1000))
	good.waitAccepted(t, 4)
	require.Eventually(t, func() bool { return m.Status()[0].Failed == 4 }, 5*time.Second, 5*time.Millisecond)

	st := m.Status()
	require.Len(t, st, 2)
	require.Equal(t, "a-bad", st[0].Name)
	require.Equal(t, 4.0, st[0].Failed)
	require.Zero(t, st[0].Sent)
	require.True(t, st[0].LastSuccess.IsZero())
	require.True(t, st[0].HighestSent.IsZero(), "nothing accepted")

	require.Equal(t, "b-good", st[1].Name)
	require.NotContains(t, st[1].URL, "hunter2")
	require.Contains(t, st[1].URL, "user:xxxxx@")
	require.Equal(t, 4.0, st[1].Sent)
	require.Zero(t, st[1].Failed)
	require.Zero(t, st[1].Queued)
	require.Equal(t, 1000, st[1].Capacity)
	require.False(t, st[1].LastSuccess.Before(before.Truncate(time.Second)), "last success %v", st[1].LastSuccess)
	require.Equal(t, time.UnixMilli(1003), st[1].HighestSent)
	require.Equal(t, 1.003, testutil.ToFloat64(m.metrics.highestSent.WithLabelValues("b-good", st[1].URL)))

	// An older batch accepted later does not lower it.
	m.Append(samplesOf(1, 2, 500))
	good.waitAccepted(t, 6)
	require.Eventually(t, func() bool { return m.Status()[1].Sent == 6 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, time.UnixMilli(1003), m.Status()[1].HighestSent)
	require.Equal(t, 1.003, testutil.ToFloat64(m.metrics.highestSent.WithLabelValues("b-good", st[1].URL)))
}
