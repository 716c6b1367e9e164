package writeback

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// TargetStatus is the health of one write-back target, for the status page.
type TargetStatus struct {
	Name string
	URL  string // credentials redacted
	// Queued samples out of Capacity; samples handed over while the
	// queue was full count too, so Queued can exceed Capacity.
	Queued, Capacity int
	// Counters since start: accepted, rejected, dropped before sending and
	// sent again after an error.
	Sent, Failed, Dropped, Retried float64
	// LastSuccess is when the target last accepted a request (zero: never).
	LastSuccess time.Time
	// ProtobufMessage is the message the target is sent now; FellBack
	// is set when it is 1.0 because the target refused 2.0 with 415.
	ProtobufMessage config.ProtobufMessage
	FellBack        bool
	// HighestSent is the newest sample timestamp the target accepted
	// (zero: none): now minus it is the write-back's lag.
	HighestSent time.Time
	// LastError is the newest error a send to the target met, and
	// LastErrorAt when ("" and zero: none since the queue started).
	LastError   string
	LastErrorAt time.Time
}

// Status returns the health of every target, sorted by name.
func (m *Manager) Status() []TargetStatus {
	m.mu.RLock()
	queues := make([]*managedQueue, 0, len(m.queues))
	for _, mq := range m.queues {
		queues = append(queues, mq)
	}
	m.mu.RUnlock()
	out := make([]TargetStatus, 0, len(queues))
	for _, mq := range queues {
		s := mq.q.status()
		s.Queued += mq.in.len()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b TargetStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (q *Queue) status() TargetStatus {
	t := q.m
	s := TargetStatus{
		Name:     t.name,
		URL:      t.url,
		Queued:   q.Len(),
		Capacity: q.cfg.QueueConfig.Capacity,
		Sent:     metricValue(t.samples),
		Retried:  metricValue(t.retried),
		Dropped:  metricValue(t.droppedFull) + metricValue(t.droppedFuture) + metricValue(t.droppedShutdown),
		Failed:   sumChildren(t.parent.failedTotal, t.name, t.url),

		ProtobufMessage: q.protoMsg(),
		FellBack:        q.fellBack.Load(),
	}
	if ts := metricValue(t.lastSuccess); ts > 0 {
		s.LastSuccess = time.Unix(0, int64(ts*1e9))
	}
	if e := q.lastErr.Load(); e != nil {
		s.LastError, s.LastErrorAt = e.msg, e.at
	}
	q.sentMu.Lock()
	if q.highestSent != math.MinInt64 {
		s.HighestSent = time.UnixMilli(q.highestSent)
	}
	q.sentMu.Unlock()
	return s
}

// metricValue reads a counter's or gauge's value.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return 0
	}
	if c := d.GetCounter(); c != nil {
		return c.GetValue()
	}
	return d.GetGauge().GetValue()
}

// sumChildren sums the children of vec that belong to the target.
func sumChildren(vec *prometheus.CounterVec, name, url string) float64 {
	ch := make(chan prometheus.Metric, 16)
	go func() {
		vec.Collect(ch)
		close(ch)
	}()
	sum := 0.0
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil {
			continue
		}
		match := 0
		for _, l := range d.GetLabel() {
			if (l.GetName() == remoteName && l.GetValue() == name) || (l.GetName() == endpoint && l.GetValue() == url) {
				match++
			}
		}
		if match == 2 {
			sum += d.GetCounter().GetValue()
		}
	}
	return sum
}
