package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

const (
	// promReadyTimeout bounds the wait for /-/ready after the process starts.
	promReadyTimeout = 30 * time.Second
	// promStopTimeout is how long a SIGTERM'd Prometheus may take before SIGKILL.
	promStopTimeout = 10 * time.Second
	// promQueryTimeout bounds a single API call made by query/queryRange.
	promQueryTimeout = 30 * time.Second
	// promLogTail is how much of Prometheus' log is shown when something fails.
	promLogTail = 4096
	// promStartAttempts retries a start that lost the race for its free port.
	promStartAttempts = 3
)

// promServer is a Prometheus process started for one test.
type promServer struct {
	URL  string // http://127.0.0.1:PORT
	API  v1.API // client_golang api/prometheus/v1 client for URL
	Port int

	Dir     string // temporary directory: config, data (DataDir) and log
	DataDir string // --storage.tsdb.path

	cmd       *exec.Cmd
	transport *http.Transport // API's; idle connections closed by stop
	logPath   string          // stdout+stderr of the process
	logShown  bool            // the log tail was already printed
	done      chan struct{}   // closed when the process has exited
	waitErr   error           // set before done is closed

	stopOnce sync.Once
}

// promBinary returns the Prometheus binary to run: $PROMETHEUS_BINARY if set,
// else `prometheus` from PATH. When none is found, it fails the test under CI
// (CI must install one) and skips it elsewhere.
func promBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PROMETHEUS_BINARY"); bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			t.Fatalf("PROMETHEUS_BINARY=%q is not an executable: %v", bin, err)
		}
		return path
	}
	path, err := exec.LookPath("prometheus")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("prometheus binary not found on PATH (%v): CI must install it with .ci/install-prometheus.sh, or set PROMETHEUS_BINARY", err)
	}
	t.Skipf("prometheus binary not found on PATH (%v); install it (e.g. .ci/install-prometheus.sh) or set PROMETHEUS_BINARY to run this test", err)
	return ""
}

// startPrometheus writes cfgYAML to a temp dir and starts Prometheus with it,
// storing its TSDB in that dir and listening on 127.0.0.1:<free port> with the
// remote-write receiver enabled, --storage.remote.flush-deadline=1s and
// --log.level=warn; extraArgs are appended to the command line. It returns once
// /-/ready answers 200 (failing the test after 30 s, with the tail of the
// process's log). A t.Cleanup stops the process (SIGTERM, SIGKILL after 10 s)
// and removes the temp dir; promServer.stop does the same earlier.
//
// Without a binary ($PROMETHEUS_BINARY, else `prometheus` on PATH) the test is
// skipped, or fails when the CI environment variable is set.
func startPrometheus(t *testing.T, cfgYAML string, extraArgs ...string) *promServer {
	t.Helper()
	bin := promBinary(t)

	dir, err := os.MkdirTemp("", "train-prometheus-promserver-")
	require.NoError(t, err)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfgYAML), 0o644))

	var p *promServer
	for attempt := 1; ; attempt++ {
		p = launchPrometheus(t, bin, dir, cfgPath, attempt, extraArgs)
		err := p.waitReady(promReadyTimeout)
		if err == nil {
			break
		}
		// Another process may have taken the port between freePort and
		// Prometheus' listen: try again on a new port.
		if p.exited() && strings.Contains(p.logTail(), "address already in use") && attempt < promStartAttempts {
			t.Logf("prometheus lost the race for port %d, retrying", p.Port)
			continue
		}
		p.logShown = true
		t.Fatalf("prometheus (%s) did not become ready on %s: %v\n--- prometheus log (tail) ---\n%s", bin, p.URL, err, p.logTail())
	}

	// A transport of its own, so that stop can close its idle connections
	// (no keep-alive goroutines left for leak checks).
	p.transport = &http.Transport{}
	client, err := api.NewClient(api.Config{Address: p.URL, RoundTripper: p.transport})
	require.NoError(t, err)
	p.API = v1.NewAPI(client)
	return p
}

