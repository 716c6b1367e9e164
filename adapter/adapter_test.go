package adapter

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// baseConfig models the series named sine with both models on a 1m grid.
const baseConfig = `
global:
  step: 1m
  window: 1d
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
  external_labels: {cluster: test}
forecasts:
  - name: sine
    match: ['sine']
    models: [fourier, seasonal_naive]
`

// otherConfig differs from baseConfig: it models the series named cosine
// instead.
const otherConfig = `
global:
  step: 1m
  window: 1d
  min_history: 2h
forecasts:
  - name: cosine
    match: ['cosine']
    models: [seasonal_naive]
`

// source is what Options.LoadConfig reads: YAML text, or an error.
type source struct {
	mu    sync.Mutex
	yaml  string
	err   error
	calls int
}

func (s *source) set(yaml string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.yaml, s.err = yaml, err
}

func (s *source) load() (*config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return config.Load(s.yaml)
}

func (s *source) loads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// fixture is an adapter, its registry and its routes. Its configuration
// source starts as cfgYAML; nothing is applied yet.
type fixture struct {
	a   *Adapter
	reg *prometheus.Registry
	h   http.Handler
	src *source
}

func newFixture(t *testing.T, cfgYAML string, opts Options) *fixture {
	t.Helper()
	f := &fixture{reg: prometheus.NewPedanticRegistry(), src: &source{yaml: cfgYAML}}
	if opts.LoadConfig == nil {
		opts.LoadConfig = f.src.load
	}
	opts.EnableLifecycle = true // the tests reload through /-/reload
	f.a = New(nil, f.reg, opts)
	t.Cleanup(f.a.Stop)
	f.h = f.a.Handler(f.reg)
	return f
}

// applied returns a fixture with cfgYAML applied through Reload, so that the
// reload gauges describe it.
func applied(t *testing.T, cfgYAML string, opts Options) *fixture {
	t.Helper()
	f := newFixture(t, cfgYAML, opts)
	require.NoError(t, f.a.Reload())
	require.NotNil(t, f.a.Config())
	return f
}

// do serves one request and returns the recorded response.
func (f *fixture) do(t *testing.T, method, target string, body []byte, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// gauge returns the value of the unlabelled gauge name in the registry.
func (f *fixture) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1, name)
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

const (
	reloadOK   = "train_prometheus_config_last_reload_successful"
	reloadOKTS = "train_prometheus_config_last_reload_success_timestamp_seconds"
)

func TestHealthAndReadiness(t *testing.T) {
	f := newFixture(t, baseConfig, Options{})

	for _, tc := range []struct {
		name, path string
		apply      bool
		want       int
		body       string
	}{
		{name: "healthy before configuration", path: "/-/healthy", want: http.StatusOK, body: "Healthy"},
		{name: "not ready before configuration", path: "/-/ready", want: http.StatusServiceUnavailable, body: "not ready"},
		{name: "ready once configured", path: "/-/ready", apply: true, want: http.StatusOK, body: "is Ready"},
		{name: "healthy once configured", path: "/-/healthy", want: http.StatusOK, body: "Healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.apply {
				cfg, err := config.Load(baseConfig)
				require.NoError(t, err)
				require.NoError(t, f.a.ApplyConfig(cfg))
				require.Same(t, cfg, f.a.Config())
			}
			rec := f.do(t, http.MethodGet, tc.path, nil, nil)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.body)
		})
	}
}

