package receive

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxGroups bounds the forecasts entries whose newest timestamp is kept.
const maxGroups = 1024

// GroupNamer names the ring groups a Router gives series (ring.Options.Group),
// for the receiver's per-entry metrics. The engine implements it.
type GroupNamer interface {
	GroupName(group int) (string, bool)
}

// newestTimes holds the newest sample timestamp accepted per ring group,
// for one configuration (a reload may renumber the groups).
type newestTimes struct {
	mu sync.Mutex
	ms []int64 // per group, -1 if none
}

// update raises the newest timestamps to those of a request.
func (n *newestTimes) update(newest []int64) {
	if len(newest) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.ms) < len(newest) {
		n.ms = append(n.ms, -1)
	}
	for g, t := range newest {
		n.ms[g] = max(n.ms[g], t)
	}
}

// snapshot returns a copy of the newest timestamps.
func (n *newestTimes) snapshot() []int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]int64(nil), n.ms...)
}

// lagCollector exports train_prometheus_received_highest_timestamp_seconds
// per forecasts entry: with time() it gives how far behind the senders
// are, as Prometheus' prometheus_remote_storage_highest_timestamp_in_seconds
// does for a remote-write queue.
type lagCollector struct {
	h    *Handler
	desc *prometheus.Desc
}

func newLagCollector(h *Handler) *lagCollector {
	return &lagCollector{h: h, desc: prometheus.NewDesc(
		"train_prometheus_received_highest_timestamp_seconds",
		"Newest sample timestamp accepted for the series of a forecasts entry since the configuration was applied, in seconds since the epoch; time() minus it is the senders' lag.",
		[]string{"forecast"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	lim := c.h.limits.Load()
	namer, _ := lim.router.(GroupNamer)
	for g, t := range lim.newest.snapshot() {
		if t < 0 {
			continue
		}
		name := "group_" + strconv.Itoa(g)
		if namer != nil {
			n, ok := namer.GroupName(g)
			if !ok {
				continue
			}
			name = n
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(t)/1000, name)
	}
}
