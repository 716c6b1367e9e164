package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// secretConfig is baseConfig with a write-back target that has secrets.
const secretConfig = baseConfig + `
remote_write:
  - url: http://user:urlpass@127.0.0.1:1/api/v1/write
    name: mimir
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: tp, password: hunter2}
`

// statusFixture is an adapter whose clock is 20s after a fit of three
// hours of the sine, so that the status pages have data.
func statusFixture(t *testing.T, cfg string) *fixture {
	t.Helper()
	end := t0 + 3*time.Hour.Milliseconds()
	f := applied(t, cfg, Options{Now: func() time.Time { return time.UnixMilli(end + 20_000) }})
	f.fitted(t)
	return f
}

func (f *fixture) get(t *testing.T, target string, want int) string {
	t.Helper()
	rec := f.do(t, http.MethodGet, target, nil, nil)
	require.Equal(t, want, rec.Code, rec.Body.String())
	if want == http.StatusOK {
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	}
	return rec.Body.String()
}

func TestStatusIndex(t *testing.T) {
	f := statusFixture(t, baseConfig)
	ref := f.a.Engine().Status()[0].Ref

	body := f.get(t, "/", http.StatusOK)
	require.Contains(t, body, "1 tracked, 1 fitted")
	require.Contains(t, body, fmt.Sprintf(`href="series?ref=%d"`, ref))
	require.Contains(t, body, "sine{instance=&#34;a&#34;, job=&#34;app&#34;}")
	require.Contains(t, body, "fourier")
	require.Contains(t, body, "10s ago")
	require.NotContains(t, body, "<script")

	for _, tc := range []struct {
		q, anomalous string
		matched      int
		err          string
	}{
		{q: "APP", matched: 1},
		{q: "nomatch", matched: 0},
		{q: `{job="app", __name__=~"si.*"}`, matched: 1},
		{q: `{job="other"}`, matched: 0},
		{q: `{job=`, err: "parse selector"},
		{anomalous: "1", matched: 0},
	} {
		t.Run(tc.q+tc.anomalous, func(t *testing.T) {
			body := f.get(t, "/?q="+url.QueryEscape(tc.q)+"&anomalous="+tc.anomalous, http.StatusOK)
			if tc.err != "" {
				require.Contains(t, body, tc.err)
				return
			}
			require.Contains(t, body, fmt.Sprintf(`<p class="muted" id="count">%d series match`, tc.matched))
			require.Equal(t, tc.matched, strings.Count(body, `href="series?ref=`))
		})
	}
}

func TestStatusSeries(t *testing.T) {
	f := statusFixture(t, baseConfig)
	ref := f.a.Engine().Status()[0].Ref
	body := f.get(t, fmt.Sprintf("/series?ref=%d", ref), http.StatusOK)
	for _, want := range []string{`<svg id="chart"`, `class="actual"`, `class="band"`, `class="yhat"`, `class="now"`, "History and forecast (fourier)", "sine_forecast"} {
		require.Contains(t, body, want)
	}
	body = f.get(t, fmt.Sprintf("/series?ref=%d&model=1", ref), http.StatusOK)
	require.Contains(t, body, "History and forecast (seasonal_naive)")

	require.Contains(t, f.get(t, "/series?ref=x", http.StatusBadRequest), "series reference")
	require.Contains(t, f.get(t, "/series?ref=999999", http.StatusNotFound), "series not found")
}

func TestStatusConfig(t *testing.T) {
	f := statusFixture(t, secretConfig)
	// The fit's evaluation reaches the unreachable target's queue through
	// its inbox, in the background: wait for it.
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		body = f.get(t, "/config", http.StatusOK)
		if strings.Contains(body, "no request accepted yet") || time.Now().After(deadline) {
			break
		}
	}
	require.NotContains(t, body, "hunter2")
	require.NotContains(t, body, "urlpass")
	require.Contains(t, body, "password: &lt;secret&gt;")
	// Header values are hidden too: custom headers carry API keys.
	require.Contains(t, body, "X-Scope-OrgID: &lt;secret&gt;")
	require.NotContains(t, body, "team-a")
	require.Contains(t, body, "<td>mimir</td>")
	require.Contains(t, body, "user:xxxxx@127.0.0.1:1")
	require.Contains(t, body, "step: 1m")
	// The fit's evaluation was queued for the unreachable target.
	require.Contains(t, body, "no request accepted yet")
	require.Contains(t, body, "<th title=\"timestamp of the newest sample the target accepted: the write-back lag\">newest sent</th>")
	require.Contains(t, body, "<td>never</td><td>none</td>")
	require.Contains(t, body, "Last reload 0s ago: succeeded.")
	// The send's error shows once the first attempt has failed.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(body, "connection refused") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		body = f.get(t, "/config", http.StatusOK)
	}
	require.Contains(t, body, "connection refused")
	require.NotContains(t, body, "urlpass", "the error names the URL without its password")
	require.Contains(t, body, "<th>protocol</th>")
	require.Contains(t, body, "</td><td>1.0</td>")

	f = newFixture(t, baseConfig, Options{})
	require.Contains(t, f.get(t, "/config", http.StatusOK), "no configuration loaded yet")
}