func TestReload(t *testing.T) {
	errLoad := errors.New("parse config file /etc/tp.yml: yaml: line 3: did not find expected key")

	for _, tc := range []struct {
		name   string
		method string
		// prepare runs after baseConfig was applied through Reload.
		prepare func(t *testing.T, f *fixture)
		want    int
		body    string
		// changed: the configuration in force is a new one, equal to otherConfig.
		changed   bool
		wantGauge float64
		wantLoads int // LoadConfig calls, the initial one included
	}{
		{
			name: "GET is not allowed", method: http.MethodGet,
			prepare: func(*testing.T, *fixture) {},
			want:    http.StatusMethodNotAllowed, body: "Only POST or PUT requests allowed",
			wantGauge: 1, wantLoads: 1,
		},
		{
			name: "DELETE is not allowed", method: http.MethodDelete,
			prepare: func(*testing.T, *fixture) {},
			want:    http.StatusMethodNotAllowed, body: "Only POST or PUT requests allowed",
			wantGauge: 1, wantLoads: 1,
		},
		{
			name: "POST applies a changed configuration", method: http.MethodPost,
			prepare: func(_ *testing.T, f *fixture) { f.src.set(otherConfig, nil) },
			want:    http.StatusOK, body: "Configuration reloaded",
			changed: true, wantGauge: 1, wantLoads: 2,
		},
		{
			name: "PUT applies a changed configuration", method: http.MethodPut,
			prepare: func(_ *testing.T, f *fixture) { f.src.set(otherConfig, nil) },
			want:    http.StatusOK, body: "Configuration reloaded",
			changed: true, wantGauge: 1, wantLoads: 2,
		},
		{
			name: "a source that fails keeps the configuration", method: http.MethodPost,
			prepare: func(_ *testing.T, f *fixture) { f.src.set("", errLoad) },
			want:    http.StatusInternalServerError, body: "failed to reload config: " + errLoad.Error(),
			wantGauge: 0, wantLoads: 2,
		},
		{
			name: "an invalid file keeps the configuration", method: http.MethodPost,
			prepare: func(_ *testing.T, f *fixture) { f.src.set("global:\n  step: -1m\n", nil) },
			want:    http.StatusInternalServerError, body: "failed to reload config: ",
			wantGauge: 0, wantLoads: 2,
		},
		{
			name: "unknown keys are refused", method: http.MethodPost,
			prepare: func(_ *testing.T, f *fixture) { f.src.set(baseConfig+"bogus: 1\n", nil) },
			want:    http.StatusInternalServerError, body: "bogus",
			wantGauge: 0, wantLoads: 2,
		},
		{
			name: "the same file again is a success that changes nothing", method: http.MethodPost,
			prepare: func(t *testing.T, f *fixture) {
				// A failed attempt first, so that the gauge has to go back to 1.
				f.src.set("", errLoad)
				require.Error(t, f.a.Reload())
				require.Zero(t, f.gauge(t, reloadOK))
				f.src.set(baseConfig, nil)
			},
			want: http.StatusOK, body: "Configuration reloaded",
			wantGauge: 1, wantLoads: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := applied(t, baseConfig, Options{})
			require.Equal(t, 1.0, f.gauge(t, reloadOK))
			require.Positive(t, f.gauge(t, reloadOKTS))
			before := f.a.Config()
			tc.prepare(t, f)

			rec := f.do(t, tc.method, "/-/reload", nil, nil)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.body)
			if tc.want == http.StatusMethodNotAllowed {
				require.Equal(t, "POST, PUT", rec.Header().Get("Allow"))
			}
			require.Equal(t, tc.wantGauge, f.gauge(t, reloadOK))
			require.Equal(t, tc.wantLoads, f.src.loads())

			if tc.changed {
				want, err := config.Load(otherConfig)
				require.NoError(t, err)
				require.NotSame(t, before, f.a.Config())
				require.Equal(t, want.Hash(), f.a.Config().Hash())
				// The engine runs with it: cosine is modelled, sine no longer.
				_, ok := f.a.Engine().Route(labels.FromStrings("__name__", "cosine"))
				require.True(t, ok)
				_, ok = f.a.Engine().Route(labels.FromStrings("__name__", "sine"))
				require.False(t, ok)
				return
			}
			require.Same(t, before, f.a.Config(), "the configuration in force must be kept")
			_, ok := f.a.Engine().Route(labels.FromStrings("__name__", "sine"))
			require.True(t, ok, "the engine must keep the old configuration")
			// Still serving.
			require.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/-/ready", nil, nil).Code)
		})
	}
}

func TestReloadWithoutSource(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a := New(nil, reg, Options{EnableLifecycle: true}) // no LoadConfig
	t.Cleanup(a.Stop)
	f := &fixture{a: a, reg: reg, h: a.Handler(reg)}

	rec := f.do(t, http.MethodPost, "/-/reload", nil, nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "no configuration source")
	require.Nil(t, f.a.Config())
	require.Zero(t, f.gauge(t, reloadOK))
	require.Equal(t, http.StatusServiceUnavailable, f.do(t, http.MethodGet, "/-/ready", nil, nil).Code)
}

