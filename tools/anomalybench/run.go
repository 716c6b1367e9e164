package main

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/train-prometheus/train-prometheus/adapter/offline"
)

// Outcome is the replay of one series, on its grid.
type Outcome struct {
	Score []float64 // anomaly_score per grid index; NaN where missing or unscored
	Flag  []bool    // anomaly == 1
	Took  time.Duration
	Err   error
}

// replay runs s through offline.Detect, the code behind
// `train-prometheus detect`, with opts and the series' step.
func replay(ctx context.Context, s *Series, opts offline.DetectOptions) Outcome {
	start := time.Now()
	opts.Step = s.Step
	opts.Progress = nil
	ds, _, err := offline.Detect(ctx, s.Rows(), opts)
	o := Outcome{Score: make([]float64, len(s.Values)), Flag: make([]bool, len(s.Values)), Err: err}
	for i := range o.Score {
		o.Score[i] = math.NaN()
	}
	step := s.Step.Milliseconds()
	for _, d := range ds {
		i := int((d.Time - s.T0) / step)
		o.Score[i] = d.Score
		o.Flag[i] = d.Anomaly > 0
	}
	o.Took = time.Since(start)
	return o
}

// replayAll replays every series on workers goroutines (GOMAXPROCS when
// <= 0), longest first, and calls done after each.
func replayAll(ctx context.Context, series []*Series, opts offline.DetectOptions, workers int, done func(n int)) []Outcome {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	order := make([]int, len(series))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(series[b].Values) - len(series[a].Values) })
	out := make([]Outcome, len(series))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	for range min(workers, len(series)) {
		wg.Go(func() {
			for i := range jobs {
				out[i] = replay(ctx, series[i], opts)
				mu.Lock()
				finished++
				if done != nil {
					done(finished)
				}
				mu.Unlock()
			}
		})
	}
	for _, i := range order {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// optionsFlag collects -opt Name=value settings of offline.DetectOptions.
type optionsFlag []string

func (o *optionsFlag) String() string { return strings.Join(*o, ",") }

func (o *optionsFlag) Set(s string) error {
	*o = append(*o, s)
	return nil
}

// fixedOptions are the DetectOptions fields the benchmark sets itself.
var fixedOptions = []string{"Step", "Model", "Progress"}

var durationType = reflect.TypeFor[time.Duration]()

// settable reports whether setOption can set field f.
func settable(f reflect.StructField) bool {
	if !f.IsExported() || slices.Contains(fixedOptions, f.Name) {
		return false
	}
	switch f.Type.Kind() {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// optionNames lists the fields -opt can set, with their types.
func optionNames() []string {
	var names []string
	t := reflect.TypeFor[offline.DetectOptions]()
	for i := range t.NumField() {
		if f := t.Field(i); settable(f) {
			names = append(names, f.Name+" ("+f.Type.String()+")")
		}
	}
	return names
}

// setOption sets the field of opts named in kv ("Name=value"; the name is
// matched ignoring case and underscores, so false_alarm_budget finds
// FalseAlarmBudget). Durations take Go or Prometheus syntax (90s, 1d).
// Any field of a basic type can be set, so fields added to DetectOptions
// later need no change here.
func setOption(opts *offline.DetectOptions, kv string) error {
	name, val, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("-opt %q: want Name=value", kv)
	}
	v := reflect.ValueOf(opts).Elem()
	key := strings.ReplaceAll(strings.TrimSpace(name), "_", "")
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !strings.EqualFold(f.Name, key) {
			continue
		}
		if !settable(f) {
			return fmt.Errorf("-opt %s: cannot be set (settable: %s)", f.Name, strings.Join(optionNames(), ", "))
		}
		fv := reflect.New(f.Type).Elem() // set on success only
		val = strings.TrimSpace(val)
		var err error
		switch {
		case f.Type == durationType:
			var d time.Duration
			if d, err = time.ParseDuration(val); err != nil {
				var md model.Duration
				if md, err = model.ParseDuration(val); err == nil {
					d = time.Duration(md)
				}
			}
			fv.SetInt(int64(d))
		case fv.Kind() == reflect.String:
			fv.SetString(val)
		case fv.Kind() == reflect.Bool:
			var b bool
			b, err = strconv.ParseBool(val)
			fv.SetBool(b)
		case fv.CanFloat():
			var x float64
			x, err = strconv.ParseFloat(val, f.Type.Bits())
			fv.SetFloat(x)
		case fv.CanInt():
			var x int64
			x, err = strconv.ParseInt(val, 0, f.Type.Bits())
			fv.SetInt(x)
		case fv.CanUint():
			var x uint64
			x, err = strconv.ParseUint(val, 0, f.Type.Bits())
			fv.SetUint(x)
		}
		if err != nil {
			return fmt.Errorf("-opt %s: %q: %w", f.Name, val, err)
		}
		v.Field(i).Set(fv)
		return nil
	}
	return fmt.Errorf("-opt %q: DetectOptions has no such field (settable: %s)", name, strings.Join(optionNames(), ", "))
}

// describeOptions lists the fields of opts that are not zero (the server's
// defaults), except the step and progress.
func describeOptions(opts offline.DetectOptions) string {
	v := reflect.ValueOf(opts)
	var parts []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "Step" || f.Name == "Progress" || v.Field(i).IsZero() {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", f.Name, v.Field(i).Interface()))
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}
