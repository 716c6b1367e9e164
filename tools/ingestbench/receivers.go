package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Receiver names, in the order each trial runs them.
const (
	nameAdapter    = "adapter"
	namePrometheus = "prometheus"
	nameVM         = "victoriametrics"
)

// vmVersion is the VictoriaMetrics release installed when -vm-bin is empty.
const vmVersion = "v1.151.0"

// receiver is one remote-write receiver under test.
type receiver struct {
	name    string
	bin     string
	version string
	// args returns the command line of a fresh instance keeping its state
	// in dir and listening on addr (host:port).
	args      func(dir, addr string) ([]string, error)
	readyPath string
	writePath string
	// stored is the receiver's own counter of the samples it stored: after
	// a trial it must have grown by every sample sent.
	stored counterSel
}

// counterSel names a counter; with label set, only the series whose label
// has value are summed.
type counterSel struct {
	name, label, value string
}

// setup is where the receivers' binaries come from.
type setup struct {
	out        io.Writer
	moduleRoot string // the repository, for building the adapter and the caches
	tmp        string
	series     int
	rounds     int
	senders    int
}

// newAdapter builds (or takes) the train-prometheus binary. Its config
// selects every series, refuses nothing the load sends, and neither fits
// models nor snapshots during a trial.
func (s setup) newAdapter(ctx context.Context, bin string) (*receiver, error) {
	if bin == "" {
		bin = filepath.Join(s.tmp, "train-prometheus")
		fmt.Fprintf(s.out, "building ./cmd/train-prometheus\n")
		// Stamped as make build stamps it, so that the report names the commit.
		describe := strings.TrimSpace(gitOutput(ctx, s.moduleRoot, "describe", "--tags", "--always", "--dirty"))
		revision := strings.TrimSpace(gitOutput(ctx, s.moduleRoot, "rev-parse", "HEAD"))
		ldflags := "-X github.com/prometheus/common/version.Version=" + describe +
			" -X github.com/prometheus/common/version.Revision=" + revision
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/train-prometheus")
		cmd.Dir = s.moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build train-prometheus: %w\n%s", err, out)
		}
	}
	cfg := adapterConfig(s.series, s.rounds, s.senders)
	return &receiver{
		name:    nameAdapter,
		bin:     bin,
		version: firstLine(ctx, bin, "--version"),
		args: func(dir, addr string) ([]string, error) {
			file := filepath.Join(dir, "train-prometheus.yml")
			if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
				return nil, fmt.Errorf("write adapter config: %w", err)
			}
			return []string{"--config.file=" + file, "--storage.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=" + addr, "--log.level=warn"}, nil
		},
		readyPath: "/-/ready",
		writePath: "/api/v1/write",
		stored:    counterSel{name: "train_prometheus_received_samples_total"},
	}, nil
}

// adapterConfig is the adapter's configuration for a load of series ×
// rounds: a window and min_history longer than the load spans (nothing too
// old, no fit), room for twice the series, no per-request series limit, a
// request slot per sender, no snapshots.
func adapterConfig(series, rounds, senders int) string {
	window := (time.Duration(rounds)*scrapeInterval + time.Hour).Truncate(time.Hour)
	return fmt.Sprintf(`# ingestbench: every series selected, nothing refused, no fit and no snapshot during a trial.
global:
  step: %s
  window: %s
  min_history: %s
  retrain_interval: 1h
forecasts:
  - name: ingestbench
    match: ['{__name__=~".+"}']
    models: [seasonal_naive]
limits:
  max_series: %d
  max_series_per_request: 0
  max_inflight_requests: %d
storage:
  snapshot_interval: 0s
`, model.Duration(scrapeInterval), model.Duration(window), model.Duration(window), 2*series+10, max(64, 2*senders))
}

