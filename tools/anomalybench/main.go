// Command anomalybench is the anomaly-detection development benchmark
// (make anomaly-bench). It builds a deterministic labelled corpus in
// memory - synthetic minute and 5-minute operations series and a sample of
// the M4 hourly training series, with anomalies of the kinds operators
// meet injected after a clean warm-up, and a clean part without any -
// replays every series through offline.Detect (the code behind
// `train-prometheus detect`), and prints a markdown report: the NAB score
// (Lavin & Ahmad 2015, see nab.go) at the product's flag and at the best
// threshold per profile, recall and delay per kind of anomaly, precision,
// and false alarms per series-day on the clean part.
//
// No public labelled anomaly benchmark is used: only NAB's scoring rules,
// from the paper.
//
//	go run ./tools/anomalybench [-model fourier] [-opt Threshold=1.5] [-write-corpus dir]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/train-prometheus/train-prometheus/adapter/offline"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("anomalybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := defaultCorpusConfig()
	var (
		modelName = fs.String("model", offline.DefaultModel(), "model to replay with (a name of the models configuration field)")
		opts      optionsFlag
		tol       = fs.Int("tolerance", 10, "steps after an anomaly's start within which a flag counts for recall and precision")
		workers   = fs.Int("workers", 0, "series replayed in parallel; 0 = GOMAXPROCS")
		writeDir  = fs.String("write-corpus", "", "also write the corpus to this directory: <series>.csv (timestamp,value), labels.csv, series.csv")
		perSeries = fs.String("per-series", "", "also write one CSV row per series (flags, alarm events, anomalies detected, NAB standard raw score) to this file")
		noRun     = fs.Bool("no-run", false, "build (and write) the corpus, replay nothing")
		quick     = fs.Bool("quick", false, "a small corpus (seconds), for trying things out")
		quiet     = fs.Bool("quiet", false, "no progress on stderr")
	)
	fs.Float64Var(&probationFraction, "probation", probationFraction, "share of each series NAB does not score (NAB: 0.15)")
	fs.Var(&opts, "opt", "Name=value of any other offline.DetectOptions field, e.g. Threshold=1.5 or RetrainInterval=1h (repeatable; the name ignores case and underscores)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the corpus")
	fs.StringVar(&c.M4Path, "m4", c.M4Path, "M4 hourly training file (wide CSV); the M4 part is skipped when it does not exist")
	fs.IntVar(&c.M4Labelled, "m4-series", c.M4Labelled, "M4 series with anomalies injected")
	fs.IntVar(&c.M4Clean, "m4-clean", c.M4Clean, "M4 series left clean (they may hold real, unlabelled anomalies)")
	fs.IntVar(&c.Labelled1m, "series-1m", c.Labelled1m, "synthetic 1-minute series with anomalies")
	fs.IntVar(&c.Labelled5m, "series-5m", c.Labelled5m, "synthetic 5-minute series with anomalies")
	fs.IntVar(&c.Clean1m, "clean-1m", c.Clean1m, "clean synthetic 1-minute series")
	fs.IntVar(&c.Clean5m, "clean-5m", c.Clean5m, "clean synthetic 5-minute series")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !(probationFraction >= 0 && probationFraction < 1) {
		fmt.Fprintln(stderr, "anomalybench: -probation must be in [0, 1)")
		return 2
	}
	if *quick {
		q := quickCorpusConfig()
		q.Seed, q.M4Path = c.Seed, c.M4Path
		c = q
	}
	dopts := offline.DetectOptions{Model: *modelName}
	for _, kv := range opts {
		if err := setOption(&dopts, kv); err != nil {
			fmt.Fprintln(stderr, "anomalybench:", err)
			return 2
		}
	}

	series, note, err := buildCorpus(c)
	if err != nil {
		fmt.Fprintln(stderr, "anomalybench:", err)
		return 1
	}
	if note != "" {
		fmt.Fprintln(stderr, "anomalybench:", note)
	}
	if *writeDir != "" {
		if err := writeCorpus(*writeDir, series); err != nil {
			fmt.Fprintln(stderr, "anomalybench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "anomalybench: wrote %d series to %s\n", len(series), *writeDir)
	}
	if *noRun {
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	var progress func(int)
	if !*quiet {
		progress = func(n int) {
			if n%10 == 0 || n == len(series) {
				fmt.Fprintf(stderr, "anomalybench: %d/%d series replayed (%.0fs)\n", n, len(series), time.Since(start).Seconds())
			}
		}
	}
	w := *workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	out := replayAll(ctx, series, dopts, w, progress)
	if err := ctx.Err(); err != nil {
		fmt.Fprintln(stderr, "anomalybench: interrupted")
		return 1
	}
	info := runInfo{
		Model: dopts.Model, Options: describeOptions(withoutModel(dopts)), Seed: c.Seed,
		Workers: w, Wall: time.Since(start), Note: note,
	}
	for _, o := range out {
		info.Replay += o.Took
	}
	ev := evaluate(series, out, *tol)
	if *perSeries != "" {
		if err := writePerSeries(*perSeries, series, out, *tol); err != nil {
			fmt.Fprintln(stderr, "anomalybench:", err)
			return 1
		}
	}
	writeReport(stdout, info, series, ev)
	if len(ev.Failed) > 0 {
		fmt.Fprintf(stderr, "anomalybench: %d series failed: %s\n", len(ev.Failed), strings.Join(ev.Failed, "; "))
		return 1
	}
	return 0
}

func withoutModel(o offline.DetectOptions) offline.DetectOptions {
	o.Model = ""
	return o
}
