// Command train-prometheus learns what every Prometheus series it receives
// over remote_write should look like, and writes forecasts and anomaly
// signals back with remote_write.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/train-prometheus/train-prometheus/adapter"
	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/shard"
)

const appName = "train-prometheus"

// exampleConfig is used when --config.file is not given.
//
//go:embed train-prometheus.yml
var exampleConfig string

// flags holds everything the command line sets.
type flags struct {
	configFile  string
	storagePath string
	logLevel    string
	logFormat   string
	web         *web.FlagConfig
	checkFile   string
	shardIndex  int
	shardTotal  int
	shardBy     string
	enablePprof bool
	// readTimeout bounds reading a whole request, body included (0: none);
	// maxConnections bounds open connections per address (0: none).
	readTimeout    time.Duration
	maxConnections int
	// enableLifecycle serves POST /-/reload (off by default, as Prometheus).
	enableLifecycle bool
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain parses args and runs the chosen command, returning the exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	var f flags
	app := kingpin.New(appName, "Learns what Prometheus series should look like and writes forecasts and anomaly signals back.")
	app.Version(version.Print(appName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").
		Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages: logfmt, json.").
		Default("logfmt").EnumVar(&f.logFormat, "logfmt", "json")

	// The server's flags belong to serve (the default command, so that
	// `train-prometheus --config.file=...` still runs it): the other
	// commands' help lists only what they use.
	serveCmd := app.Command("serve", "Run the adapter (the default).").Default()
	serveCmd.Flag("config.file", "Configuration file. Empty: the embedded example configuration.").StringVar(&f.configFile)
	serveCmd.Flag("storage.path", "Directory for local state.").Default("data/").StringVar(&f.storagePath)
	serveCmd.Flag("shard.total", "Number of replicas the series are split among (1: no sharding).").Default("1").IntVar(&f.shardTotal)
	serveCmd.Flag("shard.index", "This replica's shard, 0 to shard.total-1. Negative: the N of a hostname ending in -N (a StatefulSet ordinal).").
		Default("-1").IntVar(&f.shardIndex)
	serveCmd.Flag("shard.by", "Comma-separated labels whose values are hashed to pick a series' shard, as source_labels of hashmod relabeling. Empty: all labels.").
		StringVar(&f.shardBy)
	f.web = kingpinflag.AddFlags(serveCmd, ":9201")
	serveCmd.Flag("web.enable-pprof", "Serve Go profiling endpoints under /debug/pprof/ (off by default).").BoolVar(&f.enablePprof)
	serveCmd.Flag("web.read-timeout", "Maximum duration before timing out read of the request, body included (as Prometheus; 0: none). A remote-write sender that stalls is cut off after it.").
		Default("5m").DurationVar(&f.readTimeout)
	serveCmd.Flag("web.max-connections", "Maximum number of simultaneous connections per listen address (as Prometheus; 0: no limit).").
		Default("512").IntVar(&f.maxConnections)
	serveCmd.Flag("web.enable-lifecycle", "Enable reload via HTTP request (POST or PUT /-/reload), as Prometheus' flag of that name. SIGHUP reloads either way.").
		BoolVar(&f.enableLifecycle)

	checkCmd := app.Command("check", "Check resources for validity.")
	checkConfigCmd := checkCmd.Command("config", "Validate a configuration file.")
	checkConfigCmd.Arg("file", "Configuration file to check.").Required().StringVar(&f.checkFile)
	offlineCmds := addOfflineCommands(app)

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s, try --help\n", appName, err)
		return 2
	}
	if code, ok := offlineCmds.run(cmd, stdout, stderr); ok {
		return code
	}
	switch cmd {
	case checkConfigCmd.FullCommand():
		return checkConfig(f.checkFile, stdout, stderr)
	case serveCmd.FullCommand():
		logger := newLogger(stderr, f.logLevel, f.logFormat)
		if err := serve(context.Background(), f, logger, prometheus.NewRegistry()); err != nil {
			level.Error(logger).Log("msg", "Exiting", "err", err)
			return 1
		}
	}
	return 0
}

// checkConfig validates a configuration file; exit code 0 when it is valid.
func checkConfig(file string, stdout, stderr io.Writer) int {
	cfg, err := config.LoadFile(file)
	if err == nil {
		// What serving checks before applying it too (TLS files, selectors).
		err = adapter.CheckConfig(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %s\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid: %d forecasts entries, %d remote_write targets\n",
		file, len(cfg.Forecasts), len(cfg.RemoteWrite))
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "WARNING: %s\n", w)
	}
	return 0
}

