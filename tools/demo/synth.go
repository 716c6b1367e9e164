package main

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The demo's series, as Prometheus scrapes them from the demo target and as
// the history written before the start holds them.
const (
	metricRequests = "demo_http_requests_total"      // counter: requests served
	metricLatency  = "demo_request_duration_seconds" // gauge: p90 latency
	metricQueue    = "demo_queue_length"             // gauge: jobs waiting
	metricWorkers  = "demo_workers_active"           // gauge: flat-ish count
	// metricInjected is 1 while an anomaly is injected into the series its
	// metric label names (not selected by the adapter: the truth to compare
	// the flags with).
	metricInjected = "demo_injected_anomaly"
)

// modelled lists the series the adapter forecasts, in exposition order.
var modelled = []string{metricRequests, metricLatency, metricQueue, metricWorkers}

// injection is one scheduled anomaly: it starts At into every demo day
// (counted from the live start) and lasts For; both are fractions of a
// demo day, so that the schedule scales with -day.
type injection struct {
	Metric  string
	Kind    string // spike, level_shift, dip
	At, For float64
	// What it does to the series, described for the schedule table.
	Effect string
}

// schedule is the anomalies injected every demo day. With the default
// 10-minute day: requests ×3.5 at 0:40 for 15 s, latency +0.6 s at 2:00 for
// 20 s, queue +40 at 3:30 for 2 min, workers down to 4 at 7:00 for 30 s.
var schedule = []injection{
	{Metric: metricRequests, Kind: "spike", At: 40.0 / 600, For: 15.0 / 600, Effect: "request rate x3.5"},
	{Metric: metricLatency, Kind: "spike", At: 120.0 / 600, For: 20.0 / 600, Effect: "latency +0.6s"},
	{Metric: metricQueue, Kind: "level_shift", At: 210.0 / 600, For: 120.0 / 600, Effect: "queue +40"},
	{Metric: metricWorkers, Kind: "dip", At: 420.0 / 600, For: 30.0 / 600, Effect: "workers down to 4"},
}

// window is one occurrence of an injection in real time.
type window struct {
	injection
	Start, End time.Time
}

// synth generates the demo's series. Real time maps onto a demo clock that
// runs day/(24h) times faster: the live start is a Wednesday 10:00 on that
// clock, and every demo day is day long in real time.
type synth struct {
	live time.Time     // real time of the live start
	day  time.Duration // real length of a demo day

	mu sync.Mutex
	// The request counter, integrated second by second from the history's
	// start: its value at accSec (unix seconds).
	accSec int64
	acc    float64
}

// demoEpoch is the demo clock's reading at the live start: a Wednesday.
var demoEpoch = time.Date(2026, time.January, 7, 10, 0, 0, 0, time.UTC)

func newSynth(live time.Time, day time.Duration, historyStart time.Time) *synth {
	return &synth{live: live, day: day, accSec: historyStart.Unix()}
}

// demoTime is the demo clock's reading at real time t.
func (s *synth) demoTime(t time.Time) time.Time {
	speed := float64(24*time.Hour) / float64(s.day)
	return demoEpoch.Add(time.Duration(float64(t.Sub(s.live)) * speed))
}

// load is the share of peak traffic at real time t: quiet nights, a
// daytime hump peaking mid-afternoon, weekends at 55%.
func (s *synth) load(t time.Time) float64 {
	dt := s.demoTime(t)
	h := float64(dt.Hour()) + float64(dt.Minute())/60 + float64(dt.Second())/3600
	l := 0.15
	if h > 6 && h < 22 {
		l += 0.85 * math.Pow(math.Sin(math.Pi*(h-6)/16), 1.5)
	}
	if wd := dt.Weekday(); wd == time.Saturday || wd == time.Sunday {
		l *= 0.55
	}
	return l
}

// active returns the injection into metric at real time t, if any.
func (s *synth) active(metric string, t time.Time) (injection, bool) {
	if t.Before(s.live) {
		return injection{}, false // the history is clean
	}
	phase := math.Mod(float64(t.Sub(s.live))/float64(s.day), 1)
	for _, in := range schedule {
		if in.Metric == metric && phase >= in.At && phase < in.At+in.For {
			return in, true
		}
	}
	return injection{}, false
}

