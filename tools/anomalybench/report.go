package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// runInfo is what the report says about the run itself.
type runInfo struct {
	Model, Options string
	Seed           uint64
	Workers        int
	Wall, Replay   time.Duration
	Note           string
}

func pct(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

func num(x float64, prec int) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

func threshold(s Sweep) string {
	if s.Flagged == 0 {
		return "none"
	}
	return fmt.Sprintf("%.3g", s.Threshold)
}

// writeReport prints the markdown report.
func writeReport(w io.Writer, info runInfo, series []*Series, ev *Evaluation) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	bySource := map[string][2]int{}
	var order []string
	rows, anomalies := 0, 0
	days := 0.0
	for _, s := range series {
		c, ok := bySource[s.Source]
		if !ok {
			order = append(order, s.Source)
		}
		if s.Clean() {
			c[1]++
		} else {
			c[0]++
		}
		bySource[s.Source] = c
		rows += len(s.Rows())
		anomalies += len(s.Labels)
		days += float64(len(s.Values)) * s.Step.Hours() / 24
	}
	var parts []string
	for _, src := range order {
		c := bySource[src]
		parts = append(parts, fmt.Sprintf("%s %d+%d", src, c[0], c[1]))
	}
	p("## Anomaly benchmark: model %s, options: %s, seed %d\n\n", info.Model, info.Options, info.Seed)
	p("Corpus: %d series (labelled+clean: %s), %d rows, %.0f series-days, %d injected anomalies.", len(series), strings.Join(parts, ", "), rows, days, anomalies)
	if info.Note != "" {
		p(" %s.", info.Note)
	}
	p("\nRun: %.0f s wall, %.0f s of replay summed over series, %d workers.\n\n", info.Wall.Seconds(), info.Replay.Seconds(), info.Workers)

	p("### NAB score (Lavin & Ahmad 2015): 0 = no detections, 100 = perfect\n\n")
	p("Probationary period %.0f%% of each series; FPs before the warm-up are the detector's cold start (the rows \"scored after warm-up\" are not NAB: they score only after each series' warm-up, no window lies before it).\n", 100*probationFraction)
	p("At the product's flag (anomaly = 1) and at the best threshold on anomaly_score per profile (thr: flag = score >= thr).\n\n")
	p("| series | n | windows | detected at flag | FPs at flag (before warm-up) |")
	for _, pr := range Profiles {
		p(" %s: flag | %s: best (thr) |", pr.Name, pr.Name)
	}
	p("\n|---|---:|---:|---:|---:|")
	for range Profiles {
		p("---:|---:|")
	}
	p("\n")
	for _, r := range ev.NAB {
		p("| %s | %d | %d | %d | %d (%d) |", r.Name, r.Series, r.Flag.Windows, r.Flag.Detected, r.Flag.FPs, r.Flag.EarlyFPs)
		for j, pr := range Profiles {
			b := r.Best[j]
			p(" %s | %s (%s) |", num(r.Flag.Score(pr), 1), num(b.Tally.Score(pr), 1), threshold(b))
		}
		p("\n")
	}

	p("\n### Per kind (labelled series)\n\n")
	p("Recall: a flag within [start, start + %d steps], or by the end of the anomaly's NAB window (if later); for missing data counted from the first row after the gap. Delay in steps to the first flag, of those detected by the window's end.\n\n", ev.Tolerance)
	p("| kind | n | magnitude (robust SD) | recall <= %d steps | recall by window end | delay median | delay p90 |\n", ev.Tolerance)
	p("|---|---:|---|---:|---:|---:|---:|\n")
	for _, k := range ev.Kinds {
		mag := "–"
		if !math.IsNaN(k.MinMag) {
			mag = fmt.Sprintf("%.1f–%.1f", k.MinMag, k.MaxMag)
		}
		p("| %s | %d | %s | %s | %s | %s | %s |\n", k.Kind, k.N, mag, pct(k.Within, k.N), pct(k.ByWindow, k.N),
			num(k.MedianDelay, 1), num(k.P90Delay, 0))
	}
	p("\n")
	for _, t := range ev.Targets {
		p("- Target: %s: %d of %d (%s).\n", t.Name, t.Hit, t.N, pct(t.Hit, t.N))
	}
	p("- Precision after the warm-up (flag in [start, end + %d steps] of an anomaly): alarm events %d of %d (%s), flagged steps %d of %d (%s).\n",
		ev.Tolerance, ev.EventsTrue, ev.Events, pct(ev.EventsTrue, ev.Events), ev.StepsTrue, ev.Steps, pct(ev.StepsTrue, ev.Steps))
	p("- Scores on the labelled series: %d ±Inf, %d NaN on present rows after the warm-up.\n", ev.LabelledInf, ev.LabelledNaN)

	p("\n### False alarms on the clean series (after each series' warm-up: max(30%%, 2 days))\n\n")
	p("| source | series | series-days | flagged steps / series-day | alarm events / series-day | ±Inf scores | NaN scores |\n")
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range ev.Clean {
		p("| %s | %d | %.1f | %s | %s | %d | %d |\n", c.Source, c.Series, c.Days,
			num(float64(c.Flagged)/c.Days, 2), num(float64(c.Events)/c.Days, 2), c.Inf, c.NaN)
	}
	if len(ev.Failed) > 0 {
		p("\n%d series failed:\n\n", len(ev.Failed))
		for _, f := range ev.Failed {
			p("- %s\n", f)
		}
	}
}
