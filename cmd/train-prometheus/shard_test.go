package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// shardConfig forecasts shard_series after 10s of history, on a 1s grid.
const shardConfig = `
global:
  step: 1s
  window: 5m
  retrain_interval: 10s
  min_history: 10s
  evaluation_delay: 200ms
  models: [seasonal_naive]
forecasts:
  - name: sharded
    match: ['shard_series']
`

// startReplicas starts total adapters with shardConfig, replica i with
// --shard.index=i --shard.total=total --shard.by=by, and returns their URLs.
func startReplicas(t *testing.T, total int, by string) []string {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "tp.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(shardConfig), 0o600))
	urls := make([]string, total)
	for i := range urls {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		urls[i] = startAdapterFlags(t, addr, cfgFile, func(f *flags) {
			f.shardIndex, f.shardTotal, f.shardBy = i, total, by
		})
	}
	return urls
}

// forecastOwners returns, per value of label s, the replicas whose
// /forecasts page holds a shard_series_forecast series for it.
func forecastOwners(t *testing.T, urls []string) map[string][]int {
	t.Helper()
	owners := map[string][]int{}
	for i, u := range urls {
		resp, err := http.Get(u + "/forecasts")
		require.NoError(t, err)
		p := expfmt.NewTextParser(model.UTF8Validation)
		families, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, m := range families["shard_series_forecast"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "s" && !seen[l.GetValue()] {
					seen[l.GetValue()] = true
					owners[l.GetValue()] = append(owners[l.GetValue()], i)
				}
			}
		}
	}
	return owners
}

// TestShardedReplicas sends the same stream to three replicas: each keeps
// its own shard, so every series is forecast by exactly one replica, and
// the others count its samples as not_owned.
func TestShardedReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three adapters")
	}
	const replicas, nSeries, nSamples = 3, 30, 20
	urls := startReplicas(t, replicas, "")

	now := time.Now().Truncate(time.Second)
	req := &prompb.WriteRequest{}
	for s := range nSeries {
		ts := prompb.TimeSeries{Labels: []prompb.Label{
			{Name: "__name__", Value: "shard_series"}, {Name: "job", Value: "shard"}, {Name: "s", Value: fmt.Sprint(s)},
		}}
		for k := nSamples; k > 0; k-- {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: now.Add(-time.Duration(k) * time.Second).UnixMilli(), Value: float64(k % 4)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	body := snappy.Encode(nil, raw)
	hdr := http.Header{"Content-Encoding": {"snappy"}, "Content-Type": {"application/x-protobuf"}}
	for _, u := range urls {
		code, msg := post(t, u+"/api/v1/write", hdr, body)
		require.Equal(t, http.StatusNoContent, code, msg)
	}

	waitFor(t, 20*time.Second, "every series forecast", func() bool {
		return len(forecastOwners(t, urls)) == nSeries
	})
	owners := forecastOwners(t, urls)
	perReplica := make([]int, replicas)
	for s, o := range owners {
		require.Len(t, o, 1, "series s=%s forecast by replicas %v", s, o)
		perReplica[o[0]]++
	}
	t.Logf("series per replica: %v", perReplica)
	for i, u := range urls {
		require.Positive(t, perReplica[i], "replica %d owns nothing", i)
		kept := adapterMetric(t, u, "train_prometheus_received_samples_total", nil)
		notOwned := adapterMetric(t, u, "train_prometheus_dropped_samples_total", map[string]string{"reason": "not_owned"})
		require.Equal(t, float64(perReplica[i]*nSamples), kept, "replica %d", i)
		require.Equal(t, float64((nSeries-perReplica[i])*nSamples), notOwned, "replica %d", i)
		require.Equal(t, float64(perReplica[i]), adapterMetric(t, u, "train_prometheus_ring_series", nil), "replica %d", i)
	}
}

// newGaugeTarget serves n gauges shard_series{s="0".."n-1"} that cycle
// through four values.
func newGaugeTarget(n int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		v := time.Now().Unix() % 4
		fmt.Fprintln(w, "# TYPE shard_series gauge")
		for s := range n {
			fmt.Fprintf(w, "shard_series{s=\"%d\"} %d\n", s, v)
		}
	}))
}

// TestShardedReplicasHashmod has a real Prometheus route each series to its
// owner with hashmod relabeling, one remote_write per replica: no replica
// receives a series it does not own, each series is forecast once, and the
// forecasts of all replicas land in that Prometheus.
func TestShardedReplicasHashmod(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and three adapters")
	}
	const replicas, nSeries = 3, 12
	target := newGaugeTarget(nSeries)
	defer target.Close()

	addrs := make([]string, replicas)
	var rw strings.Builder
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		fmt.Fprintf(&rw, `
  - url: http://%s/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
    write_relabel_configs:
      - {source_labels: [job, s], modulus: %d, target_label: __tmp_shard, action: hashmod}
      - {source_labels: [__tmp_shard], regex: '%d', action: keep}
      - {regex: __tmp_shard, action: labeldrop}
`, addrs[i], replicas, i)
	}
	prom := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: shard
    static_configs: [{targets: ['%s']}]
remote_write:%s`, strings.TrimPrefix(target.URL, "http://"), rw.String()))

	// All replicas write their forecasts back into the same Prometheus.
	cfgFile := filepath.Join(t.TempDir(), "tp.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(shardConfig+fmt.Sprintf(`
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 1s}
`, prom.URL)), 0o600))
	urls := make([]string, replicas)
	for i := range urls {
		urls[i] = startAdapterFlags(t, addrs[i], cfgFile, func(f *flags) {
			f.shardIndex, f.shardTotal, f.shardBy = i, replicas, "job,s"
		})
	}
	waitFor(t, 60*time.Second, "every series forecast", func() bool {
		return len(forecastOwners(t, urls)) == nSeries
	})
	for s, o := range forecastOwners(t, urls) {
		require.Len(t, o, 1, "series s=%s forecast by replicas %v", s, o)
	}
	// In Prometheus: one yhat series per input series, none written twice.
	q := `count by (s) (shard_series_forecast{value_type="yhat"})`
	waitFor(t, 30*time.Second, "every series' forecast in Prometheus", func() bool {
		return len(prom.query(t, q, time.Now())) == nSeries
	})
	for _, v := range prom.query(t, q, time.Now()) {
		require.Equal(t, 1.0, float64(v.Value), "series s=%s", v.Metric["s"])
	}
	for i, u := range urls {
		require.Positive(t, adapterMetric(t, u, "train_prometheus_received_samples_total", nil), "replica %d", i)
		require.Zero(t, adapterMetric(t, u, "train_prometheus_dropped_samples_total", map[string]string{"reason": "not_owned"}),
			"replica %d received a series hashmod did not route to it", i)
	}
}

// TestShardFromHostname derives the shard index from a StatefulSet pod name.
func TestShardFromHostname(t *testing.T) {
	t.Setenv("HOSTNAME", "train-prometheus-2")
	sh, err := newShard(flags{shardIndex: -1, shardTotal: 3, shardBy: "job"})
	require.NoError(t, err)
	require.Equal(t, uint64(2), sh.Index)
	require.Equal(t, []string{"job"}, sh.By)
	_, err = newShard(flags{shardIndex: -1, shardTotal: 2})
	require.ErrorContains(t, err, "out of range")
}
