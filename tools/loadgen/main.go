// Command loadgen sends remote-write 1.0 traffic to train-prometheus at a
// set rate for a set time, retrying what the receiver asks to be retried
// (429 with Retry-After, 5xx, network errors), and reports how many samples
// were accepted, rejected (400) and lost (never acknowledged). With
// --metrics-url it also checks the adapter's own counters: every sample it
// acknowledged must be counted there as received or dropped.
//
// It only sends to the address it is given; the soak (make soak) points it
// at 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
)

type options struct {
	url          string
	metricsURL   string
	rate         float64 // samples per second
	series       int
	perRequest   int
	workers      int
	duration     time.Duration
	drain        time.Duration
	invalidEvery int // every n-th request carries one invalid series; 0: never
	metric       string
	burstEvery   time.Duration // a burst starts this often; 0: none
	burstFor     time.Duration
	burstFactor  int // rate multiplier during a burst
}

// counters are the run's totals.
type counters struct {
	sent, accepted, rejected, lost atomic.Int64 // samples
	requests, retries              atomic.Int64
	byCode                         sync.Map // status code → *atomic.Int64 (requests)
}

func (c *counters) code(code int) {
	v, _ := c.byCode.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *counters) codeCount(code int) int64 {
	if v, ok := c.byCode.Load(code); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// job is one request's body and its sample counts.
type job struct {
	body    []byte
	samples int
	invalid int // samples of the invalid series
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:9201/api/v1/write", "remote-write endpoint")
	flag.StringVar(&o.metricsURL, "metrics-url", "", "the adapter's /metrics, to check its counters (optional)")
	flag.Float64Var(&o.rate, "rate", 20000, "samples per second")
	flag.IntVar(&o.series, "series", 2000, "distinct series")
	flag.IntVar(&o.perRequest, "samples-per-request", 500, "samples per request")
	flag.IntVar(&o.workers, "workers", 8, "concurrent senders")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long to send")
	flag.DurationVar(&o.drain, "drain", 30*time.Second, "how long retries may go on after the run")
	flag.IntVar(&o.invalidEvery, "invalid-every", 50, "every n-th request carries one invalid series (0: never)")
	flag.StringVar(&o.metric, "metric", "loadgen_series", "metric name of the series")
	flag.DurationVar(&o.burstEvery, "burst-every", 0, "start a burst this often (0: no bursts)")
	flag.DurationVar(&o.burstFor, "burst-for", 5*time.Second, "length of a burst")
	flag.IntVar(&o.burstFactor, "burst-factor", 10, "rate multiplier during a burst")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(o options, out io.Writer) error {
	if o.rate <= 0 || o.series <= 0 || o.perRequest <= 0 || o.workers <= 0 {
		return errors.New("rate, series, samples-per-request and workers must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var before adapterCounts
	if o.metricsURL != "" {
		var err error
		if before, err = scrape(o.metricsURL); err != nil {
			return fmt.Errorf("scrape adapter metrics: %w", err)
		}
	}

	var c counters
	jobs := make(chan job, o.workers)
	client := &http.Client{Timeout: 10 * time.Second}
	giveUp := time.Now().Add(o.duration + o.drain)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for j := range jobs {
				send(ctx, client, o.url, j, giveUp, &c)
			}
		})
	}

	start := time.Now()
	gen := newGenerator(o)
	interval := time.Duration(float64(time.Second) * float64(o.perRequest) / o.rate)
	tick := time.NewTicker(interval)
	end := time.NewTimer(o.duration)
	progress := time.NewTicker(10 * time.Second)
loop:
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			break loop
		case <-end.C:
			break loop
		case <-progress.C:
			fmt.Fprintf(out, "progress elapsed=%s sent=%d accepted=%d rejected=%d http_429=%d\n",
				time.Since(start).Round(time.Second), c.sent.Load(), c.accepted.Load(), c.rejected.Load(), c.codeCount(429))
		case now := <-tick.C:
			k := 1
			if o.burstEvery > 0 && now.Sub(start)%o.burstEvery < o.burstFor {
				k = max(1, o.burstFactor) // more load than the adapter may take
			}
			for range k {
				j, err := gen.next(time.Now(), o.invalidEvery > 0 && n%o.invalidEvery == 0)
				if err != nil {
					return err
				}
				c.sent.Add(int64(j.samples))
				// Blocks while every sender is busy: the achieved rate is
				// reported, so overload shows as a lower rate, not as memory.
				jobs <- j
			}
		}
	}
	tick.Stop()
	progress.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Fprintf(out, "samples_sent=%d\nsamples_accepted=%d\nsamples_rejected=%d\nsamples_lost=%d\n",
		c.sent.Load(), c.accepted.Load(), c.rejected.Load(), c.lost.Load())
	fmt.Fprintf(out, "requests=%d retries=%d http_204=%d http_400=%d http_429=%d http_5xx_or_network=%d\n",
		c.requests.Load(), c.retries.Load(), c.codeCount(204), c.codeCount(400), c.codeCount(429), c.codeCount(0)+c.codeCount(500)+c.codeCount(503))
	fmt.Fprintf(out, "achieved_rate=%.0f samples/s over %s (asked %.0f)\n", float64(c.sent.Load())/elapsed.Seconds(), elapsed.Round(time.Second), o.rate)

	lost := c.lost.Load()
	if o.metricsURL != "" {
		after, err := scrape(o.metricsURL)
		if err != nil {
			return fmt.Errorf("scrape adapter metrics: %w", err)
		}
		counted := (after.received - before.received) + (after.dropped - before.dropped)
		acked := c.accepted.Load() + c.rejected.Load()
		fmt.Fprintf(out, "adapter_counted=%.0f acknowledged=%d adapter_lost=%.0f\n", counted, acked, float64(acked)-counted)
		if float64(acked) > counted {
			lost += acked - int64(counted)
		}
	}
	if lost > 0 {
		return fmt.Errorf("%d samples lost", lost)
	}
	return nil
}

