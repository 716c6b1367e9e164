package snapshot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// realisticKinds names the kinds of series realisticSeries makes, in the
// shares they occur (one in ten each).
var realisticKinds = [10]string{
	"counter", "counter", "counter", // *_total: integers growing at a daily-varying rate
	"constant", "constant", "constant", // up, *_info, limits, replicas: change about once a day
	"int_gauge", "int_gauge", // goroutines, open fds, connections: small random walk
	"gauge_2dp",  // node_load1-like: two decimals
	"float_rate", // rate(...)/ratio recording rules: full float precision
}

// realisticSeries returns n values of series i of kind realisticKinds[i%10]
// on a grid of step, with about one missed scrape (NaN) per 1000 cells.
func realisticSeries(i, n int, step time.Duration) []float64 {
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	perDay := float64(24*time.Hour) / float64(step)
	daily := func(k int) float64 { return math.Sin(2 * math.Pi * float64(k) / perDay) }
	out := make([]float64, n)
	v := 0.0
	switch realisticKinds[i%10] {
	case "counter":
		v = math.Floor(math.Exp(rng.Float64() * 20))
		rate := math.Exp(rng.NormFloat64()*1.5) * step.Seconds()
		for k := range out {
			v += math.Round(rate * (1 + 0.5*daily(k)) * (0.9 + 0.2*rng.Float64()))
			out[k] = v
		}
	case "constant":
		v = float64(rng.IntN(3))
		for k := range out {
			if rng.Float64() < 1/perDay {
				v = float64(rng.IntN(64))
			}
			out[k] = v
		}
	case "int_gauge":
		v = float64(10 + rng.IntN(500))
		for k := range out {
			if rng.Float64() < 0.3 {
				v = max(0, v+math.Round(rng.NormFloat64()*3))
			}
			out[k] = v
		}
	case "gauge_2dp":
		level := rng.Float64() * 8
		for k := range out {
			out[k] = math.Round(max(0, level*(1+0.5*daily(k))+rng.NormFloat64()*0.3)*100) / 100
		}
	case "float_rate":
		level := math.Exp(rng.NormFloat64() * 2)
		for k := range out {
			out[k] = level * (1 + 0.4*daily(k)) * (0.95 + 0.1*rng.Float64())
		}
	}
	for k := range out {
		if rng.IntN(1000) == 0 {
			out[k] = math.NaN()
		}
	}
	out[n-1] = v + 1 // the newest cell always holds data
	return out
}

// fillRealistic fills store with n series of points cells each on a 5m grid.
func fillRealistic(store *ring.Store, n, points int) error {
	step := 5 * time.Minute
	opts := ring.Options{Step: step, Window: time.Duration(points) * step}
	start := int64(1_700_000_000_000) / step.Milliseconds() * step.Milliseconds()
	for i := range n {
		lset := labels.FromStrings("__name__", "metric_"+realisticKinds[i%10], "instance", fmt.Sprintf("host-%d:9100", i/10), "job", "node", "i", fmt.Sprint(i))
		_, err := store.Restore(ring.SeriesState{
			Labels: lset, Options: opts, Start: start, Values: realisticSeries(i, points, step),
			LastT: start + int64(points-1)*step.Milliseconds(), OpenSum: 1, OpenCount: 1,
		})
		if err != nil {
			return err
		}
	}
	return nil
}
