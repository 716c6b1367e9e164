package writeback

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// rejectLogInterval is how often a kind of rejection is logged at most.
const rejectLogInterval = time.Minute

// rejected counts n samples of a batch that the target refused for good
// (a 4xx other than a retried 429, or a 2.0 answer that reports them not
// written) and logs the rejection at most once per
// interval and kind. The batch is dropped: the queue goes on with the next
// one, so a target that refuses some samples never blocks the others.
func (q *Queue) rejected(n int, err error) {
	q.m.failed(failureReason(err)).Add(float64(n))
	q.rejects.record(rejectKind(err), n, err, q.now())
}

// rejectKind names why the target refused a batch, from the answer's
// status and text (Prometheus, Mimir and Thanos word them alike).
func rejectKind(err error) string {
	if _, ok := errors.AsType[*partialWriteError](err); ok {
		return "partially_written"
	}
	se, ok := errors.AsType[*statusError](err)
	if !ok {
		return failureReason(err)
	}
	body := strings.ToLower(se.body)
	switch {
	case strings.Contains(body, "out of order"):
		return "out_of_order"
	case strings.Contains(body, "out of bounds"), strings.Contains(body, "too old"):
		return "too_old"
	case strings.Contains(body, "future"):
		return "too_far_in_future"
	case strings.Contains(body, "duplicate"):
		return "duplicate"
	}
	return failureReason(err)
}

// rejectLog logs rejections once per interval and kind, with how many
// samples were rejected since the last line.
type rejectLog struct {
	logger   log.Logger
	interval time.Duration

	mu    sync.Mutex
	kinds map[string]*rejectStat
}

type rejectStat struct {
	lastLog   time.Time
	samples   int // since lastLog
	batches   int
	lastError string
}

func newRejectLog(logger log.Logger, interval time.Duration) *rejectLog {
	return &rejectLog{logger: logger, interval: interval, kinds: map[string]*rejectStat{}}
}

// record adds a rejected batch of n samples and logs when the kind was not
// logged within the interval. It reports whether it logged.
func (r *rejectLog) record(kind string, n int, err error, now time.Time) bool {
	r.mu.Lock()
	st, ok := r.kinds[kind]
	if !ok {
		st = &rejectStat{}
		r.kinds[kind] = st
	}
	st.samples += n
	st.batches++
	st.lastError = err.Error()
	if ok && now.Sub(st.lastLog) < r.interval {
		r.mu.Unlock()
		return false
	}
	samples, batches, last := st.samples, st.batches, st.lastError
	st.samples, st.batches, st.lastLog = 0, 0, now
	r.mu.Unlock()
	level.Warn(r.logger).Log("msg", "Remote write target rejected samples, dropped them and went on",
		"reason", kind, "samples", samples, "batches", batches, "interval", r.interval, "last_err", last)
	return true
}
