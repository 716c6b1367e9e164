package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func outcome(n int, flags ...int) Outcome {
	o := Outcome{Score: make([]float64, n), Flag: make([]bool, n)}
	for _, i := range flags {
		o.Flag[i], o.Score[i] = true, 2
	}
	return o
}

func TestEvaluateHandBuilt(t *testing.T) {
	const n = 1000
	a := &Series{Name: "a", Source: "src", Step: 5 * time.Minute, Values: make([]float64, n), WarmUp: 400,
		Missing: make([]bool, n), Labels: []Label{
			{Kind: Spike, Start: 500, End: 500, Magnitude: 8},
			{Kind: Missing, Start: 600, End: 609, Magnitude: math.NaN()},
			{Kind: LevelShift, Start: 700, End: 772, Magnitude: 5},
		}}
	for i := 600; i < 610; i++ {
		a.Missing[i] = true
	}
	oa := outcome(n, 501, 612, 703, 900)
	for i := 600; i < 610; i++ {
		oa.Score[i] = math.NaN()
	}
	b := &Series{Name: "b", Source: "src", Step: 5 * time.Minute, Values: make([]float64, n), WarmUp: 400}
	ob := outcome(n, 100, 300, 450, 451, 800)
	ob.Score[10] = math.Inf(1)
	ob.Score[820] = math.NaN()

	ev := evaluate([]*Series{a, b}, []Outcome{oa, ob}, 10)
	delays := map[Kind][]int{}
	for _, k := range ev.Kinds {
		if k.N != 1 || k.Within != 1 || k.ByWindow != 1 {
			t.Errorf("%s: %+v, want 1 anomaly detected within the tolerance", k.Kind, k)
		}
		delays[k.Kind] = k.Delays
	}
	want := map[Kind][]int{Spike: {1}, Missing: {2}, LevelShift: {3}} // missing: from the first row after the gap
	for k, d := range want {
		if !slices.Equal(delays[k], d) {
			t.Errorf("%s: delays %v, want %v", k, delays[k], d)
		}
	}
	for _, tg := range ev.Targets {
		if tg.N != 1 || tg.Hit != 1 {
			t.Errorf("target %q: %d of %d, want 1 of 1", tg.Name, tg.Hit, tg.N)
		}
	}
	if ev.Events != 4 || ev.EventsTrue != 3 || ev.Steps != 4 || ev.StepsTrue != 3 {
		t.Errorf("precision: events %d of %d, steps %d of %d; want 3 of 4 each", ev.EventsTrue, ev.Events, ev.StepsTrue, ev.Steps)
	}
	if len(ev.Clean) != 1 {
		t.Fatalf("clean part: %+v", ev.Clean)
	}
	c := ev.Clean[0]
	if c.Series != 1 || c.Flagged != 3 || c.Events != 2 || c.Inf != 1 || c.NaN != 1 || math.Abs(c.Days-600*5.0/1440) > 1e-9 {
		t.Errorf("clean: %+v, want 1 series, 3 flags in 2 events after the warm-up, 1 Inf, 1 NaN, %.4f days", c, 600*5.0/1440)
	}
	// NAB at the flag: three windows (L = 33), all detected; the FP at 900
	// follows the last window; b's flags after its probation are FPs.
	if got := ev.NAB[0].Flag; got.Windows != 3 || got.Detected != 3 || got.FPs != 1 {
		t.Errorf("NAB labelled: %+v, want 3 windows detected and 1 FP", got)
	}
	rows := map[string]nabTally{}
	for _, r := range ev.NAB {
		rows[r.Name] = r.Flag
	}
	if got := rows["labelled + clean"]; got.FPs != 5 || got.EarlyFPs != 1 {
		t.Errorf("NAB labelled + clean: %d FPs, %d before the warm-up; want 5 (900; 300, 450, 451, 800 of the clean series), 1", got.FPs, got.EarlyFPs)
	}
	if got := rows["labelled + clean, scored after warm-up"]; got.FPs != 4 || got.Detected != 3 {
		t.Errorf("NAB after warm-up: %d FPs, %d detected; want 4 (not 300), 3", got.FPs, got.Detected)
	}
	// Shifting the spike's flag 2 steps later misses the 1-step target.
	oa = outcome(n, 502, 703)
	ev = evaluate([]*Series{a}, []Outcome{oa}, 10)
	if ev.Targets[0].Hit != 0 || ev.Targets[1].Hit != 1 {
		t.Errorf("targets %+v, want the spike missed and the shift hit", ev.Targets)
	}
}

func TestWritePerSeries(t *testing.T) {
	const n = 1000
	a := &Series{Name: "a", Source: "src", Step: 5 * time.Minute, Values: make([]float64, n), WarmUp: 400,
		Labels: []Label{{Kind: Spike, Start: 500, End: 500, Magnitude: 8}}}
	o := outcome(n, 300, 450, 451, 501)
	o.Score[10], o.Score[700] = math.Inf(1), math.NaN()
	path := filepath.Join(t.TempDir(), "per-series.csv")
	if err := writePerSeries(path, []*Series{a}, []Outcome{o}, 10); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	// Flags after the warm-up: 450, 451, 501 in 2 events; the spike found;
	// one Inf score, one NaN.
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "a,src,,false,3,2,1,1,") || !strings.Contains(lines[1], ",1,1,") {
		t.Errorf("per-series file:\n%s", data)
	}
}
