// Command demo (make demo) shows train-prometheus working in one command:
// it starts a real Prometheus that scrapes a demo target built into this
// program, writes that target's synthetic history into Prometheus first,
// starts the adapter (built from the repository) with remote-read backfill
// from that Prometheus so that forecasts exist within a minute, and prints
// the status page and Prometheus graphs of actual vs forecast vs band and of
// the anomaly flags. Time is compressed: a demo day lasts -day (10m) of real
// time, and anomalies are injected on a schedule every demo day. Ctrl-C (or
// -duration) stops everything it started and removes its temporary
// directory.
//
//	go run ./tools/demo -adapter ./train-prometheus
//	go run ./tools/demo -headless -duration 60s   # CI: exits 1 unless forecasts and a flagged injection
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/train-prometheus/train-prometheus/internal/proc"
)

// options are the command line.
type options struct {
	adapter    string // train-prometheus binary; empty: built into the temp dir
	prometheus string // Prometheus binary; empty: $PROMETHEUS_BINARY, PATH, or installed
	day        time.Duration
	history    time.Duration
	duration   time.Duration // 0: until interrupted
	headless   bool
	keep       bool
	promPort   int
	adaptPort  int
	targetPort int
}

func main() { os.Exit(mainCode()) }

// mainCode runs the demo and returns the exit code, after its deferred
// calls have run.
func mainCode() int {
	var o options
	flag.StringVar(&o.adapter, "adapter", "", "train-prometheus binary (empty: go build ./cmd/train-prometheus into the temporary directory)")
	flag.StringVar(&o.prometheus, "prometheus", "", "Prometheus binary (empty: $PROMETHEUS_BINARY, else prometheus on PATH, else .ci/install-prometheus.sh)")
	flag.DurationVar(&o.day, "day", 10*time.Minute, "real length of a demo day (a multiple of 5s)")
	flag.DurationVar(&o.history, "history", 0, "synthetic history written into Prometheus before the start (0: one demo week)")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	flag.BoolVar(&o.headless, "headless", false, "at the end, check that forecasts were written and an injected anomaly was flagged (exit 1 if not)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs, TSDB) at the end")
	flag.IntVar(&o.promPort, "prometheus.port", 19090, "Prometheus port on 127.0.0.1 (0 or taken: any free port)")
	flag.IntVar(&o.adaptPort, "adapter.port", 19201, "train-prometheus port on 127.0.0.1 (0 or taken: any free port)")
	flag.IntVar(&o.targetPort, "target.port", 19100, "demo target port on 127.0.0.1 (0 or taken: any free port)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	return 0
}

// run runs the demo until ctx ends or o.duration passes, then stops
// everything it started. In headless mode it returns what it found in
// Prometheus, and an error unless forecasts were written and an injected
// anomaly was flagged.
func run(ctx context.Context, o options, out io.Writer) (res result, err error) {
	if o.day < 2*step || o.day%step != 0 {
		return res, fmt.Errorf("-day %s must be a multiple of %s, at least %s", o.day, step, 2*step)
	}
	if o.history <= 0 {
		o.history = 7 * o.day
	}
	window := (o.history + o.day).Round(time.Hour) + time.Hour

	tmp, err := os.MkdirTemp("", "train-prometheus-demo-")
	if err != nil {
		return res, fmt.Errorf("create temporary directory: %w", err)
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(out, "kept %s\n", tmp)
			return
		}
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("remove temporary directory: %w", rerr)
		}
	}()

	promBin, err := findPrometheus(ctx, o.prometheus, out)
	if err != nil {
		return res, err
	}
	adapterBin := o.adapter
	if adapterBin == "" {
		if adapterBin, err = buildAdapter(ctx, tmp, out); err != nil {
			return res, err
		}
	}

	// The demo target: this process. It answers 503 until the history is in.
	targetLn, err := listen(o.targetPort)
	if err != nil {
		return res, err
	}
	target := targetLn.Addr().String()
	live := time.Now().Truncate(time.Second).Add(time.Second)
	histStart := live.Add(-o.history).Truncate(step)
	s := newSynth(live, o.day, histStart)
	ready := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.handler(ready))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(targetLn) }()
	defer srv.Close()

	adapterPort, err := proc.PickPort(o.adaptPort)
	if err != nil {
		return res, err
	}
	adapterAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(adapterPort))

	// Prometheus first: it must hold the history before the adapter reads it.
	prom, promURL, err := startPrometheus(ctx, promBin, tmp, o.promPort, prometheusConfig(target, adapterAddr))
	if err != nil {
		return res, err
	}
	// On the way out Prometheus stops first, so that it does not wait for
	// the adapter it writes to; then the adapter.
	var adapter *proc.Proc
	defer func() {
		_ = prom.Stop() // killed after stopGrace: nothing left to do
		if adapter != nil {
			_ = adapter.Stop()
		}
	}()

	fmt.Fprintf(out, "writing %s of synthetic history (%s to %s) into Prometheus\n",
		o.history, histStart.Format(time.TimeOnly), live.Format(time.TimeOnly))
	n, err := writeHistory(ctx, http.DefaultClient, promURL, target, s, histStart, live, scrapeInterval)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(out, "  %d samples in %d series\n", n, len(modelled))
	if d := time.Until(live); d > 0 {
		time.Sleep(d)
	}
	close(ready)

	cfgPath := filepath.Join(tmp, "train-prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(adapterConfig(promURL, o.day, window)), 0o644); err != nil {
		return res, fmt.Errorf("write adapter config: %w", err)
	}
	adapter, err = proc.Start("train-prometheus", adapterBin, []string{
		"--config.file=" + cfgPath, "--storage.path=" + filepath.Join(tmp, "adapter-data"),
		"--web.listen-address=" + adapterAddr,
	}, filepath.Join(tmp, "train-prometheus.log"), stopGrace)
	if err != nil {
		return res, err
	}
	adapterURL := "http://" + adapterAddr
	if err := adapter.WaitReady(ctx, adapterURL+"/-/ready", 30*time.Second); err != nil {
		return res, err
	}

	printURLs(out, o, adapterURL, promURL, tmp)

	var timeout <-chan time.Time
	if o.duration > 0 {
		timeout = time.After(time.Until(live.Add(o.duration)))
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\ninterrupted: stopping Prometheus and train-prometheus")
	case <-timeout:
	case <-prom.Done():
		return res, fmt.Errorf("prometheus exited (%w); log:\n%s", prom.Err(), prom.LogTail(logLines))
	case <-adapter.Done():
		return res, fmt.Errorf("train-prometheus exited (%w); log:\n%s", adapter.Err(), adapter.LogTail(logLines))
	}
	if !o.headless {
		return res, nil
	}
	res, err = check(context.WithoutCancel(ctx), promURL, s, time.Now())
	if err != nil {
		return res, err
	}
	report(out, res)
	if len(res.Forecasts) == 0 || len(res.Flagged) == 0 {
		return res, fmt.Errorf("headless check failed: %d forecast series, %d of %d injections flagged; adapter log:\n%s",
			len(res.Forecasts), len(res.Flagged), len(res.Injected), adapter.LogTail(logLines))
	}
	return res, nil
}

