package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runMainEnv makes the test binary behave as the real binary, so that tests
// can run train-prometheus as a separate process (flags, signals, exit code)
// without building it first.
const runMainEnv = "TRAIN_PROMETHEUS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestProcessSignals runs the binary as a process: it serves with the
// flags given, reloads on SIGHUP (a bad file keeps the running config),
// and exits 0 on SIGTERM.
func TestProcessSignals(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "tp.yml")
	good := "forecasts: [{name: a, match: ['up']}]\n"
	require.NoError(t, os.WriteFile(cfgFile, []byte(good), 0o600))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "--config.file="+cfgFile, "--web.listen-address="+addr,
		"--storage.path="+filepath.Join(dir, "data"), "--log.format=json")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		waitErr := <-done
		if t.Failed() {
			t.Logf("train-prometheus log (exit: %v):\n%s", waitErr, stderr.String())
		}
	})

	url := "http://" + addr
	waitReady(t, url)
	reloadOK := func() float64 {
		return adapterMetric(t, url, "train_prometheus_config_last_reload_successful", nil)
	}
	require.Equal(t, 1.0, reloadOK())

	// SIGHUP with a broken file: the gauge drops, the process keeps serving.
	require.NoError(t, os.WriteFile(cfgFile, []byte("forecasts: [{name: a, match: ['up'], models: [nope]}]\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 5*time.Second, "failed reload recorded", func() bool { return reloadOK() == 0 })
	resp, err := http.Get(url + "/-/ready")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// SIGHUP with a good file again.
	require.NoError(t, os.WriteFile(cfgFile, []byte(good+"limits: {max_series: 5}\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 5*time.Second, "successful reload recorded", func() bool { return reloadOK() == 1 })

	// SIGTERM: a clean exit with status 0.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		done <- err // for the cleanup
		require.NoError(t, err, "exit status")
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15s of SIGTERM")
	}
	require.Contains(t, stderr.String(), `"msg":"Received signal, exiting gracefully"`)
}

// TestProcessBadConfig checks that serve refuses to start on a bad file,
// with exit status 1 and the offending field in the log.
func TestProcessBadConfig(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("global: {step: 0s}\n"), 0o600))
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:0",
		"--storage.path="+filepath.Join(t.TempDir(), "data"))
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())
	require.Contains(t, stderr.String(), "global: step must be positive")
}