func TestFirstReloadFailureLeavesNotReady(t *testing.T) {
	f := newFixture(t, "", Options{})
	f.src.set("", errors.New("read config file: open /nonexistent.yml: no such file or directory"))

	rec := f.do(t, http.MethodPost, "/-/reload", nil, nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "no such file or directory")
	require.Nil(t, f.a.Config())
	require.Equal(t, http.StatusServiceUnavailable, f.do(t, http.MethodGet, "/-/ready", nil, nil).Code)

	// Once the file is fixed, a reload makes the adapter ready.
	f.src.set(baseConfig, nil)
	rec = f.do(t, http.MethodPost, "/-/reload", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NotNil(t, f.a.Config())
	require.Equal(t, 1.0, f.gauge(t, reloadOK))
	require.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/-/ready", nil, nil).Code)
}

// encodeWrite marshals req with gogo protobuf and snappy-encodes it, as a
// remote-write 1.0 sender does.
func encodeWrite(t *testing.T, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// writeHeader is what Prometheus sends with a remote-write 1.0 request.
func writeHeader() http.Header {
	h := http.Header{}
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	return h
}

// promLabels turns name/value pairs, given sorted by name, into prompb labels.
func promLabels(kv ...string) []prompb.Label {
	ls := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

func TestRemoteWriteReceiver(t *testing.T) {
	// The receiver bounds timestamps by the wall clock: use recent ones,
	// one step (1m) apart so that they land in different cells.
	ts := time.Now().Add(-time.Minute).UnixMilli()
	samples := []prompb.Sample{{Timestamp: ts - 60_000, Value: 1}, {Timestamp: ts, Value: 2}}
	const selectAll = `
forecasts:
  - name: sines
    match: ['{__name__=~"sine.*"}']
`

	for _, tc := range []struct {
		name   string
		cfg    string // "" = no configuration applied
		series []string
		stored bool
	}{
		{name: "selected series", cfg: baseConfig, series: []string{"__name__", "sine", "instance", "a", "job", "app"}, stored: true},
		{name: "unselected series", cfg: baseConfig, series: []string{"__name__", "other", "job", "app"}},
		{name: "series of the adapter's own output", cfg: selectAll, series: []string{"__name__", "sine_forecast", "model", "fourier", "value_type", "yhat"}},
		{name: "regex selector", cfg: selectAll, series: []string{"__name__", "sine_total"}, stored: true},
		{name: "before any configuration", series: []string{"__name__", "sine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *fixture
			if tc.cfg == "" {
				f = newFixture(t, "", Options{})
			} else {
				f = applied(t, tc.cfg, Options{})
			}
			body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				{Labels: promLabels(tc.series...), Samples: samples},
			}})
			rec := f.do(t, http.MethodPost, "/api/v1/write", body, writeHeader())
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())

			lset := labels.FromStrings(tc.series...)
			ser := f.a.Store().Get(lset)
			if !tc.stored {
				require.Nil(t, ser, "series %s must not be stored", lset)
				require.Zero(t, f.a.Store().Len())
				return
			}
			require.NotNil(t, ser, "series %s not stored", lset)
			require.Equal(t, 1, f.a.Store().Len())
			require.Equal(t, ts, ser.LastSampleTime())
			require.Equal(t, 2.0, ser.At(ts))
			require.Equal(t, 1.0, ser.At(ts-60_000))
		})
	}
}

func TestRemoteWriteReceiverErrors(t *testing.T) {
	f := applied(t, baseConfig, Options{})
	valid := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: promLabels("__name__", "sine"), Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 1}}},
	}})
	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		header http.Header
		want   int
	}{
		{name: "GET", method: http.MethodGet, header: writeHeader(), want: http.StatusMethodNotAllowed},
		{name: "not snappy", method: http.MethodPost, body: []byte("not snappy"), header: writeHeader(), want: http.StatusBadRequest},
		{name: "gzip", method: http.MethodPost, body: valid, header: http.Header{"Content-Encoding": {"gzip"}}, want: http.StatusUnsupportedMediaType},
		{name: "1.0 body as remote-write 2.0", method: http.MethodPost, body: valid, header: http.Header{
			"Content-Encoding": {"snappy"}, "Content-Type": {"application/x-protobuf;proto=io.prometheus.write.v2.Request"},
		}, want: http.StatusBadRequest},
		{name: "unknown protobuf message", method: http.MethodPost, body: valid, header: http.Header{
			"Content-Encoding": {"snappy"}, "Content-Type": {"application/x-protobuf;proto=io.prometheus.write.v3.Request"},
		}, want: http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(t, tc.method, "/api/v1/write", tc.body, tc.header)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			require.Zero(t, f.a.Store().Len())
		})
	}
}

func TestIndexPage(t *testing.T) {
	f := applied(t, baseConfig, Options{})

	for _, tc := range []struct {
		name   string
		series [][]string // written before the request
		path   string
		want   int
		body   []string
	}{
		{name: "no series", path: "/", want: http.StatusOK, body: []string{"<h1>train-prometheus</h1>", "<p>0 series buffered.</p>", `href="forecasts"`, "/api/v1/write"}},
		{name: "two series", series: [][]string{{"__name__", "sine", "job", "a"}, {"__name__", "sine", "job", "b"}, {"__name__", "other"}}, path: "/", want: http.StatusOK, body: []string{"<p>2 series buffered.</p>"}},
		{name: "unknown path", path: "/nope", want: http.StatusNotFound, body: []string{"404"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.series {
				body := encodeWrite(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
					{Labels: promLabels(s...), Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 1}}},
				}})
				require.Equal(t, http.StatusNoContent, f.do(t, http.MethodPost, "/api/v1/write", body, writeHeader()).Code)
			}
			rec := f.do(t, http.MethodGet, tc.path, nil, nil)
			require.Equal(t, tc.want, rec.Code)
			for _, want := range tc.body {
				require.Contains(t, rec.Body.String(), want)
			}
			if tc.want == http.StatusOK {
				require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html"), rec.Header().Get("Content-Type"))
			}
		})
	}
}
