// Command ingestbench measures remote-write ingest over HTTP: the same
// pre-encoded load (N series × R rounds, one sample per TimeSeries as
// Prometheus' queue manager sends, snappy-compressed) is driven by C
// concurrent senders at train-prometheus, Prometheus and VictoriaMetrics in
// interleaved trials, each trial on a fresh process with an empty data
// directory, so that series creation is part of every trial. It prints
// samples/s (median and range over trials), request latency p50/p99, and
// the adapter's ratios to the others.
//
// It builds the adapter from ./cmd/train-prometheus, uses the prometheus on
// PATH (installing Debian's with .ci/install-prometheus.sh when there is
// none), installs VictoriaMetrics into .cache/victoria-metrics with go
// install when it is not there, and stops every process and removes every
// directory it made on the way out, Ctrl-C and errors included. Everything
// listens on 127.0.0.1.
//
// Usage: make bench-ingest ARGS='-series 5000 -trials 5 -only adapter,victoriametrics'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/train-prometheus/train-prometheus/internal/proc"
)

type options struct {
	series, rounds, perRequest, senders, trials int
	only                                        string
	adapterBin, vmBin, prometheusBin            string
	protocol                                    string
	keep                                        bool
}

func main() {
	var o options
	flag.IntVar(&o.series, "series", 20000, "distinct series")
	flag.IntVar(&o.rounds, "rounds", 30, "samples per series: one per round, 15s apart")
	flag.IntVar(&o.perRequest, "per-request", 2000, "samples (one per TimeSeries) per request")
	flag.IntVar(&o.senders, "senders", 4, "concurrent senders, each with its share of the series")
	flag.IntVar(&o.trials, "trials", 3, "interleaved trials: each receiver takes the whole load once per trial, on a fresh process")
	flag.StringVar(&o.only, "only", "", "comma-separated subset of receivers: adapter, prometheus, victoriametrics (vm)")
	flag.StringVar(&o.adapterBin, "adapter-bin", "", "train-prometheus binary to use instead of building ./cmd/train-prometheus")
	flag.StringVar(&o.prometheusBin, "prometheus-bin", "", "prometheus binary (default: prometheus on PATH, installed with .ci/install-prometheus.sh if absent)")
	flag.StringVar(&o.vmBin, "vm-bin", "", "victoria-metrics binary (default: .cache/victoria-metrics/"+vmVersion+"/, installed with go install if absent)")
	flag.StringVar(&o.protocol, "protocol", protocolV1, "remote-write protocol: 1.0, or 2.0 (receivers that do not store 2.0 are skipped)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, data, logs) and print its path")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

// maxDecodedBytes is the body limit of Prometheus and VictoriaMetrics, and
// the adapter's default (limits.max_request_bytes).
const maxDecodedBytes = 32 << 20

func run(ctx context.Context, o options, out io.Writer) (err error) {
	names, err := parseOnly(o.only)
	if err != nil {
		return err
	}
	if o.series <= 0 || o.rounds <= 0 || o.perRequest <= 0 || o.senders <= 0 || o.trials <= 0 {
		return errors.New("series, rounds, per-request, senders and trials must be positive")
	}
	if o.protocol != protocolV1 && o.protocol != protocolV2 {
		return fmt.Errorf("unknown protocol %q (want %s or %s)", o.protocol, protocolV1, protocolV2)
	}

	tmp, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(out, "kept %s\n", tmp)
			return
		}
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove temporary directory: %w", rmErr))
		}
	}()
	var ps proc.Group
	// Registered after the directory's removal, so it runs first.
	defer func() { err = errors.Join(err, ps.StopAll()) }()

	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	s := setup{out: out, moduleRoot: root, tmp: tmp, series: o.series, rounds: o.rounds, senders: o.senders}
	var recvs []*receiver
	for _, name := range names {
		var r *receiver
		switch name {
		case nameAdapter:
			r, err = s.newAdapter(ctx, o.adapterBin)
		case namePrometheus:
			r, err = s.newPrometheus(ctx, o.prometheusBin)
		case nameVM:
			r, err = s.newVM(ctx, o.vmBin)
		}
		if err != nil {
			return err
		}
		recvs = append(recvs, r)
	}

	l, err := buildLoad(loadSpec{series: o.series, rounds: o.rounds, perRequest: o.perRequest, senders: o.senders,
		protocol: o.protocol, end: time.Now()})
	if err != nil {
		return fmt.Errorf("encode load: %w", err)
	}
	if l.maxDecoded > maxDecodedBytes {
		return fmt.Errorf("a request decodes to %d bytes, over the receivers' limit of %d: lower -per-request", l.maxDecoded, maxDecodedBytes)
	}
	describe(out, o, l, recvs)

	results := map[string]*stats{}
	skipped := map[string]string{}
	for trial := 1; trial <= o.trials; trial++ {
		for _, r := range recvs {
			if skipped[r.name] != "" {
				continue
			}
			dir := filepath.Join(tmp, fmt.Sprintf("%s-%d", r.name, trial))
			res, skip, err := runTrial(ctx, &ps, r, dir, o.protocol, l)
			if err != nil {
				return fmt.Errorf("%s, trial %d: %w", r.name, trial, err)
			}
			if skip != "" {
				skipped[r.name] = skip
				fmt.Fprintf(out, "skipping %s: %s\n", r.name, skip)
				continue
			}
			st := results[r.name]
			if st == nil {
				st = &stats{}
				results[r.name] = st
			}
			st.add(res)
			sorted := slices.Sorted(slices.Values(res.latencies))
			fmt.Fprintf(out, "trial %d %-15s %9d samples in %6.2fs = %s  p50 %s  p99 %s  (stored: all)\n",
				trial, r.name, res.samples, res.wall.Seconds(), formatRate(res.rate()),
				formatLatency(percentile(sorted, 0.5)), formatLatency(percentile(sorted, 0.99)))
		}
	}
	fmt.Fprintln(out)
	report(out, names, results, skipped)
	return nil
}

