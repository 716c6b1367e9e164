package remoteread

import (
	"math"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// TestBackfillTenancy: with tenancy on, a source that reads one tenant's
// history (its X-Scope-OrgID header) fills that tenant's series, the ones
// its live samples go to, and not tenant-less twins; a series of that
// tenant that appears later is read without the internal tenant label
// (the source has none), and another tenant's series is not read there.
func TestBackfillTenancy(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(false)
	src.add(sineA, t0, now, 15000, sine)
	late := labels.FromStrings("__name__", "sine", "job", "late")
	src.add(late, t0, now, 15000, sine)
	ts := httptest.NewServer(src)
	defer ts.Close()

	f := newFixture(t, testConfig+"tenancy: {enabled: true}\n", now)
	withTenant := func(lset labels.Labels, tenant string) labels.Labels {
		return labels.NewBuilder(lset).Set(config.TenantLabel, tenant).Labels()
	}
	// Live samples of team-a's sine{job="a"} arrived before the backfill.
	live := f.feed(withTenant(sineA, "team-a"), now-5*minute, now, sine)
	b := startBackfill(t, f, ts.URL, "    read_recent: true\n    headers: {x-scope-orgid: team-a}\n")
	waitUntil(t, "start-up backfill", func() bool { return b.metric("series") == 2 })
	require.Equal(t, 2, b.store.Len(), "no tenant-less twin of the live series")
	_, vals := live.Values(math.MaxInt64, nil)
	require.Len(t, vals, 360)
	for i, v := range vals {
		require.False(t, math.IsNaN(v), "cell %d of the live series filled", i)
	}
	require.NotNil(t, b.store.Get(withTenant(late, "team-a")), "what the source has goes to its tenant")

	// Later series: team-a's is read, team-b's is not (not this source's
	// tenant), and the query carries no tenant matcher.
	src.add(labels.FromStrings("__name__", "sine", "job", "new"), t0, now, 15000, sine)
	n := len(src.queries())
	b.feed(labels.FromStrings("__name__", "sine", "job", "new", config.TenantLabel, "team-a"), now-minute, now, sine)
	b.feed(labels.FromStrings("__name__", "sine", "job", "other", config.TenantLabel, "team-b"), now-minute, now, sine)
	waitUntil(t, "team-a's new series backfilled", func() bool { return b.metric("series") == 3 })
	qs := src.queries()[n:]
	require.Len(t, qs, 1, "one query, for team-a's series only")
	for _, m := range qs[0].Matchers {
		require.NotEqual(t, config.TenantLabel, m.Name)
	}
	src.mu.Lock()
	for _, tenant := range src.tenants {
		require.Equal(t, "team-a", tenant)
	}
	src.mu.Unlock()
}

// TestBackfillTenantHeaderChecked: a source's tenant header must hold a
// valid tenant ID.
func TestBackfillTenantHeaderChecked(t *testing.T) {
	cfg, err := loadWith(testConfig + "tenancy: {enabled: true}\nremote_read:\n  - url: http://127.0.0.1:1/api/v1/read\n    headers: {X-Scope-OrgID: ..}\n")
	require.NoError(t, err)
	require.ErrorContains(t, CheckConfig(cfg), "X-Scope-OrgID")

	// A reload that turns tenancy on or off starts the backfill over.
	off, err := loadWith(testConfig + "remote_read:\n  - url: http://127.0.0.1:1/api/v1/read\n    headers: {X-Scope-OrgID: ..}\n")
	require.NoError(t, err)
	require.False(t, sameBackfill(off, cfg))
}
