package writeback

import (
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// waitLen waits until q holds n samples: Manager.Append hands samples to
// the queues' inboxes, which feed them to the queues a moment later.
func waitLen(t *testing.T, q *Queue, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return q.Len() == n }, 5*time.Second, time.Millisecond, "queue length %d, want %d", q.Len(), n)
}

// queueOf returns the queue of target name, nil when there is none.
func queueOf(m *Manager, name string) *Queue {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if mq, ok := m.queues[name]; ok {
		return mq.q
	}
	return nil
}

func TestManagerApplyConfig(t *testing.T) {
	a, b, c := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	reg := prometheus.NewPedanticRegistry()
	m := NewManager(nil, reg, Options{})
	t.Cleanup(m.Stop)

	// cfg returns a fresh config of target name at u, so unchanged targets
	// are equal in content only.
	cfg := func(name, u string, mod func(*config.RemoteWriteConfig)) *config.RemoteWriteConfig {
		return testConfig(t, u, func(c *config.RemoteWriteConfig) {
			c.Name = name
			c.QueueConfig.BatchSendDeadline = model.Duration(time.Hour)
			if mod != nil {
				mod(c)
			}
		})
	}

	require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{cfg("a", a.srv.URL, nil), cfg("b", b.srv.URL, nil)}))
	qa, qb := queueOf(m, "a"), queueOf(m, "b")
	require.NotNil(t, qa)
	require.NotNil(t, qb)

	m.Append(samplesOf(0, 4, 1000))
	waitLen(t, qa, 4)
	waitLen(t, qb, 4)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, 2, testutil.CollectAndCount(m.metrics.queueLength), "one queue_length series per target")

	t.Run("unchanged target keeps its queue and content, removed one flushes", func(t *testing.T) {
		require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{cfg("a", a.srv.URL, nil), cfg("c", c.srv.URL, nil)}))
		require.Same(t, qa, queueOf(m, "a"))
		require.Equal(t, 4, qa.Len())
		require.Nil(t, queueOf(m, "b"))
		require.Equal(t, 4, b.acceptedCount(), "b flushed when removed")
		require.NotNil(t, queueOf(m, "c"))
		require.Zero(t, queueOf(m, "c").Len())

		m.Append(samplesOf(1, 2, 1000))
		waitLen(t, qa, 6)
		waitLen(t, queueOf(m, "c"), 2)
	})

	t.Run("changed target is restarted", func(t *testing.T) {
		require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{
			cfg("a", a.srv.URL, func(c *config.RemoteWriteConfig) { c.Headers = map[string]string{"X-Scope-OrgID": "t1"} }),
			cfg("c", c.srv.URL, nil),
		}))
		require.NotSame(t, qa, queueOf(m, "a"))
		require.Equal(t, 6, a.acceptedCount(), "the old queue flushed before it was replaced")
		require.Zero(t, queueOf(m, "a").Len())
		require.Equal(t, 2, queueOf(m, "c").Len())
	})

	t.Run("invalid config changes nothing", func(t *testing.T) {
		before := map[string]*Queue{"a": queueOf(m, "a"), "c": queueOf(m, "c")}
		for name, cfgs := range map[string][]*config.RemoteWriteConfig{
			"duplicate name": {cfg("x", a.srv.URL, nil), cfg("x", b.srv.URL, nil)},
			"nil entry":      {cfg("x", a.srv.URL, nil), nil},
			"bad queue":      {cfg("x", a.srv.URL, func(c *config.RemoteWriteConfig) { c.QueueConfig.Capacity = 0 })},
		} {
			t.Run(name, func(t *testing.T) {
				require.Error(t, m.ApplyConfig(cfgs))
				require.Nil(t, queueOf(m, "x"))
				for n, q := range before {
					require.Same(t, q, queueOf(m, n))
				}
			})
		}
	})

	t.Run("stop flushes every queue", func(t *testing.T) {
		m.Append(samplesOf(2, 2, 1000))
		m.Stop()
		require.Equal(t, 8, a.acceptedCount())
		require.Equal(t, 4, c.acceptedCount())
		require.Equal(t, []string{"t1"}, a.requests()[len(a.requests())-1].header.Values("X-Scope-OrgID"))
		m.Stop()
		require.Error(t, m.ApplyConfig(nil))
		m.Append(samplesOf(0, 1, 2000))
		n, err := testutil.GatherAndCount(reg)
		require.NoError(t, err)
		require.Zero(t, n, "label values are deleted on stop")
	})
}

func TestManagerRestartKeepsCounting(t *testing.T) {
	rcv := newReceiver(t, nil)
	m := NewManager(nil, prometheus.NewPedanticRegistry(), Options{})
	t.Cleanup(m.Stop)

	c1 := testConfig(t, rcv.srv.URL, nil)
	require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{c1}))
	m.Append(samplesOf(0, 3, 1000))
	rcv.waitAccepted(t, 3)

	c2 := testConfig(t, rcv.srv.URL, func(c *config.RemoteWriteConfig) { c.RemoteTimeout = model.Duration(3 * time.Second) })
	require.NoError(t, m.ApplyConfig([]*config.RemoteWriteConfig{c2}))
	m.Append(samplesOf(0, 2, 2000))
	rcv.waitAccepted(t, 5)
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(m.metrics.samplesTotal.WithLabelValues("test", c2.URL.Redacted())) == 5
	}, 5*time.Second, time.Millisecond, "the counter survives a restart under the same name and URL")
}

func TestConfigHash(t *testing.T) {
	base := func() *config.RemoteWriteConfig {
		u, _ := url.Parse("https://user:pw@mimir.example/api/v1/push")
		return &config.RemoteWriteConfig{
			URL:           &commonconfig.URL{URL: u},
			Name:          "mimir",
			RemoteTimeout: model.Duration(30 * time.Second),
			Headers:       map[string]string{"X-Scope-OrgID": "a", "X-Other": "b"},
			HTTPClientConfig: commonconfig.HTTPClientConfig{
				BasicAuth: &commonconfig.BasicAuth{Username: "u", Password: "secret"},
			},
			QueueConfig: config.DefaultQueueConfig,
		}
	}
	for _, tc := range []struct {
		name string
		mod  func(*config.RemoteWriteConfig)
		same bool
	}{
		{name: "equal content", mod: func(*config.RemoteWriteConfig) {}, same: true},
		{name: "password", mod: func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.BasicAuth.Password = "other" }},
		{name: "url password", mod: func(c *config.RemoteWriteConfig) { c.URL.User = url.UserPassword("user", "pw2") }},
		{name: "bearer token", mod: func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.BearerToken = "t" }},
		{name: "header", mod: func(c *config.RemoteWriteConfig) { c.Headers["X-Scope-OrgID"] = "b" }},
		{name: "queue", mod: func(c *config.RemoteWriteConfig) { c.QueueConfig.MaxShards++ }},
		{name: "retry 429", mod: func(c *config.RemoteWriteConfig) { c.QueueConfig.RetryOnRateLimit = false }},
		{name: "no basic auth", mod: func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.BasicAuth = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(c)
			if tc.same {
				require.Equal(t, configHash(base()), configHash(c))
			} else {
				require.NotEqual(t, configHash(base()), configHash(c))
			}
		})
	}
}