// printURLs tells where to look.
func printURLs(out io.Writer, o options, adapterURL, promURL, tmp string) {
	fmt.Fprintf(out, `
train-prometheus demo: a demo day lasts %s (step %s); anomalies injected every demo day:
`, o.day, step)
	for _, in := range schedule {
		at := time.Duration(in.At * float64(o.day)).Round(time.Second)
		d := time.Duration(in.For * float64(o.day)).Round(time.Second)
		fmt.Fprintf(out, "  +%-6s for %-5s %-32s %s (%s)\n", at, d, in.Metric, in.Effect, in.Kind)
	}
	fmt.Fprintf(out, `
  status page:   %s/
  Prometheus:    %s
  configs, logs: %s

Graphs (actual vs forecast vs band; give the first fit a few seconds):
`, adapterURL, promURL, tmp)
	for _, g := range graphs(promURL) {
		fmt.Fprintf(out, "  %s:\n    %s\n", g[0], g[1])
	}
	if o.duration > 0 {
		fmt.Fprintf(out, "\nrunning for %s\n", o.duration)
	} else {
		fmt.Fprintln(out, "\nCtrl-C stops everything.")
	}
}

// report prints the headless check's findings.
func report(out io.Writer, res result) {
	fmt.Fprintf(out, "\nforecast series in Prometheus: %v\n", res.Forecasts)
	fmt.Fprintf(out, "flagged steps: %d (outside the injections: %v); injections started: %d, flagged: %d\n",
		res.Flags, res.Unexplained, len(res.Injected), len(res.Flagged))
	for _, w := range res.Flagged {
		fmt.Fprintf(out, "  flagged: %s %s at %s\n", w.Metric, w.Kind, w.Start.Format(time.TimeOnly))
	}
	for _, u := range res.UnexplainedAt {
		fmt.Fprintf(out, "  not injected: %s\n", u)
	}
}

