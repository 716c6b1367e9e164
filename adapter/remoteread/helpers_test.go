package remoteread

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const minute = int64(60000)

// t0 is a fixed start on the grid.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// sine is the known pattern: period one hour.
func sine(t int64) float64 {
	return 100 + 10*math.Sin(2*math.Pi*float64(t)/float64(time.Hour.Milliseconds()))
}

const testConfig = `
global:
  step: 1m
  window: 6h
  retrain_interval: 15m
  min_history: 2h
  evaluation_delay: 10s
  external_labels: {cluster: test}
forecasts:
  - name: sine
    match: ['{__name__="sine"}']
    models: [fourier, seasonal_naive]
  - name: summed
    match: ['{__name__="summed"}']
    aggregate: sum
    models: [seasonal_naive]
remote_read_server:
  max_horizon: 2h
`

// fixture is a real store and engine with the test configuration.
type fixture struct {
	t     testing.TB
	cfg   *config.Config
	yaml  string
	store *ring.Store
	eng   *engine.Engine
	now   int64
}

func newFixture(t testing.TB, cfgYAML string, now int64) *fixture {
	t.Helper()
	cfg, err := config.Load(cfgYAML)
	require.NoError(t, err)
	f := &fixture{t: t, cfg: cfg, yaml: cfgYAML, store: ring.NewStore(1000, nil), now: now}
	f.eng = engine.New(nil, nil, f.store, nil, engine.Options{Workers: 1, Now: f.clock})
	require.NoError(t, f.eng.ApplyConfig(cfg))
	return f
}

func (f *fixture) clock() time.Time { return time.UnixMilli(f.now) }

// feed appends a sample every 15 s in [from, to).
func (f *fixture) feed(lset labels.Labels, from, to int64, fn func(int64) float64) *ring.Series {
	f.t.Helper()
	opts, ok := f.eng.Route(lset)
	require.True(f.t, ok, "series %s not routed", lset)
	ser, _, err := f.store.GetOrCreate(lset, opts)
	require.NoError(f.t, err)
	for ts := from; ts < to; ts += 15000 {
		require.NoError(f.t, ser.Append(ts, fn(ts)))
	}
	return ser
}

// server returns an HTTP server with the remote-read handler of f.
func (f *fixture) server(reg prometheus.Registerer) (*Server, *httptest.Server) {
	s := NewServer(nil, reg, f.store, f.eng, f.clock)
	require.NoError(f.t, s.ApplyConfig(f.cfg))
	ts := httptest.NewServer(s)
	f.t.Cleanup(ts.Close)
	return s, ts
}

// post sends req to url and returns the response.
func post(t *testing.T, url string, req *prompb.ReadRequest) *http.Response {
	t.Helper()
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func query(from, to int64, ms ...*prompb.LabelMatcher) *prompb.Query {
	return &prompb.Query{StartTimestampMs: from, EndTimestampMs: to, Matchers: ms}
}

func eq(name, value string) *prompb.LabelMatcher {
	return &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: name, Value: value}
}

// readAll reads queries through a Client against url and collects the
// samples per series.
func readAll(t *testing.T, url string, queries ...*prompb.Query) (map[string][]prompb.Sample, error) {
	t.Helper()
	rc := config.DefaultRemoteReadConfig
	rc.Name = "test"
	u, err := neturl.Parse(url)
	require.NoError(t, err)
	rc.URL = &commoncfg.URL{URL: u}
	c, err := NewClient(&rc, "test")
	require.NoError(t, err)
	got := map[string][]prompb.Sample{}
	err = c.Read(context.Background(), queries, func(_ int, lset labels.Labels, ts int64, v float64) error {
		got[lset.String()] = append(got[lset.String()], prompb.Sample{Timestamp: ts, Value: v})
		return nil
	})
	return got, err
}

func snappyOf(b []byte) []byte { return snappy.Encode(nil, b) }

// iterate decodes one XOR chunk.
func iterate(data []byte, f func(int64, float64)) error {
	c, err := chunkenc.FromData(chunkenc.EncXOR, data)
	if err != nil {
		return err
	}
	it := c.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		f(it.At())
	}
	return it.Err()
}

// loadWith loads a configuration, as the adapter does.
func loadWith(s string) (*config.Config, error) { return config.Load(s) }

// ringOpts are the options of a 1m grid over a day.
var ringOpts = ring.Options{Step: time.Minute, Window: 24 * time.Hour}

// benchFitted returns a fixture with n sine series fitted at now.
func benchFitted(b *testing.B, n int) *fixture {
	now := t0 + 4*60*minute
	f := newFixture(b, testConfig, now)
	for i := range n {
		f.feed(labels.FromStrings("__name__", "sine", "instance", strconv.Itoa(i)), t0, now, sine)
	}
	require.Equal(b, n, f.eng.RetrainDue(context.Background(), f.clock()))
	return f
}