// runTrial starts a fresh instance of r with its state in dir, sends it the
// whole load and checks that it stored every sample. skip is set when r
// does not store the protocol (2.0).
func runTrial(ctx context.Context, ps *proc.Group, r *receiver, dir, protocol string, l *load) (res driveResult, skip string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, "", fmt.Errorf("create data directory: %w", err)
	}
	port, err := proc.PickPort(0)
	if err != nil {
		return res, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args, err := r.args(dir, addr)
	if err != nil {
		return res, "", err
	}
	p, err := ps.Start(r.name, r.bin, args, filepath.Join(dir, r.name+".log"), stopGrace)
	if err != nil {
		return res, "", err
	}
	defer func() { err = errors.Join(err, p.Stop()) }()
	base := "http://" + addr
	if err := p.WaitReady(ctx, base+r.readyPath, 2*time.Minute); err != nil {
		return res, "", err
	}
	before, err := scrapeCounter(ctx, base+"/metrics", r.stored)
	if errors.Is(err, errNoCounter) {
		before, err = 0, nil // created on the first sample
	}
	if err != nil {
		return res, "", err
	}

	client := newClient(len(l.perSender))
	defer client.CloseIdleConnections()
	want := l.samples
	if protocol == protocolV2 {
		pb, err := probeBody(protocol, time.Now())
		if err != nil {
			return res, "", err
		}
		if err := post(ctx, client, base+r.writePath, protocol, pb); err != nil {
			return res, fmt.Sprintf("probe with one remote-write 2.0 sample: %v", err), nil
		}
		want += pb.samples
	}

	runtime.GC() // the load generator's own garbage is not the receiver's cost
	res, err = drive(ctx, client, base+r.writePath, protocol, l)
	if err != nil {
		return res, "", fmt.Errorf("send load: %w; %s log:\n%s", err, r.name, p.LogTail(logLines))
	}
	// NOTE: VictoriaMetrics renders /metrics at most once a second
	// (lib/appmetrics), so the counter may lag the answers for a second.
	var after float64
	for deadline := time.Now().Add(5 * time.Second); ; {
		if after, err = scrapeCounter(ctx, base+"/metrics", r.stored); err != nil {
			return res, "", err
		}
		if int(after-before) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if int(after-before) != want {
		return res, "", fmt.Errorf("check stored samples: %s went from %.0f to %.0f, %d samples were sent; %s log:\n%s", r.stored.name, before, after, want, r.name, p.LogTail(logLines))
	}
	return res, "", nil
}

// parseOnly returns the receivers named in only, in the order trials run
// them; empty means all.
func parseOnly(only string) ([]string, error) {
	all := []string{nameAdapter, namePrometheus, nameVM}
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		switch n = strings.TrimSpace(n); n {
		case nameAdapter, namePrometheus, nameVM:
			want[n] = true
		case "vm", "victoria-metrics":
			want[nameVM] = true
		default:
			return nil, fmt.Errorf("parse -only: unknown receiver %q (want adapter, prometheus, victoriametrics)", n)
		}
	}
	var names []string
	for _, n := range all {
		if want[n] {
			names = append(names, n)
		}
	}
	return names, nil
}

// describe prints what is measured and on what.
func describe(out io.Writer, o options, l *load, recvs []*receiver) {
	fmt.Fprintf(out, "load: remote-write %s, %d series x %d rounds = %d samples (one per TimeSeries, %d labels each), %d requests of <= %d samples, %.1f MiB snappy (%.0f KiB/request, <= %.0f KiB decoded)\n",
		o.protocol, o.series, o.rounds, l.samples, l.labels, l.requests, o.perRequest,
		float64(l.bytes)/(1<<20), float64(l.bytes)/float64(l.requests)/1024, float64(l.maxDecoded)/1024)
	fmt.Fprintf(out, "drive: %d senders (series split among them, each in time order), %d interleaved trials, fresh process and data directory per trial; %d CPUs shared by the load generator and the receiver\n",
		o.senders, o.trials, runtime.NumCPU())
	for _, r := range recvs {
		fmt.Fprintf(out, "%-15s %s (%s)\n", r.name, r.version, r.bin)
	}
	fmt.Fprintln(out)
}
