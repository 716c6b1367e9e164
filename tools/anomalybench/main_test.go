package main

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/train-prometheus/train-prometheus/adapter/offline"
)

// sineSeries is a 5-minute daily sine with N(0, 1) noise over days.
func sineSeries(name string, days int, seed uint64) *Series {
	r := rand.New(rand.NewPCG(seed, seed))
	n := days * 288
	s := &Series{Name: name, Source: "test", Pattern: "sine", Step: 5 * time.Minute, T0: t0, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = 100 + 20*math.Sin(2*math.Pi*float64(i)/288) + r.NormFloat64()
	}
	finish(s)
	return s
}

// TestPipelineSmoke replays three small series (one with missing rows)
// through offline.Detect and checks that the outcome is Detect's output on
// the series' grid and that the report is built from it. It checks the
// pipeline, not how well the product detects.
func TestPipelineSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("replays three series (a few seconds)")
	}
	shift := sineSeries("shift", 3, 1)
	shift.Base = append([]float64(nil), shift.Values...)
	at := 700
	for i := at; i < len(shift.Values); i++ {
		shift.Values[i] += 20 * shift.RobustSD
	}
	shift.Labels = []Label{{Kind: LevelShift, Start: at, End: at + 72, Magnitude: 20}}
	shift.Missing = make([]bool, len(shift.Values))
	for i := 600; i < 620; i++ {
		shift.Missing[i] = true
	}
	shift.Labels = append([]Label{{Kind: Missing, Start: 600, End: 619, Magnitude: math.NaN()}}, shift.Labels...)

	g := &generator{seed: 5, counts: map[Kind]int{}}
	r := g.rng()
	gen := &Series{Name: "generated", Source: "test", Pattern: "cpu_ar1", Step: 5 * time.Minute, T0: t0}
	gen.Values, gen.Integer = cpuAR1(r, gen.Step, 3*288, t0)
	finish(gen)
	g.inject(r, gen, Kinds)

	clean := sineSeries("clean", 3, 2)
	series := []*Series{shift, gen, clean}
	opts := offline.DetectOptions{Model: offline.DefaultModel()}
	out := replayAll(context.Background(), series, opts, 2, nil)

	// The outcome of the series with a gap is Detect's output by grid index.
	ds, _, err := offline.Detect(context.Background(), shift.Rows(), offline.DetectOptions{Model: opts.Model, Step: shift.Step})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(shift.Values)-20 {
		t.Fatalf("%d detections for %d rows", len(ds), len(shift.Values)-20)
	}
	flags := 0
	for _, d := range ds {
		i := int((d.Time - shift.T0) / shift.Step.Milliseconds())
		if got := out[0].Score[i]; math.Float64bits(got) != math.Float64bits(d.Score) || out[0].Flag[i] != (d.Anomaly == 1) {
			t.Fatalf("index %d: outcome score %v flag %v, Detect %v %v", i, got, out[0].Flag[i], d.Score, d.Anomaly)
		}
		if d.Anomaly == 1 {
			flags++
		}
	}
	if got := len(flagged(out[0])); got != flags {
		t.Errorf("%d flags in the outcome, Detect flagged %d", got, flags)
	}
	for i := 600; i < 620; i++ {
		if !math.IsNaN(out[0].Score[i]) || out[0].Flag[i] {
			t.Fatalf("missing row %d has score %v flag %v", i, out[0].Score[i], out[0].Flag[i])
		}
	}

	ev := evaluate(series, out, 10)
	if len(ev.Failed) > 0 {
		t.Fatalf("failed: %v", ev.Failed)
	}
	n := 0
	for _, k := range ev.Kinds {
		n += k.N
	}
	if want := len(shift.Labels) + len(gen.Labels); n != want || ev.NAB[0].Flag.Windows > want || ev.NAB[0].Series != 2 {
		t.Errorf("%d anomalies over the kinds, %d windows in %d series; want %d anomalies in 2 series", n, ev.NAB[0].Flag.Windows, ev.NAB[0].Series, want)
	}
	// The clean sine: every row after the warm-up scored, finitely.
	if len(ev.Clean) != 1 || ev.Clean[0].NaN != 0 || ev.Clean[0].Inf != 0 || ev.Clean[0].Series != 1 {
		t.Errorf("clean part: %+v, want 1 series without NaN or Inf scores", ev.Clean)
	}
	for _, r := range ev.NAB {
		for p := range Profiles {
			if s := r.Best[p].Tally.Score(Profiles[p]); r.Flag.Windows > 0 && !(s >= 0 && s <= 100) {
				t.Errorf("%s %s: best-threshold score %v, want in [0, 100]", r.Name, Profiles[p].Name, s)
			}
		}
	}
	var buf bytes.Buffer
	writeReport(&buf, runInfo{Model: "auto", Options: "defaults", Workers: 2}, series, ev)
	for _, want := range []string{"### NAB score", "| labelled series | 2 |", "| level_shift | ", "| missing | ", "| test | 1 |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestRunWritesCorpus runs the command without replaying: the corpus files
// must be readable by detect's reader, and the M4 part skipped cleanly.
func TestRunWritesCorpus(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-quick", "-m4", filepath.Join(dir, "absent.csv"), "-write-corpus", dir, "-no-run"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "M4 part skipped") {
		t.Errorf("stderr %q does not say the M4 part was skipped", stderr.String())
	}
	series, _, err := buildCorpus(func() corpusConfig {
		c := quickCorpusConfig()
		c.M4Path = filepath.Join(dir, "absent.csv")
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	labels := 0
	for _, s := range series {
		labels += len(s.Labels)
		data, err := os.ReadFile(filepath.Join(dir, s.Name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := offline.ReadRows(bytes.NewReader(data), s.Name)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		want := s.Rows()
		if len(rows) != len(want) || rows[0].Time != want[0].Time || rows[len(rows)-1].Value != want[len(want)-1].Value {
			t.Errorf("%s: read back %d rows, want %d with the same ends", s.Name, len(rows), len(want))
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n") - 1; n != labels || labels == 0 {
		t.Errorf("labels.csv has %d rows, want %d (> 0)", n, labels)
	}
}

func TestSetOption(t *testing.T) {
	var o offline.DetectOptions
	for _, kv := range []string{"Threshold=1.5", "retrain_interval=1h", "WINDOW=1d", "IntervalWidth=0.9"} {
		if err := setOption(&o, kv); err != nil {
			t.Fatalf("%s: %v", kv, err)
		}
	}
	if o.Threshold != 1.5 || o.RetrainInterval != time.Hour || o.Window != 24*time.Hour || o.IntervalWidth != 0.9 {
		t.Errorf("options %+v", o)
	}
	for _, kv := range []string{"Step=1m", "Model=fourier", "Progress=x", "NoSuchField=1", "Threshold", "MinHistory=soon", "Threshold=x"} {
		if err := setOption(&o, kv); err == nil {
			t.Errorf("%s: no error", kv)
		}
	}
	if got, want := describeOptions(o), "RetrainInterval=1h0m0s Window=24h0m0s IntervalWidth=0.9 Threshold=1.5"; got != want {
		t.Errorf("describeOptions = %q, want %q", got, want)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-opt", "Bogus=1"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "Threshold (float64)") {
		t.Errorf("bad -opt: exit %d, want 2 and the settable fields; stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "-write-corpus") {
		t.Errorf("-h: exit %d, want 0 and the flags", code)
	}
}
