package remoteread

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/output"
)

// fitted returns a fixture whose sine series is fitted at now.
func fitted(t *testing.T) *fixture {
	t.Helper()
	now := t0 + 4*60*minute
	f := newFixture(t, testConfig, now)
	f.feed(labels.FromStrings("__name__", "sine", "job", "app"), t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(t.Context(), f.clock()))
	return f
}

func TestServerForecastAhead(t *testing.T) {
	f := fitted(t)
	srv, ts := f.server(prometheus.NewPedanticRegistry())
	for _, rt := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS} {
		t.Run(rt.String(), func(t *testing.T) {
			// A range from an hour ago to three hours ahead: the answer
			// covers the grid from now to now + max_horizon (2h).
			q := query(f.now-60*minute, f.now+3*60*minute, eq("__name__", "sine_forecast"), eq("model", "fourier"))
			resp := post(t, ts.URL, &prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{rt}})
			require.Equal(t, http.StatusOK, resp.StatusCode)
			// Read the answer whole: closing it unread may cut the stream
			// short, and the server counts only answers it wrote whole.
			_, err := io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			resp.Body.Close()

			got, err := readAll(t, ts.URL, q)
			require.NoError(t, err)
			require.Len(t, got, 3, "yhat, yhat_lower, yhat_upper")
			for name, samples := range got {
				require.Contains(t, name, `__name__="sine_forecast"`)
				require.Contains(t, name, `cluster="test"`)
				require.NotContains(t, name, "horizon")
				require.Len(t, samples, 121, "%s: every minute from now to now+2h", name)
				require.Equal(t, f.now, samples[0].Timestamp)
				require.Equal(t, f.now+120*minute, samples[len(samples)-1].Timestamp)
				if strings.Contains(name, `value_type="yhat"`) {
					for _, s := range samples {
						require.InDelta(t, sine(s.Timestamp), s.Value, 2, "%s at %d", name, s.Timestamp)
					}
				}
			}
		})
	}
	// Counted once each answer is written, which may be just after the
	// client has read it.
	counts := func() [3]float64 {
		return [3]float64{testutil.ToFloat64(srv.requests.WithLabelValues("200")), testutil.ToFloat64(srv.served.WithLabelValues("samples")),
			testutil.ToFloat64(srv.served.WithLabelValues("streamed_xor_chunks"))}
	}
	want := [3]float64{4, 1 * 3 * 121, 3 * 3 * 121} // the client asks for streams
	deadline := time.Now().Add(30 * time.Second)
	for counts() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, want, counts(), "requests with 200, samples served as samples, as streamed chunks")
}

func TestServerAfterWriteBack(t *testing.T) {
	f := fitted(t)
	f.eng.Evaluate(f.clock().Add(20e9)) // writes the forecast for the open cell
	_, ts := f.server(nil)
	got, err := readAll(t, ts.URL, query(f.now-60*minute, f.now+10*minute, eq("__name__", "sine_forecast"), eq("value_type", "yhat")))
	require.NoError(t, err)
	require.Len(t, got, 2, "one yhat per model")
	for name, samples := range got {
		require.Equal(t, f.now+minute, samples[0].Timestamp, "%s: starts after what was written back", name)
		require.Len(t, samples, 10)
	}
}

