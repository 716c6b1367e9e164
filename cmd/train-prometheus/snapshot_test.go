package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
	"github.com/train-prometheus/train-prometheus/storage/snapshot"
)

// process is train-prometheus running as a child process.
type process struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *bytes.Buffer
	url    string
}

// startProcess runs the binary (the re-executed test binary) with args and
// waits until it is ready. It is killed when the test ends.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &process{done: make(chan error, 1), stderr: &bytes.Buffer{}, url: "http://" + addr}
	p.cmd = exec.Command(os.Args[0], append(args, "--web.listen-address="+addr, "--log.format=json")...)
	p.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		if t.Failed() {
			t.Logf("train-prometheus log:\n%s", p.stderr.String())
		}
	})
	waitReady(t, p.url)
	return p
}

// stop sends sig and waits for the exit.
func (p *process) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of %s", sig)
		return nil
	}
}

const (
	killSeries = 20
	killStep   = time.Second
)

// killValue is the value series i holds in cell k: slowly changing with
// repeats, as real gauges are, with a fraction so that it is no integer.
func killValue(i, k int) float64 { return float64(i*100+(k/7)%40) + 0.25 }

// pushCell remote-writes cell k of every series.
func pushCell(t *testing.T, client *http.Client, url string, base int64, k int) {
	t.Helper()
	req := &prompb.WriteRequest{}
	for i := range killSeries {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "kill_test"},
				{Name: "i", Value: fmt.Sprint(i)},
			},
			Samples: []prompb.Sample{{Timestamp: base + int64(k)*killStep.Milliseconds(), Value: killValue(i, k)}},
		})
	}
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	hreq, err := http.NewRequest(http.MethodPost, url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(hreq)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// readNewestSnapshot restores the newest intact snapshot in dir into a
// fresh store.
func readNewestSnapshot(t *testing.T, dir string) (snapshot.Info, map[string]ring.SeriesState) {
	t.Helper()
	b, err := snapshot.NewLocal(dir)
	require.NoError(t, err)
	store := ring.NewStore(0, nil)
	m := snapshot.NewManager(nil, nil, store, snapshot.Hooks{}, snapshot.Options{})
	m.SetBackend(b, 0)
	info, err := m.Restore(context.Background())
	require.NoError(t, err)
	out := map[string]ring.SeriesState{}
	store.Range(func(s *ring.Series) bool {
		out[s.Labels().Get("i")] = s.Export(nil)
		return true
	})
	return info, out
}

// TestProcessSnapshotsSurviveSIGKILL runs the binary, pushes samples while
// it snapshots every 150ms, and kills it with SIGKILL at random points.
// After each kill, the newest snapshot on disk must hold, for every series,
// exactly the pushed samples in order (nothing invented, nothing reordered)
// and at least every sample acknowledged before that snapshot started. Each
// restarted process must restore all series and forecast at once from the
// restored models, without fitting. A final SIGTERM must save everything
// acknowledged.
func TestProcessSnapshotsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("process test skipped in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgFile := filepath.Join(dir, "tp.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`
global:
  step: 1s
  window: 6h
  retrain_interval: 1h
  min_history: 30s
  evaluation_delay: 100ms
  staleness: 12h
  models: [auto, seasonal_naive]   # auto's saved state nests its candidates'
forecasts:
  - name: kill
    match: ['{__name__="kill_test"}']
storage:
  snapshot_interval: 150ms
`), 0o600))
	args := []string{"--config.file=" + cfgFile, "--storage.path=" + data}

	// Samples start five hours back, so that the ~10 minutes ahead of the
	// clock the receiver accepts leave room for ~18000 cells.
	base := time.Now().Add(-5 * time.Hour).Truncate(killStep).UnixMilli()
	client := &http.Client{Timeout: 10 * time.Second}
	var ackTimes []time.Time // ackTimes[k]: when the push of cell k was acknowledged
	push := func(p *process, k int) {
		pushCell(t, client, p.url, base, k)
		if k < len(ackTimes) {
			ackTimes[k] = time.Now()
		} else {
			ackTimes = append(ackTimes, time.Now())
		}
	}
	next := 0 // the next cell to push

	const rounds = 4
	for round := range rounds {
		p := startProcess(t, args...)
		if round > 0 {
			require.Equal(t, float64(killSeries), adapterMetric(t, p.url, "train_prometheus_snapshot_restored_series", nil), "round %d", round)
			waitFor(t, 10*time.Second, "forecasts from restored models", func() bool {
				resp, err := http.Get(p.url + "/forecasts")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return strings.Count(string(body), "kill_test_forecast{") >= killSeries
			})
			require.Zero(t, adapterMetric(t, p.url, "train_prometheus_engine_fits_total", nil), "forecasts come from restored fits")
		} else {
			// First round: enough history for the models, a fit, and a
			// snapshot taken after it.
			for ; next < 60; next++ {
				push(p, next)
			}
			waitFor(t, 20*time.Second, "first fits", func() bool {
				return adapterMetric(t, p.url, "train_prometheus_engine_fits_total", map[string]string{"result": "success"}) >= 2*killSeries
			})
			fitted := float64(time.Now().UnixMilli()) / 1000
			waitFor(t, 10*time.Second, "a snapshot after the fits", func() bool {
				return adapterMetric(t, p.url, "train_prometheus_snapshot_last_success_timestamp_seconds", nil) > fitted
			})
		}

		last := round == rounds-1
		deadline := time.Now().Add(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		for ; time.Now().Before(deadline) && next < 17000; next++ {
			push(p, next)
			time.Sleep(time.Millisecond)
		}
		acked := next

		if last {
			require.NoError(t, p.stop(t, syscall.SIGTERM), "clean exit")
		} else {
			err := p.stop(t, syscall.SIGKILL)
			require.Error(t, err, "killed")
		}

		info, got := readNewestSnapshot(t, data)
		require.NotEmpty(t, info.Name, "round %d: a snapshot exists", round)
		require.Len(t, got, killSeries)
		mustHave := 0 // cells acknowledged before the snapshot started
		for k := range acked {
			if ackTimes[k].Before(info.Created) {
				mustHave = k + 1
			}
		}
		if last {
			mustHave = acked // the shutdown snapshot follows every acknowledgement
		}
		minLen := math.MaxInt
		for i := range killSeries {
			st, ok := got[fmt.Sprint(i)]
			require.True(t, ok, "series %d", i)
			require.Equal(t, base, st.Start, "series %d starts at the first cell", i)
			require.GreaterOrEqual(t, len(st.Values), mustHave, "round %d series %d: acknowledged samples lost", round, i)
			require.LessOrEqual(t, len(st.Values), acked, "round %d series %d: samples never pushed", round, i)
			for k, v := range st.Values {
				require.Equal(t, killValue(i, k), v, "round %d series %d cell %d", round, i, k)
			}
			minLen = min(minLen, len(st.Values))
		}
		t.Logf("round %d: pushed %d cells; snapshot %s holds at least %d per series (must hold %d)", round, acked, info.Name, minLen, mustHave)
		// Push again what the snapshot lost: the receiver drops what the
		// restored buffers hold already.
		next = minLen
	}
}