// generator builds requests: series round-robin, each series' timestamps
// strictly increasing.
type generator struct {
	o      options
	cursor int
	lastTS []int64
}

func newGenerator(o options) *generator {
	return &generator{o: o, lastTS: make([]int64, o.series)}
}

func (g *generator) next(now time.Time, invalid bool) (job, error) {
	byS := map[int]*prompb.TimeSeries{}
	var order []int
	for range g.o.perRequest {
		i := g.cursor % g.o.series
		g.cursor++
		ts := max(now.UnixMilli(), g.lastTS[i]+1)
		g.lastTS[i] = ts
		s, ok := byS[i]
		if !ok {
			s = &prompb.TimeSeries{Labels: []prompb.Label{
				{Name: "__name__", Value: g.o.metric},
				{Name: "instance", Value: "loadgen:" + strconv.Itoa(i%50)},
				{Name: "series", Value: strconv.Itoa(i)},
			}}
			byS[i] = s
			order = append(order, i)
		}
		s.Samples = append(s.Samples, prompb.Sample{Timestamp: ts, Value: float64(i%100) + float64(ts%60_000)/1000})
	}
	req := prompb.WriteRequest{}
	for _, i := range order {
		req.Timeseries = append(req.Timeseries, *byS[i])
	}
	j := job{samples: g.o.perRequest}
	if invalid {
		// Labels out of order: a 400 for this series only.
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "zzz", Value: "x"}, {Name: "__name__", Value: g.o.metric + "_invalid"}},
			Samples: []prompb.Sample{{Timestamp: now.UnixMilli(), Value: 1}},
		})
		j.samples++
		j.invalid = 1
	}
	raw, err := proto.Marshal(&req)
	if err != nil {
		return job{}, fmt.Errorf("marshal request: %w", err)
	}
	j.body = snappy.Encode(nil, raw)
	return j, nil
}

// rejectedRE reads the rejected sample count of a 400 answer.
var rejectedRE = regexp.MustCompile(`series \((\d+) samples\) as invalid`)

// send delivers one request, retrying 429, 5xx and network errors until
// giveUp; what is never acknowledged is lost.
func send(ctx context.Context, client *http.Client, url string, j job, giveUp time.Time, c *counters) {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		c.requests.Add(1)
		code, retryAfter, body := post(ctx, client, url, j.body)
		c.code(code)
		switch {
		case code/100 == 2:
			c.accepted.Add(int64(j.samples))
			return
		case code == http.StatusBadRequest:
			rej := j.samples // all, unless the answer says how many
			if m := rejectedRE.FindStringSubmatch(body); m != nil {
				rej, _ = strconv.Atoi(m[1])
			}
			c.rejected.Add(int64(rej))
			c.accepted.Add(int64(j.samples - rej))
			return
		case code == http.StatusTooManyRequests || code >= 500 || code == 0:
		default:
			c.lost.Add(int64(j.samples)) // not retryable: 413, 415, ...
			return
		}
		wait := backoff
		if retryAfter > 0 {
			wait = retryAfter
		}
		backoff = min(2*backoff, 2*time.Second)
		if time.Now().Add(wait).After(giveUp) || ctx.Err() != nil {
			c.lost.Add(int64(j.samples))
			return
		}
		time.Sleep(wait)
	}
}

func post(ctx context.Context, client *http.Client, url string, body []byte) (code int, retryAfter time.Duration, text string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err.Error()
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, retryAfter, string(b)
}

// adapterCounts are the adapter's ingestion counters.
type adapterCounts struct{ received, dropped float64 }

// scrape reads train_prometheus_received_samples_total and the sum of
// train_prometheus_dropped_samples_total from the adapter's /metrics.
func scrape(url string) (adapterCounts, error) {
	resp, err := http.Get(url)
	if err != nil {
		return adapterCounts{}, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return adapterCounts{}, err
	}
	sum := func(name string) float64 {
		total := 0.0
		if mf, ok := families[name]; ok {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
		return total
	}
	return adapterCounts{
		received: sum("train_prometheus_received_samples_total"),
		dropped:  sum("train_prometheus_dropped_samples_total"),
	}, nil
}