// listen listens on 127.0.0.1:port, or on any free port when port is 0 or
// taken.
func listen(port int) (net.Listener, error) {
	if port > 0 {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			return l, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return l, nil
}

// startPrometheus starts Prometheus with cfg, its TSDB in tmp, and waits
// until it is ready; a port lost to another process is retried on another.
func startPrometheus(ctx context.Context, bin, tmp string, want int, cfg string) (*proc.Proc, string, error) {
	cfgPath := filepath.Join(tmp, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, "", fmt.Errorf("write prometheus config: %w", err)
	}
	for attempt := 1; ; attempt++ {
		port, err := proc.PickPort(want)
		if err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := proc.Start("prometheus", bin, []string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + filepath.Join(tmp, fmt.Sprintf("prometheus-data-%d", attempt)),
			"--web.listen-address=" + addr,
			"--web.enable-remote-write-receiver",
			// Not a minute per queue on exit while the adapter is gone.
			"--storage.remote.flush-deadline=1s",
			"--log.level=warn",
		}, filepath.Join(tmp, "prometheus.log"), stopGrace)
		if err != nil {
			return nil, "", err
		}
		url := "http://" + addr
		err = p.WaitReady(ctx, url+"/-/ready", 60*time.Second)
		if err == nil {
			return p, url, nil
		}
		_ = p.Stop()
		if !errors.Is(err, proc.ErrPortTaken) || attempt == 3 {
			return nil, "", err
		}
		want = 0
	}
}

// findPrometheus returns bin, else $PROMETHEUS_BINARY, else prometheus on
// PATH, else installs Debian's with .ci/install-prometheus.sh (as the
// tests' CI does).
func findPrometheus(ctx context.Context, bin string, out io.Writer) (string, error) {
	if bin == "" {
		bin = os.Getenv("PROMETHEUS_BINARY")
	}
	if bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("find prometheus %q: %w", bin, err)
		}
		return path, nil
	}
	if path, err := exec.LookPath("prometheus"); err == nil {
		return path, nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(out, "prometheus not on PATH: running .ci/install-prometheus.sh (Debian's 2.42, needs root or sudo)")
	cmd := exec.CommandContext(ctx, filepath.Join(root, ".ci", "install-prometheus.sh"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install prometheus: %w", err)
	}
	path, err := exec.LookPath("prometheus")
	if err != nil {
		return "", fmt.Errorf("find prometheus after installing it: %w", err)
	}
	return path, nil
}

// buildAdapter builds ./cmd/train-prometheus into dir.
func buildAdapter(ctx context.Context, dir string, out io.Writer) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "train-prometheus")
	fmt.Fprintln(out, "building ./cmd/train-prometheus")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/train-prometheus")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build train-prometheus: %w\n%s", err, b)
	}
	return bin, nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the repository: run from inside it (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// stopGrace is how long a process may take to exit after SIGTERM before
// its group is killed.
const stopGrace = 15 * time.Second

// logLines is how much of a process's log an error quotes.
const logLines = 20
