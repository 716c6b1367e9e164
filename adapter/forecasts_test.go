package adapter

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// t0 is where the fed history starts: a whole hour, so that the sine's phase
// is easy to follow.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// sine is the known pattern: period one hour, mean 100, amplitude 10.
func sine(ms int64) float64 {
	return 100 + 10*math.Sin(2*math.Pi*float64(ms)/float64(time.Hour.Milliseconds()))
}

// sineSeries is the input series every test in this file models.
var sineSeries = labels.FromStrings("__name__", "sine", "instance", "a", "job", "app")

// feed appends one sample of the sine every 15s in [from, to) to lset,
// created with the ring options the engine routes it with.
func (f *fixture) feed(t *testing.T, lset labels.Labels, from, to int64) {
	t.Helper()
	opts, ok := f.a.Engine().Route(lset)
	require.True(t, ok, "series %s not routed", lset)
	ser, _, err := f.a.Store().GetOrCreate(lset, opts)
	require.NoError(t, err)
	for ts := from; ts < to; ts += 15_000 {
		require.NoError(t, ser.Append(ts, sine(ts)))
	}
}

// fitted feeds three hours of the sine, fits it at end+10s = t0+3h+10s
// (the cells before end closed: the 10s evaluation delay) and evaluates
// at end+20s, so that the open cell is end. It returns end.
func (f *fixture) fitted(t *testing.T) int64 {
	t.Helper()
	end := t0 + 3*time.Hour.Milliseconds()
	f.feed(t, sineSeries, t0, end)
	require.Equal(t, 1, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Equal(t, 2*3, f.a.Engine().Evaluate(time.UnixMilli(end+20_000)), "2 models x 3 value types")
	return end
}

// scrape gets /forecasts with the given Accept header ("" for none).
func (f *fixture) scrape(t *testing.T, accept string) *httptest.ResponseRecorder {
	t.Helper()
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	rec := f.do(t, http.MethodGet, "/forecasts", nil, h)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec
}

// parseText parses a body in the text exposition format.
func parseText(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, body)
	return mfs
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// byModel returns the gauge values of family mf per model and value type.
func byModel(t *testing.T, mf *dto.MetricFamily) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for _, m := range mf.GetMetric() {
		ls := labelMap(m)
		require.Nil(t, m.TimestampMs, "a scrape stamps the values itself")
		require.NotNil(t, m.GetGauge(), "%s is not a gauge", mf.GetName())
		// The original labels and the external ones are kept.
		require.Equal(t, "app", ls["job"], ls)
		require.Equal(t, "a", ls["instance"], ls)
		require.Equal(t, "test", ls["cluster"], ls)
		if out[ls["model"]] == nil {
			out[ls["model"]] = map[string]float64{}
		}
		_, dup := out[ls["model"]][ls["value_type"]]
		require.False(t, dup, "duplicate series %v", ls)
		out[ls["model"]][ls["value_type"]] = m.GetGauge().GetValue()
	}
	return out
}