// launchPrometheus starts one Prometheus process and registers its cleanup.
// On the last registered cleanup (the first attempt's, as cleanups run last in
// first out) the shared temp dir is removed.
func launchPrometheus(t *testing.T, bin, dir, cfgPath string, attempt int, extraArgs []string) *promServer {
	t.Helper()
	port := freePort(t)
	p := &promServer{
		URL:     "http://127.0.0.1:" + strconv.Itoa(port),
		Port:    port,
		Dir:     dir,
		DataDir: filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
		logPath: filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt)),
		done:    make(chan struct{}),
	}
	args := append([]string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + p.DataDir,
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
		"--web.enable-remote-write-receiver",
		"--storage.remote.flush-deadline=1s",
		"--log.level=warn",
	}, extraArgs...)

	logFile, err := os.Create(p.logPath)
	require.NoError(t, err)
	defer logFile.Close() // the child has its own descriptor

	p.cmd = exec.Command(bin, args...)
	// Linux only, as the project is: a test binary killed by its timeout
	// takes its Prometheus with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Dir = dir
	p.cmd.Stdout = logFile // *os.File: no copying goroutines
	p.cmd.Stderr = logFile
	if err := p.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() && !p.logShown {
			t.Logf("--- prometheus %s log (tail) ---\n%s", p.URL, p.logTail())
		}
		p.stop(t)
		if attempt == 1 {
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("removing prometheus temp dir: %v", err)
			}
		}
	})
	return p
}

// waitReady polls /-/ready until it answers 200, the process exits, or timeout.
func (p *promServer) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		resp, err := client.Get(p.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/-/ready answered %s", resp.Status)
		}
		lastErr = err
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v: %w", timeout, lastErr)
		}
		select {
		case <-p.done:
			return fmt.Errorf("process exited: %w (last probe: %w)", p.waitErr, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exited reports whether the process has exited.
func (p *promServer) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop terminates the process: SIGTERM, then SIGKILL if it has not exited
// after 10 s. It waits for the exit and is safe to call more than once.
func (p *promServer) stop(t *testing.T) {
	t.Helper()
	p.stopOnce.Do(func() {
		if p.transport != nil {
			defer p.transport.CloseIdleConnections()
		}
		if p.exited() {
			return
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("SIGTERM to prometheus pid %d: %v", p.cmd.Process.Pid, err)
		}
		select {
		case <-p.done:
			return
		case <-time.After(promStopTimeout):
		}
		t.Logf("prometheus pid %d still running %v after SIGTERM, killing it", p.cmd.Process.Pid, promStopTimeout)
		if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("SIGKILL to prometheus pid %d: %v", p.cmd.Process.Pid, err)
		}
		<-p.done
	})
}

// logTail returns the last few KiB of the process's stdout and stderr.
func (p *promServer) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.logPath, err)
	}
	if len(b) > promLogTail {
		b = b[len(b)-promLogTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return string(b)
}

// freePort returns a free TCP port on 127.0.0.1 (listen on :0, read the port, close).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// query runs an instant query at time ts and returns the vector (fails the
// test on error or when the result is not a vector).
func (p *promServer) query(t *testing.T, q string, ts time.Time) model.Vector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promQueryTimeout)
	defer cancel()
	val, warnings, _, err := p.API.Query(ctx, q, ts)
	require.NoError(t, err, "query %q at %v", q, ts)
	if len(warnings) > 0 {
		t.Logf("query %q: warnings: %v", q, warnings)
	}
	vec, ok := val.(model.Vector)
	require.True(t, ok, "query %q returned %s, want vector", q, val.Type())
	return vec
}

// queryRange runs a range query and returns the matrix (fails the test on
// error or when the result is not a matrix).
func (p *promServer) queryRange(t *testing.T, q string, r v1.Range) model.Matrix {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promQueryTimeout)
	defer cancel()
	val, warnings, _, err := p.API.QueryRange(ctx, q, r)
	require.NoError(t, err, "range query %q over %v", q, r)
	if len(warnings) > 0 {
		t.Logf("range query %q: warnings: %v", q, warnings)
	}
	mat, ok := val.(model.Matrix)
	require.True(t, ok, "range query %q returned %s, want matrix", q, val.Type())
	return mat
}

// waitFor calls cond at once and then every 500ms until it returns true; it
// fails the test with msg when timeout elapses first. cond runs on the test's
// goroutine, so it may use require/t.Fatal.
func waitFor(t *testing.T, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