func TestServerMatchersHintsAndRaw(t *testing.T) {
	f := fitted(t)
	f.cfg.RemoteReadServer.ServeRaw = true
	_, ts := f.server(nil)
	for _, tc := range []struct {
		name   string
		q      *prompb.Query
		series int
		each   int // samples per series; -1: not checked
	}{
		{"not equal", query(f.now, f.now+10*minute, eq("__name__", "sine_forecast"), &prompb.LabelMatcher{Type: prompb.LabelMatcher_NEQ, Name: "value_type", Value: "yhat"}), 4, 11},
		{"regexp", query(f.now, f.now+10*minute, &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: "__name__", Value: "sine_.*"}, &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: "model", Value: "four.*"}), 3, 11},
		{"not regexp", query(f.now, f.now+10*minute, eq("__name__", "sine_forecast"), &prompb.LabelMatcher{Type: prompb.LabelMatcher_NRE, Name: "model", Value: "four.*"}), 3, 11},
		{"no match", query(f.now, f.now+10*minute, eq("__name__", "nothing")), 0, -1},
		{"raw buffered series", query(f.now-10*minute, f.now+10*minute, eq("__name__", "sine")), 1, 10},
		{"range in the past", query(f.now-60*minute, f.now-30*minute, eq("__name__", "sine_forecast")), 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, ts.URL, tc.q)
			require.NoError(t, err)
			require.Len(t, got, tc.series)
			for name, samples := range got {
				if tc.each >= 0 {
					require.Len(t, samples, tc.each, name)
				}
			}
		})
	}

	// Hints of a series() call: labels only. The client sees no samples, so
	// check the SAMPLES body instead.
	q := query(f.now, f.now+10*minute, eq("__name__", "sine_forecast"))
	q.Hints = &prompb.ReadHints{Func: "series"}
	resp := post(t, ts.URL, &prompb.ReadRequest{Queries: []*prompb.Query{q}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var res prompb.ReadResponse
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(raw, &res))
	require.Len(t, res.Results, 1)
	require.Len(t, res.Results[0].Timeseries, 6, "the labels of every matching series")
	for _, tsr := range res.Results[0].Timeseries {
		require.Empty(t, tsr.Samples)
	}

	// A range with no forecast in it returns no series at all.
	resp = post(t, ts.URL, &prompb.ReadRequest{Queries: []*prompb.Query{query(f.now-60*minute, f.now-30*minute, eq("__name__", "sine_forecast"))}})
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	raw, err = snappy.Decode(nil, body)
	require.NoError(t, err)
	res.Reset()
	require.NoError(t, proto.Unmarshal(raw, &res))
	require.Empty(t, res.Results[0].Timeseries)
}

func TestServerErrors(t *testing.T) {
	f := fitted(t)
	f.cfg.RemoteReadServer.MaxSeries = 4
	f.cfg.RemoteReadServer.MaxSamples = 100
	_, ts := f.server(nil)
	sine := eq("__name__", "sine_forecast")
	for _, tc := range []struct {
		name   string
		req    *prompb.ReadRequest
		status int
		msg    string
	}{
		{"bad regexp", &prompb.ReadRequest{Queries: []*prompb.Query{query(0, 1, &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: "a", Value: "("})}}, 400, "query 0: matcher a=~\"(\""},
		{"unknown matcher type", &prompb.ReadRequest{Queries: []*prompb.Query{query(0, 1, &prompb.LabelMatcher{Type: 7, Name: "a"})}}, 400, "unknown matcher type 7"},
		{"no matchers", &prompb.ReadRequest{Queries: []*prompb.Query{query(0, 1)}}, 400, "at least one matcher"},
		{"start after end", &prompb.ReadRequest{Queries: []*prompb.Query{query(2, 1, sine)}}, 400, "start 2 after end 1"},
		{"unsupported response type", &prompb.ReadRequest{Queries: []*prompb.Query{query(0, 1, sine)}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{5}}, 400, "is supported"},
		{"too many series", &prompb.ReadRequest{Queries: []*prompb.Query{query(f.now, f.now, sine)}}, 413, "remote_read_server.max_series 4"},
		{"too many samples", &prompb.ReadRequest{Queries: []*prompb.Query{query(f.now, f.now+60*minute, sine, eq("model", "fourier"))}}, 413, "remote_read_server.max_samples 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, ts.URL, tc.req)
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			require.Contains(t, string(body), tc.msg)
		})
	}

	for _, tc := range []struct {
		name, method, body string
		status             int
		msg                string
	}{
		{"GET", http.MethodGet, "", 405, "requires POST"},
		{"not snappy", http.MethodPost, "\xff\xff\xff\xff\xff", 400, "decode snappy"},
		{"not a request", http.MethodPost, string(snappyOf([]byte{0x0a, 0xff})), 400, "unmarshal read request"},
		{"too large", http.MethodPost, strings.Repeat("x", 33<<20), 413, "limits.max_request_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL, strings.NewReader(tc.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			require.Contains(t, string(body), tc.msg)
		})
	}
}

func TestEncodeChunksRoundTrip(t *testing.T) {
	f := fitted(t)
	var fc []*series
	f.eng.Forecasts(nil, func(x output.Forecast) bool {
		fc = append(fc, &series{fit: x, vt: 0, from: f.now, to: f.now + 300*minute})
		return true
	})
	require.NotEmpty(t, fc)
	chunks, n := encodeChunks(fc[0])
	require.Equal(t, 301, n)
	require.Len(t, chunks, 3, "120 samples per chunk")
	var got []float64
	for _, c := range chunks {
		require.LessOrEqual(t, c.MinTimeMs, c.MaxTimeMs)
		require.NoError(t, iterate(c.Data, func(_ int64, v float64) { got = append(got, v) }))
	}
	require.Len(t, got, 301)
	require.False(t, math.IsNaN(got[0]))
}