func TestForecastsPage(t *testing.T) {
	f := applied(t, baseConfig, Options{})

	t.Run("empty before any evaluation", func(t *testing.T) {
		rec := f.scrape(t, "")
		require.Empty(t, parseText(t, rec.Body.String()))
	})

	end := f.fitted(t)

	t.Run("forecasts of the open cell", func(t *testing.T) {
		rec := f.scrape(t, "")
		format := expfmt.ResponseFormat(rec.Header())
		require.Equal(t, expfmt.TypeTextPlain, format.FormatType(), rec.Header().Get("Content-Type"))

		mfs := parseText(t, rec.Body.String())
		require.Len(t, mfs, 1, "only forecasts: nothing has been scored yet")
		mf := mfs["sine_forecast"]
		require.NotNil(t, mf)
		require.Equal(t, dto.MetricType_GAUGE, mf.GetType())
		require.NotEmpty(t, mf.GetHelp())
		got := byModel(t, mf)
		require.Len(t, got, 2)
		for _, m := range []string{"fourier", "seasonal_naive"} {
			require.Len(t, got[m], 3, m)
			require.InDelta(t, sine(end), got[m]["yhat"], 2, m)
			require.LessOrEqual(t, got[m]["yhat_lower"], got[m]["yhat"], m)
			require.GreaterOrEqual(t, got[m]["yhat_upper"], got[m]["yhat"], m)
		}
	})

	// One step later: the cell end is scored against its forecast.
	f.feed(t, sineSeries, end, end+time.Minute.Milliseconds())
	next := end + time.Minute.Milliseconds()
	require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(next+20_000)))

	t.Run("forecasts and anomaly values", func(t *testing.T) {
		mfs := parseText(t, f.scrape(t, "").Body.String())
		require.ElementsMatch(t, []string{"sine_forecast", "sine_anomaly_score", "sine_anomaly"}, keys(mfs))
		for m, vs := range byModel(t, mfs["sine_forecast"]) {
			require.InDelta(t, sine(next), vs["yhat"], 2, m)
		}
		for _, name := range []string{"sine_anomaly_score", "sine_anomaly"} {
			mf := mfs[name]
			require.Equal(t, dto.MetricType_GAUGE, mf.GetType(), name)
			got := byModel(t, mf)
			require.Len(t, got, 2, name)
			for m, vs := range got {
				require.Equal(t, []string{""}, keys(vs), "%s %s has no value_type", name, m)
				if name == "sine_anomaly" {
					require.Zero(t, vs[""], "a clean sine is no anomaly")
				} else {
					require.Less(t, vs[""], 1.0, "a clean sine is within the band")
				}
			}
		}
	})

	t.Run("OpenMetrics on request", func(t *testing.T) {
		rec := f.scrape(t, "application/openmetrics-text;version=1.0.0")
		format := expfmt.ResponseFormat(rec.Header())
		require.Equal(t, expfmt.TypeOpenMetrics, format.FormatType(), rec.Header().Get("Content-Type"))
		body := rec.Body.String()
		require.Contains(t, body, "# TYPE sine_forecast gauge\n")
		require.Contains(t, body, `sine_forecast{cluster="test",instance="a",job="app",model="fourier",value_type="yhat"} `)
		require.True(t, strings.HasSuffix(body, "# EOF\n"), body)
	})

	t.Run("stale series leave the page", func(t *testing.T) {
		// No sample for longer than staleness (5m): the outputs get stale
		// markers, which the page does not show.
		later := next + 6*time.Minute.Milliseconds() + 20_000
		require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(later)))
		rec := f.scrape(t, "")
		require.Empty(t, parseText(t, rec.Body.String()), rec.Body.String())
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// target is a remote-write endpoint that records what it receives.
type target struct {
	srv *httptest.Server

	mu         sync.Mutex
	headers    []http.Header
	series     []prompb.TimeSeries
	perRequest [][]prompb.TimeSeries // the series of each request, as headers
	errs       []error
}

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := tg.record(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) record(r *http.Request) (err error) {
	defer func() {
		if err != nil {
			tg.mu.Lock()
			tg.errs = append(tg.errs, err)
			tg.mu.Unlock()
		}
	}()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/write" {
		return fmt.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return err
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return err
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.headers = append(tg.headers, r.Header.Clone())
	tg.series = append(tg.series, req.Timeseries...)
	tg.perRequest = append(tg.perRequest, req.Timeseries)
	return nil
}

func (tg *target) received() ([]http.Header, []prompb.TimeSeries, []error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.headers), slices.Clone(tg.series), slices.Clone(tg.errs)
}

// withTarget is baseConfig writing back to url.
func withTarget(url string) string {
	return baseConfig + fmt.Sprintf(`
remote_write:
  - url: %s/api/v1/write
    name: test-target
    queue_config: {batch_send_deadline: 100ms}
`, url)
}