// newLogger returns the filtered base logger; serve adds the timestamp and
// caller for its own logging.
func newLogger(w io.Writer, lvl, format string) log.Logger {
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	return level.NewFilter(logger, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
}

// loadConfig reads the configuration file, or the embedded example.
func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Load(exampleConfig)
	}
	return config.LoadFile(file)
}

// serve runs the adapter until SIGTERM/SIGINT or ctx ends. base is the
// logger without timestamp and caller.
func serve(ctx context.Context, f flags, base log.Logger, reg *prometheus.Registry) error {
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	// Libraries that log with slog (exporter-toolkit) share the output;
	// their records carry their own time and source.
	slogger := slog.New(sloggokit.NewGoKitHandler(log.With(base, "component", "web"), nil))
	level.Info(logger).Log("msg", "Starting "+appName, "version", version.Info(), "build_context", version.BuildContext())
	reg.MustRegister(
		versioncollector.NewCollector("train_prometheus"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if err := os.MkdirAll(f.storagePath, 0o750); err != nil {
		return fmt.Errorf("create storage path: %w", err)
	}
	abs, _ := filepath.Abs(f.storagePath)
	level.Info(logger).Log("msg", "Using storage path", "path", abs)

	sh, err := newShard(f)
	if err != nil {
		return err
	}
	if sh.Enabled() {
		level.Info(logger).Log("msg", "Keeping only this replica's shard of the series", "shard", sh.String())
	}
	a := adapter.New(logger, reg, adapter.Options{
		LoadConfig:      func() (*config.Config, error) { return loadConfig(f.configFile) },
		UserAgent:       appName + "/" + version.Version,
		StoragePath:     f.storagePath,
		EnableLifecycle: f.enableLifecycle,
		Shard:           sh,
	})
	// The first load goes through Reload too, so that the reload gauges
	// describe it.
	if err := a.Reload(); err != nil {
		return fmt.Errorf("load configuration %s: %w", configName(f.configFile), err)
	}
	defer a.Stop()
	// Restore before the listener starts: nothing is ready before it.
	a.Restore(ctx)

	var g run.Group
	{
		// Termination.
		ctx, cancel := context.WithCancel(ctx)
		term := make(chan os.Signal, 1)
		signal.Notify(term, os.Interrupt, syscall.SIGTERM)
		g.Add(func() error {
			defer signal.Stop(term)
			select {
			case sig := <-term:
				level.Info(logger).Log("msg", "Received signal, exiting gracefully", "signal", sig.String())
			case <-ctx.Done():
			}
			return nil
		}, func(error) { cancel() })
	}
	{
		// Reload on SIGHUP.
		ctx, cancel := context.WithCancel(ctx)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		g.Add(func() error {
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					_ = a.Reload() // Reload logs and records its own errors.
				case <-ctx.Done():
					return nil
				}
			}
		}, func(error) { cancel() })
	}
	{
		// The engine: retraining and evaluation.
		ctx, cancel := context.WithCancel(ctx)
		g.Add(func() error { return a.Run(ctx) }, func(error) { cancel() })
	}
	{
		// Periodic snapshots; the last one is written below, after the
		// receiver and the engine have stopped.
		ctx, cancel := context.WithCancel(ctx)
		g.Add(func() error { return a.RunSnapshots(ctx) }, func(error) { cancel() })
	}
	{
		// HTTP.
		handler := a.Handler(reg)
		if f.enablePprof {
			handler = withPprof(handler)
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: headerTimeout(f.readTimeout), ReadTimeout: f.readTimeout}
		g.Add(func() error {
			if err := listenAndServe(srv, f, slogger); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve HTTP: %w", err)
			}
			return nil
		}, func(error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
	}
	err = g.Run()
	if serr := a.Snapshot(context.Background()); serr != nil {
		level.Error(logger).Log("msg", "Final snapshot failed", "err", serr)
	}
	return err
}

// headerTimeout is how long a client may take to send its request headers:
// 30 s, or the whole read timeout when that is shorter.
func headerTimeout(read time.Duration) time.Duration {
	if read > 0 && read < 30*time.Second {
		return read
	}
	return 30 * time.Second
}

// newShard builds the replica's shard from the flags and the hostname.
func newShard(f flags) (shard.Shard, error) {
	by, err := shard.ParseLabels(f.shardBy)
	if err != nil {
		return shard.Shard{}, fmt.Errorf("parse --shard.by: %w", err)
	}
	host := os.Getenv("HOSTNAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	return shard.New(f.shardIndex, f.shardTotal, by, host)
}

func configName(file string) string {
	if file == "" {
		return "(embedded example)"
	}
	return file
}