// windows returns the injections that started in [from, to), in order.
func (s *synth) windows(from, to time.Time) []window {
	var out []window
	for d := 0; ; d++ {
		dayStart := s.live.Add(time.Duration(d) * s.day)
		if !dayStart.Before(to) {
			return out
		}
		for _, in := range schedule {
			start := dayStart.Add(time.Duration(in.At * float64(s.day)))
			if !start.Before(from) && start.Before(to) {
				out = append(out, window{injection: in, Start: start, End: start.Add(time.Duration(in.For * float64(s.day)))})
			}
		}
	}
}

// noise is a standard normal draw fixed by the series and the second, so
// that the history and repeated scrapes agree.
func noise(series int, sec int64) float64 {
	u1 := unit(uint64(sec)*8 + uint64(series)*2)
	u2 := unit(uint64(sec)*8 + uint64(series)*2 + 1)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// unit maps x to (0, 1] with splitmix64.
func unit(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return (float64(x>>11) + 1) / (1 << 53)
}

// rate is the request rate (per second) during the second sec.
func (s *synth) rate(sec int64) float64 {
	t := time.Unix(sec, 0)
	r := 40 * s.load(t) * (1 + 0.04*noise(0, sec))
	if _, ok := s.active(metricRequests, t); ok {
		r *= 3.5
	}
	return max(r, 0)
}

// requests is the counter's value at t: the rate integrated from the
// history's start. It never decreases, whatever order t come in.
func (s *synth) requests(t time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := t.Unix()
	for ; s.accSec < sec; s.accSec++ {
		s.acc += s.rate(s.accSec)
	}
	if sec < s.accSec {
		return math.Round(s.acc)
	}
	frac := float64(t.Sub(time.Unix(sec, 0))) / float64(time.Second)
	return math.Round(s.acc + frac*s.rate(sec))
}

// value returns metric's value at t.
func (s *synth) value(metric string, t time.Time) float64 {
	sec := t.Unix()
	l := s.load(t)
	_, inj := s.active(metric, t)
	switch metric {
	case metricRequests:
		return s.requests(t)
	case metricLatency:
		v := 0.08 + 0.12*l*l + 0.006*noise(1, sec)
		if inj {
			v += 0.6
		}
		return math.Round(max(v, 0.01)*1e4) / 1e4
	case metricQueue:
		v := 4 + 30*l + 2.5*noise(2, sec)
		if inj {
			v += 40
		}
		return math.Round(max(v, 0))
	case metricWorkers:
		if inj {
			return 4
		}
		return 12 + math.Round(0.6*noise(3, sec))
	}
	return math.NaN()
}

// metricHelp holds each series' HELP and TYPE.
var metricHelp = map[string][2]string{
	metricRequests: {"Requests served (demo: daily and weekly shape).", "counter"},
	metricLatency:  {"90th percentile request latency (demo).", "gauge"},
	metricQueue:    {"Jobs waiting in the queue (demo).", "gauge"},
	metricWorkers:  {"Workers busy (demo: flat-ish).", "gauge"},
	metricInjected: {"1 while the demo injects an anomaly into the series named by metric.", "gauge"},
}

// handler serves the series in the text exposition format; before ready is
// closed it answers 503, so that no scrape lands before the history ends.
func (s *synth) handler(ready <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-ready:
		default:
			http.Error(w, "writing history first", http.StatusServiceUnavailable)
			return
		}
		now := time.Now()
		var b strings.Builder
		for _, m := range modelled {
			h := metricHelp[m]
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m, h[0], m, h[1], m, s.value(m, now))
		}
		h := metricHelp[metricInjected]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", metricInjected, h[0], metricInjected, h[1])
		for _, m := range modelled {
			v := 0
			if _, ok := s.active(m, now); ok {
				v = 1
			}
			fmt.Fprintf(&b, "%s{metric=%q} %d\n", metricInjected, m, v)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})
}