func TestWriteBack(t *testing.T) {
	tg := newTarget(t)
	end := t0 + 3*time.Hour.Milliseconds()
	evalAt := end + 20_000
	// The queues refuse samples stamped after their clock: give them the
	// engine's.
	f := applied(t, withTarget(tg.srv.URL), Options{
		UserAgent: "train-prometheus/test",
		Now:       func() time.Time { return time.UnixMilli(evalAt) },
	})
	require.Equal(t, end, f.fitted(t))
	f.a.Stop() // flushes the queues
	f.a.Stop() // idempotent

	headers, series, errs := tg.received()
	require.Empty(t, errs)
	require.NotEmpty(t, headers)
	for _, h := range headers {
		require.Equal(t, "snappy", h.Get("Content-Encoding"))
		require.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
		require.Equal(t, "0.1.0", h.Get("X-Prometheus-Remote-Write-Version"))
		require.Equal(t, "train-prometheus/test", h.Get("User-Agent"))
	}

	got := map[string]float64{}
	for _, ts := range series {
		ls := map[string]string{}
		for _, l := range ts.Labels {
			ls[l.Name] = l.Value
		}
		require.Equal(t, "sine_forecast", ls["__name__"], ls)
		require.Equal(t, "app", ls["job"], ls)
		require.Equal(t, "a", ls["instance"], ls)
		require.Equal(t, "test", ls["cluster"], ls)
		require.Len(t, ts.Samples, 1, ls)
		require.Equal(t, end, ts.Samples[0].Timestamp, "stamped with the open cell")
		key := ls["model"] + "/" + ls["value_type"]
		_, dup := got[key]
		require.False(t, dup, "series %v received twice", ls)
		got[key] = ts.Samples[0].Value
	}
	require.ElementsMatch(t, []string{
		"fourier/yhat", "fourier/yhat_lower", "fourier/yhat_upper",
		"seasonal_naive/yhat", "seasonal_naive/yhat_lower", "seasonal_naive/yhat_upper",
	}, keys(got))
	for _, m := range []string{"fourier", "seasonal_naive"} {
		require.InDelta(t, sine(end), got[m+"/yhat"], 2, m)
	}

	// The page shows the same values as were written back.
	page := byModel(t, parseText(t, f.scrape(t, "").Body.String())["sine_forecast"])
	for k, v := range got {
		m, vt, _ := strings.Cut(k, "/")
		require.Equal(t, v, page[m][vt], k)
	}

	// A stopped adapter cannot take a new configuration.
	f.src.set(otherConfig, nil)
	require.Error(t, f.a.Reload())
	require.Zero(t, f.gauge(t, reloadOK))
}