// newPrometheus finds Prometheus (bin, else on PATH, else installs Debian's
// with .ci/install-prometheus.sh).
func (s setup) newPrometheus(ctx context.Context, bin string) (*receiver, error) {
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("prometheus"); err != nil {
			fmt.Fprintf(s.out, "prometheus not on PATH: running .ci/install-prometheus.sh\n")
			cmd := exec.CommandContext(ctx, filepath.Join(s.moduleRoot, ".ci", "install-prometheus.sh"))
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("install prometheus: %w\n%s", err, out)
			}
			if bin, err = exec.LookPath("prometheus"); err != nil {
				return nil, fmt.Errorf("find prometheus after installing it: %w", err)
			}
		}
	}
	return &receiver{
		name:    namePrometheus,
		bin:     bin,
		version: firstLine(ctx, bin, "--version"),
		args: func(dir, addr string) ([]string, error) {
			file := filepath.Join(dir, "prometheus.yml")
			// No scrape jobs: the TSDB holds only what the load sends.
			if err := os.WriteFile(file, []byte("global: {scrape_interval: 1m}\n"), 0o644); err != nil {
				return nil, fmt.Errorf("write prometheus config: %w", err)
			}
			return []string{"--config.file=" + file, "--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
				"--web.listen-address=" + addr, "--web.enable-remote-write-receiver", "--log.level=warn"}, nil
		},
		readyPath: "/-/ready",
		writePath: "/api/v1/write",
		stored:    counterSel{name: "prometheus_tsdb_head_samples_appended_total"},
	}, nil
}

// newVM finds VictoriaMetrics (bin, else the cache, else go install into
// the cache).
func (s setup) newVM(ctx context.Context, bin string) (*receiver, error) {
	version := ""
	if bin == "" {
		dir := filepath.Join(s.moduleRoot, ".cache", "victoria-metrics", vmVersion)
		bin = filepath.Join(dir, "victoria-metrics")
		if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(s.out, "installing victoria-metrics %s into %s (1.5-3 min)\n", vmVersion, dir)
			cmd := exec.CommandContext(ctx, "go", "install", "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@"+vmVersion)
			cmd.Env = append(os.Environ(), "GOBIN="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("install victoria-metrics: %w\n%s", err, out)
			}
		} else if err != nil {
			return nil, fmt.Errorf("find victoria-metrics: %w", err)
		}
		version = "victoria-metrics " + vmVersion + " (go install)"
	}
	if v := firstLine(ctx, bin, "-version"); v != "" {
		version = v // empty when built by go install: no version is stamped
	}
	return &receiver{
		name:    nameVM,
		bin:     bin,
		version: version,
		args: func(dir, addr string) ([]string, error) {
			return []string{"-storageDataPath=" + filepath.Join(dir, "vm"), "-httpListenAddr=" + addr, "-loggerLevel=WARN"}, nil
		},
		readyPath: "/health",
		writePath: "/api/v1/write",
		stored:    counterSel{name: "vm_rows_inserted_total", label: "type", value: "promremotewrite"},
	}, nil
}

// errNoCounter means the page has no series of the counter.
var errNoCounter = errors.New("no such counter")

// scrapeCounter sums the counter sel on the Prometheus text page at url.
func scrapeCounter(ctx context.Context, url string, sel counterSel) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("build metrics request: %w", err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("parse metrics of %s: %w", url, err)
	}
	mf, ok := families[sel.name]
	if !ok {
		return 0, fmt.Errorf("scrape %s: %s: %w", url, sel.name, errNoCounter)
	}
	total, found := 0.0, false
	for _, m := range mf.GetMetric() {
		if sel.label != "" && !hasLabel(m.GetLabel(), sel.label, sel.value) {
			continue
		}
		found = true
		if c := m.GetCounter(); c != nil {
			total += c.GetValue()
		} else {
			total += m.GetUntyped().GetValue()
		}
	}
	if !found {
		return 0, fmt.Errorf("scrape %s: %s{%s=%q}: %w", url, sel.name, sel.label, sel.value, errNoCounter)
	}
	return total, nil
}

// hasLabel reports whether ls holds name=value.
func hasLabel(ls []*dto.LabelPair, name, value string) bool {
	for _, l := range ls {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// gitOutput runs git in dir and returns its output, empty on failure.
func gitOutput(ctx context.Context, dir string, args ...string) string {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the repository: run from inside it (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}
