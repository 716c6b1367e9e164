package web

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// fakeEngine serves fixed series and outputs.
type fakeEngine struct {
	series []engine.SeriesStatus
	latest []output.Sample
}

func (e *fakeEngine) Status() []engine.SeriesStatus { return e.series }

func (e *fakeEngine) SeriesHistory(ref uint64, _ int64) (engine.SeriesStatus, int64, []float64, bool) {
	for _, s := range e.series {
		if s.Ref == ref {
			return s, 0, []float64{1, 2, 3}, true
		}
	}
	return engine.SeriesStatus{}, 0, nil, false
}

func (e *fakeEngine) Latest(f func(output.Sample)) {
	for _, s := range e.latest {
		f(s)
	}
}

// fakeTargets serves fixed write-back targets.
type fakeTargets []writeback.TargetStatus

func (t fakeTargets) Status() []writeback.TargetStatus { return t }

// fakeSettings serves a fixed configuration and reload result.
type fakeSettings struct {
	cfg    *config.Config
	reload *Reload
}

func (s fakeSettings) Config() *config.Config { return s.cfg }

func (s fakeSettings) LastReload() (Reload, bool) {
	if s.reload == nil {
		return Reload{}, false
	}
	return *s.reload, true
}

var (
	_ Engine   = (*fakeEngine)(nil)
	_ Targets  = fakeTargets(nil)
	_ Settings = fakeSettings{}
)

const tenancyConfig = `
global: {step: 1m, window: 1d, min_history: 2h}
forecasts: [{name: all, match: ['{__name__=~".+"}'], models: [seasonal_naive]}]
tenancy: {enabled: true}
`

var testNow = time.Date(2026, 11, 1, 3, 0, 20, 0, time.UTC)

// newTestUI returns pages over two series, one of tenant team-a and one
// written without a tenant, each with one output, and the buffers holding
// them.
func newTestUI(t *testing.T, cfgYAML string, s Settings, targets fakeTargets) *UI {
	t.Helper()
	if cfgYAML != "" {
		cfg, err := config.Load(cfgYAML)
		require.NoError(t, err)
		s = fakeSettings{cfg: cfg}
	}
	own := labels.FromStrings("__name__", "up", config.TenantLabel, "team-a", "job", "job-of-team-a")
	none := labels.FromStrings("__name__", "up", "job", "job-of-nobody")
	store := ring.NewStore(10, nil)
	for _, ls := range []labels.Labels{own, none} {
		_, _, err := store.GetOrCreate(ls, ring.Options{Step: time.Minute, Window: time.Hour})
		require.NoError(t, err)
	}
	eng := &fakeEngine{}
	for i, ls := range []labels.Labels{own, none} {
		eng.series = append(eng.series, engine.SeriesStatus{
			Ref: uint64(i + 1), Labels: ls, Entry: "all", Step: time.Minute.Milliseconds(),
			Models: []engine.ModelStatus{{Name: "seasonal_naive", Chosen: "seasonal_naive", Score: math.NaN(), Anomaly: math.NaN()}},
		})
		out := labels.NewBuilder(ls).Set("__name__", "up:rate_forecast").Labels()
		eng.latest = append(eng.latest, output.Sample{Labels: out, T: testNow.UnixMilli(), V: float64(i)})
	}
	return New(nil, Source{Engine: eng, Buffers: store, Targets: targets, Settings: s},
		Options{Now: func() time.Time { return testNow }, Shard: "1 of 3"})
}

func get(t *testing.T, h http.HandlerFunc, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	return rec
}

// TestPagesOverFakes: the pages work from what the interfaces give,
// without an adapter: a tenant sees its own series without the tenant
// label, a request without the header the series written without it.
func TestPagesOverFakes(t *testing.T) {
	u := newTestUI(t, tenancyConfig, nil, nil)
	for _, tc := range []struct {
		name, tenant, own, other string
		ref                      string
	}{
		{name: "tenant", tenant: "team-a", own: "job-of-team-a", other: "job-of-nobody", ref: "1"},
		{name: "no tenant", own: "job-of-nobody", other: "job-of-team-a", ref: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.tenant != "" {
				h.Set("X-Scope-OrgID", tc.tenant)
			}
			for _, page := range []struct {
				h      http.HandlerFunc
				target string
			}{
				{u.Index, "/"},
				{u.Series, "/series?ref=" + tc.ref},
				{u.Forecasts, "/forecasts"},
			} {
				rec := get(t, page.h, page.target, h)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "X-Scope-OrgID", rec.Header().Get("Vary"))
				body := rec.Body.String()
				require.Contains(t, body, tc.own, page.target)
				require.NotContains(t, body, tc.other, page.target)
				require.NotContains(t, body, config.TenantLabel, page.target)
			}
			body := get(t, u.Index, "/", h).Body.String()
			require.Contains(t, body, "<p>1 series buffered.</p>")
			require.Contains(t, body, "Shard 1 of 3.")
		})
	}
	other := get(t, u.Series, "/series?ref=2", http.Header{"X-Scope-Orgid": {"team-a"}})
	require.Equal(t, http.StatusNotFound, other.Code, "another tenant's series")
	bad := get(t, u.Forecasts, "/forecasts", http.Header{"X-Scope-Orgid": {".."}})
	require.Equal(t, http.StatusBadRequest, bad.Code)
	require.Contains(t, bad.Body.String(), "X-Scope-OrgID")

	// A forecast of a counter's rate says so in its help.
	body := get(t, u.Forecasts, "/forecasts", nil).Body.String()
	require.Contains(t, body, "# HELP up:rate_forecast Output of train-prometheus for the per-second rate of the counter it models.\n")
	require.Contains(t, body, `up:rate_forecast{job="job-of-nobody"} 1`+"\n")
}

// TestConfigPageOverFakes: the config page shows the last reload and each
// target's health from what the interfaces give.
func TestConfigPageOverFakes(t *testing.T) {
	u := newTestUI(t, "", fakeSettings{}, nil)
	body := get(t, u.Config, "/config", nil).Body.String()
	require.Contains(t, body, "(no configuration loaded yet)")
	require.NotContains(t, body, "Last reload")

	targets := fakeTargets{
		{Name: "full", URL: "http://a/", Queued: 95, Capacity: 100},
		{Name: "up", URL: "http://b/", Capacity: 100, Sent: 5, LastSuccess: testNow.Add(-time.Minute), HighestSent: testNow.Add(-2 * time.Minute)},
		{Name: "idle", URL: "http://c/", Capacity: 100},
	}
	reload := &Reload{At: testNow.Add(-5 * time.Second), Err: "parse config: boom"}
	u = newTestUI(t, "", fakeSettings{reload: reload}, targets)
	rec := get(t, u.Config, "/config", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	body = rec.Body.String()
	require.Contains(t, body, "Last reload 5s ago: failed; the configuration below is the one still in force.")
	require.Contains(t, body, "parse config: boom")
	for _, want := range []string{"backlogged: queue nearly full", ">up<", "idle: nothing sent yet", "<td>1m ago</td><td>2m ago</td>"} {
		require.Contains(t, body, want)
	}
	require.Less(t, strings.Index(body, "<td>full</td>"), strings.Index(body, "<td>up</td>"), "in the order given")
}