func TestMetricsEndpoint(t *testing.T) {
	tg := newTarget(t)
	end := t0 + 3*time.Hour.Milliseconds()
	f := applied(t, withTarget(tg.srv.URL), Options{Now: func() time.Time { return time.UnixMilli(end + 20_000) }})

	// Traffic through every part: a write, a fit, an evaluation, a failed
	// and a successful reload, a page.
	ts := time.Now().UnixMilli()
	body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: promLabels("__name__", "sine", "job", "live"), Samples: []prompb.Sample{{Timestamp: ts, Value: 1}}},
		{Labels: promLabels("__name__", "other"), Samples: []prompb.Sample{{Timestamp: ts, Value: 1}}},
	}})
	require.Equal(t, http.StatusNoContent, f.do(t, http.MethodPost, "/api/v1/write", body, writeHeader()).Code)
	f.fitted(t)
	f.scrape(t, "")
	f.src.set("", fmt.Errorf("boom"))
	require.Equal(t, http.StatusInternalServerError, f.do(t, http.MethodPost, "/-/reload", nil, nil).Code)
	f.src.set(withTarget(tg.srv.URL), nil)
	require.Equal(t, http.StatusOK, f.do(t, http.MethodPost, "/-/reload", nil, nil).Code)

	rec := f.do(t, http.MethodGet, "/metrics", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	mfs := parseText(t, rec.Body.String())
	for name, want := range map[string]float64{
		reloadOK: 1,
		"train_prometheus_received_samples_total": 1,
		"train_prometheus_ring_series":            2,
	} {
		mf := mfs[name]
		require.NotNil(t, mf, "%s not served", name)
		require.Len(t, mf.GetMetric(), 1, name)
		m := mf.GetMetric()[0]
		require.Equal(t, want, m.GetGauge().GetValue()+m.GetCounter().GetValue(), name)
	}
	dropped := map[string]float64{}
	for _, m := range mfs["train_prometheus_dropped_samples_total"].GetMetric() {
		dropped[labelMap(m)["reason"]] = m.GetCounter().GetValue()
	}
	require.Equal(t, 1.0, dropped["unselected"], dropped)

	// GET only.
	require.Equal(t, http.StatusMethodNotAllowed, f.do(t, http.MethodPost, "/metrics", nil, nil).Code)

	problems, err := testutil.GatherAndLint(f.reg)
	require.NoError(t, err)
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestForecastsPageGroupsAndEscapes checks that the page stays valid with
// several families whose label sets sort before __name__ (upper-case label
// names) and label values that need escaping.
func TestForecastsPageGroupsAndEscapes(t *testing.T) {
	f := applied(t, `
global: {step: 1m, window: 1d, min_history: 2h, evaluation_delay: 10s}
forecasts: [{name: all, match: ['{__name__=~"a|b"}'], models: [seasonal_naive]}]
`, Options{})
	series := []labels.Labels{
		labels.FromStrings("__name__", "a", "Zone", "x"),
		labels.FromStrings("__name__", "b", "Zone", "w"),
		labels.FromStrings("__name__", "a", "Zone", "y", "note", "say \"hi\"\\\nbye"),
		labels.FromStrings("__name__", "b", "Zone", "z"),
	}
	end := t0 + 3*time.Hour.Milliseconds()
	for _, ls := range series {
		f.feed(t, ls, t0, end)
	}
	require.Equal(t, 4, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Equal(t, 4*3, f.a.Engine().Evaluate(time.UnixMilli(end+20_000)))

	for _, accept := range []string{"", "application/openmetrics-text;version=1.0.0"} {
		body := f.scrape(t, accept).Body.String()
		// Each family's header appears once, and its lines follow it.
		require.Equal(t, 1, strings.Count(body, "# TYPE a_forecast gauge\n"), body)
		require.Equal(t, 1, strings.Count(body, "# TYPE b_forecast gauge\n"), body)
		if accept != "" {
			require.True(t, strings.HasSuffix(body, "# EOF\n"))
			continue
		}
		families := parseText(t, body)
		require.Len(t, families["a_forecast"].GetMetric(), 2*3)
		require.Len(t, families["b_forecast"].GetMetric(), 2*3)
		notes := map[string]bool{}
		for _, m := range families["a_forecast"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "note" {
					notes[l.GetValue()] = true
				}
			}
		}
		require.Equal(t, map[string]bool{"say \"hi\"\\\nbye": true}, notes, "escaped and parsed back")
	}
}

// BenchmarkForecastsPage renders /forecasts for 10k series (16 samples each:
// 2 models, 2 horizons).
func BenchmarkForecastsPage(b *testing.B) {
	src := &source{yaml: `
global: {step: 1m, window: 3h, min_history: 2h, evaluation_delay: 10s, horizons: [0s, 30m]}
forecasts: [{name: s, match: ['sine'], models: [fourier, seasonal_naive], seasonal_period: 1h}]
`}
	a := New(nil, prometheus.NewRegistry(), Options{LoadConfig: src.load})
	b.Cleanup(a.Stop)
	require.NoError(b, a.Reload())
	const n = 10_000
	end := t0 + 3*time.Hour.Milliseconds()
	for i := range n {
		ls := labels.FromStrings("__name__", "sine", "instance", fmt.Sprintf("host-%d:9100", i), "job", "node")
		opts, ok := a.Engine().Route(ls)
		require.True(b, ok)
		ser, _, err := a.Store().GetOrCreate(ls, opts)
		require.NoError(b, err)
		for ts := t0; ts < end; ts += time.Minute.Milliseconds() {
			require.NoError(b, ser.Append(ts, sine(ts)))
		}
	}
	// Fitted once the last cell is closed (evaluation_delay 10s), so that
	// the evaluation only forecasts.
	require.Equal(b, n, a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Equal(b, n*12, a.Engine().Evaluate(time.UnixMilli(end+20_000)))
	h := a.Handler(prometheus.NewRegistry())
	req := httptest.NewRequest(http.MethodGet, "/forecasts", nil)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