// BenchmarkStatusIndex renders the series list over 10k tracked series (not
// fitted: the list's cost is the copy, the sort and the first 200 rows).
func BenchmarkStatusIndex(b *testing.B) {
	end := t0 + time.Hour.Milliseconds()
	f := &fixture{reg: prometheus.NewRegistry(), src: &source{yaml: baseConfig}}
	f.a = New(nil, f.reg, Options{LoadConfig: f.src.load, Now: func() time.Time { return time.UnixMilli(end) }})
	b.Cleanup(f.a.Stop)
	f.h = f.a.Handler(f.reg)
	require.NoError(b, f.a.Reload())
	for i := range 10000 {
		lset := labels.FromStrings("__name__", "sine", "instance", fmt.Sprintf("host-%d:9100", i), "job", "node")
		opts, _ := f.a.Engine().Route(lset)
		ser, _, err := f.a.Store().GetOrCreate(lset, opts)
		require.NoError(b, err)
		require.NoError(b, ser.Append(end-60_000, 1))
	}
	f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000))
	require.Len(b, f.a.Engine().Status(), 10000)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?q=host-1", nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// TestStatusSeriesExplainsFlags: while a detector warms up the series page
// says so; a flagged step is listed with its actual value, the forecast and
// band published for it, the score and the rule that fired.
func TestStatusSeriesExplainsFlags(t *testing.T) {
	f := statusFixture(t, baseConfig+"    anomaly_warm_up: 2m\n")
	ref := f.a.Engine().Status()[0].Ref
	body := f.get(t, fmt.Sprintf("/series?ref=%d", ref), http.StatusOK)
	require.Contains(t, body, "learning 0/2 steps")
	require.Contains(t, body, "no anomalous step yet")

	end := t0 + 3*time.Hour.Milliseconds()
	ser, _, err := f.a.Store().GetOrCreate(sineSeries, ring.Options{})
	require.NoError(t, err)
	for k := range int64(3) {
		cell := end + k*60_000
		v := sine(cell)
		if k == 2 {
			v = 1e4
		}
		require.NoError(t, ser.Append(cell, v))
		f.a.Engine().Evaluate(time.UnixMilli(cell + 60_000 + 20_000))
	}
	body = f.get(t, fmt.Sprintf("/series?ref=%d", ref), http.StatusOK)
	require.NotContains(t, body, "learning 0/2")
	require.Contains(t, body, `<table id="flags">`)
	_, row, _ := strings.Cut(body, `<table id="flags">`)
	row, _, _ = strings.Cut(row, "</table>")
	require.Contains(t, row, "magnitude")
	require.Contains(t, row, "<td>1e&#43;04</td>", "the actual value")
	require.Contains(t, row, time.UnixMilli(end+2*60_000).UTC().Format(time.RFC3339))
	require.Equal(t, 2, strings.Count(row, "<tr><td>"), "one row per model: %s", row)
}

// TestStatusConfigReloadError: /config says when the last reload failed and
// why, and that the configuration shown is the one still in force.
func TestStatusConfigReloadError(t *testing.T) {
	f := statusFixture(t, baseConfig)
	f.src.set("", errors.New(`parse remote_write url "http://u:topsecret@x:bad/": invalid port`))
	require.Error(t, f.a.Reload())
	body := f.get(t, "/config", http.StatusOK)
	require.Contains(t, body, "failed; the configuration below is the one still in force.")
	require.Contains(t, body, "invalid port")
	require.NotContains(t, body, "topsecret")

	f.src.set(baseConfig, nil)
	require.NoError(t, f.a.Reload())
	require.Contains(t, f.get(t, "/config", http.StatusOK), "succeeded.")
}

// TestStatusLearning: a series with less than min_history is listed as
// learning, with the wait for its first forecast, not as merely unfitted.
func TestStatusLearning(t *testing.T) {
	end := t0 + 30*time.Minute.Milliseconds()
	f := applied(t, baseConfig, Options{Now: func() time.Time { return time.UnixMilli(end + 20_000) }})
	lset := labels.FromStrings("__name__", "sine", "instance", "a", "job", "app")
	opts, ok := f.a.Engine().Route(lset)
	require.True(t, ok)
	ser, _, err := f.a.Store().GetOrCreate(lset, opts)
	require.NoError(t, err)
	for ts := t0; ts < end; ts += 60_000 {
		require.NoError(t, ser.Append(ts, sine(ts)))
	}
	require.Zero(t, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+20_000)), "30m of min_history 2h: no fit")

	st := f.a.Engine().Status()
	require.Len(t, st, 1)
	require.Equal(t, 30*time.Minute.Milliseconds(), st[0].History)
	require.Equal(t, 2*time.Hour.Milliseconds(), st[0].MinHistory)

	body := f.get(t, "/", http.StatusOK)
	require.Contains(t, body, "1 tracked, 0 fitted, 1 learning")
	require.Contains(t, body, `<span class="learning" title="30m of min_history 2h">learning — first forecast in ~90 min</span>`)
	body = f.get(t, fmt.Sprintf("/series?ref=%d", st[0].Ref), http.StatusOK)
	require.Contains(t, body, `<span class="learning" id="learning">learning — first forecast in ~90 min</span>`)

	// Fitted: the line goes.
	require.NotContains(t, statusFixture(t, baseConfig).get(t, "/", http.StatusOK), "learning —")
}
