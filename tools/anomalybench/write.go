package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// writeCorpus writes each series as dir/<name>.csv (timestamp,value rows,
// RFC 3339, without the missing rows: the input of `train-prometheus
// detect`), dir/labels.csv (one row per injected anomaly) and
// dir/series.csv (one row per series).
func writeCorpus(dir string, series []*Series) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := func(s *Series, i int) string {
		return time.UnixMilli(s.T0 + int64(i)*s.Step.Milliseconds()).UTC().Format(time.RFC3339)
	}
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	labels := [][]string{{"series", "kind", "start_index", "start_time", "end_index", "end_time", "magnitude_robust_sd", "detail"}}
	index := [][]string{{"series", "source", "pattern", "step", "points", "rows", "robust_sd", "warmup_index", "anomalies"}}
	for _, s := range series {
		rows := [][]string{{"timestamp", "value"}}
		for _, r := range s.Rows() {
			rows = append(rows, []string{stamp(s, r.Line-1), strconv.FormatFloat(r.Value, 'g', -1, 64)})
		}
		if err := writeCSV(filepath.Join(dir, s.Name+".csv"), rows); err != nil {
			return err
		}
		for _, l := range s.Labels {
			labels = append(labels, []string{s.Name, string(l.Kind), strconv.Itoa(l.Start), stamp(s, l.Start),
				strconv.Itoa(l.End), stamp(s, l.End), f(l.Magnitude), l.Detail})
		}
		index = append(index, []string{s.Name, s.Source, s.Pattern, s.Step.String(), strconv.Itoa(len(s.Values)),
			strconv.Itoa(len(rows) - 1), f(s.RobustSD), strconv.Itoa(s.WarmUp), strconv.Itoa(len(s.Labels))})
	}
	if err := writeCSV(filepath.Join(dir, "labels.csv"), labels); err != nil {
		return err
	}
	return writeCSV(filepath.Join(dir, "series.csv"), index)
}

func writeCSV(path string, rows [][]string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(fh)
	if err := w.WriteAll(rows); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

// writePerSeries writes one row per series: its flags and alarm events
// after the warm-up, its anomalies and how many were flagged by their
// window's end, and its NAB standard raw score at the flag.
func writePerSeries(path string, series []*Series, out []Outcome, tol int) error {
	fs := files(series)
	rows := [][]string{{"series", "source", "pattern", "clean", "flagged_after_warmup", "events_after_warmup",
		"anomalies", "detected", "nab_standard_raw", "inf_scores", "nan_scores_after_warmup", "replay_seconds"}}
	for i, s := range series {
		o := out[i]
		flags, events := 0, 0
		for t := s.WarmUp; t < len(o.Flag); t++ {
			if o.Flag[t] {
				flags++
				if t == s.WarmUp || !o.Flag[t-1] {
					events++
				}
			}
		}
		inf, nan := badScores(s, o)
		detected := 0
		for _, l := range s.Labels {
			if detectedBy(l, o, fs[i], tol) >= 0 {
				detected++
			}
		}
		rows = append(rows, []string{s.Name, s.Source, s.Pattern, strconv.FormatBool(s.Clean()),
			strconv.Itoa(flags), strconv.Itoa(events), strconv.Itoa(len(s.Labels)), strconv.Itoa(detected),
			strconv.FormatFloat(fs[i].score(flagged(o)).Raw(Profiles[0]), 'f', 3, 64), strconv.Itoa(inf), strconv.Itoa(nan),
			strconv.FormatFloat(o.Took.Seconds(), 'f', 2, 64)})
	}
	return writeCSV(path, rows)
}
