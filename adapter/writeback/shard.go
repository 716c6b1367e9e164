package writeback

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// shard is one sender of a queue: a bounded FIFO of samples and the
// goroutine that sends them in batches. A series always lands in the same
// shard, so its samples are sent in the order they were appended.
type shard struct {
	q *Queue

	mu       sync.Mutex
	buf      []Sample // ring buffer
	head     int      // index of the oldest sample
	n        int      // samples in buf
	bytes    int64    // estimated encoded bytes of the samples in buf
	maxBytes int64    // this shard's share of max_bytes; 0: no bound
	oldest   time.Time
	notify   chan struct{} // wakes run; capacity 1
	// failing is set while the target fails (the shard retries a batch);
	// space is signalled when room is made or failing is set. Append waits
	// for room while the target works, and drops the oldest while it fails.
	failing bool
	space   sync.Cond

	// Owned by run.
	batch []Sample
	enc   *encoder
}

// newShard returns a shard of q holding up to capacity samples and
// maxBytes estimated bytes (0: no bound).
func newShard(q *Queue, capacity int, maxBytes int64) *shard {
	s := &shard{
		q:        q,
		maxBytes: maxBytes,
		buf:      make([]Sample, capacity),
		notify:   make(chan struct{}, 1),
		enc:      newEncoder(),
	}
	s.space.L = &s.mu
	return s
}

// setFailing records whether the target currently fails, waking Appends
// that wait for room so that they drop the oldest samples instead.
func (s *shard) setFailing(failing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != failing {
		s.failing = failing
		s.space.Broadcast()
	}
}

// full reports whether the ring holds as many samples as it can, or a full
// batch when the ring is larger. The caller holds s.mu.
func (s *shard) full() bool { return s.n >= min(len(s.buf), s.q.maxSend) }

// sampleBytes estimates the encoded size of a sample: its labels, a
// timestamp and a value.
func sampleBytes(smp *Sample) int64 {
	return int64(smp.Labels.ByteSize()) + 16
}

// hasRoom reports whether a sample of size bytes fits without dropping one.
// The caller holds s.mu.
func (s *shard) hasRoom(size int64) bool {
	return s.n < len(s.buf) && (s.maxBytes == 0 || s.n == 0 || s.bytes+size <= s.maxBytes)
}

// push appends smp, dropping the oldest samples while the ring or the byte
// budget is full. It returns how many were dropped. The caller holds s.mu.
func (s *shard) push(smp Sample, size int64, now time.Time) (dropped int) {
	for !s.hasRoom(size) {
		s.popOldest()
		dropped++
	}
	if s.n == 0 {
		s.oldest = now
	}
	s.buf[(s.head+s.n)%len(s.buf)] = smp
	s.n++
	s.bytes += size
	return dropped
}

// popOldest removes the oldest sample and returns it. The caller holds
// s.mu and s.n > 0.
func (s *shard) popOldest() Sample {
	smp := s.buf[s.head]
	s.buf[s.head] = Sample{}
	s.head = (s.head + 1) % len(s.buf)
	s.n--
	s.bytes -= sampleBytes(&smp)
	return smp
}

// wake tells run that there is something to do, without blocking.
func (s *shard) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take moves up to max samples from the ring into s.batch, dropping (and
// counting) those older than max_sample_age on the way.
func (s *shard) take(limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := min(limit, s.n)
	minT := s.q.minSampleTime()
	s.batch = s.batch[:0]
	expired := 0
	for range k {
		smp := s.popOldest()
		if smp.T < minT {
			expired++
			continue
		}
		s.batch = append(s.batch, smp)
	}
	if expired > 0 {
		s.q.m.droppedAge.Add(float64(expired))
	}
	if k > 0 {
		s.space.Broadcast()
	}
	if s.n > 0 {
		// The rest waits for a full batch or a whole deadline from now.
		s.oldest = time.Now()
	}
	s.q.m.queueLength.Sub(float64(k))
}

// state returns how many samples wait and since when the oldest waits.
func (s *shard) state() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.oldest
}

// len returns how many samples wait.
func (s *shard) len() int {
	n, _ := s.state()
	return n
}

// run sends batches until the queue stops. While the queue runs, a batch
// leaves when it is full or when its oldest sample has waited
// BatchSendDeadline; once Stop is called, everything left is sent at once
// until the ring is empty or ctx (the flush deadline) ends.
func (s *shard) run(ctx context.Context) {
	defer s.q.wg.Done()
	maxSend := s.q.cfg.QueueConfig.MaxSamplesPerSend
	deadline := time.Duration(s.q.cfg.QueueConfig.BatchSendDeadline)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	for {
		stopping := s.q.isStopping()
		n, oldest := s.state()
		if n > 0 && (stopping || n >= min(maxSend, len(s.buf)) || time.Since(oldest) >= deadline) {
			s.take(maxSend)
			s.sendBatch(ctx)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if stopping {
			return
		}
		var fire <-chan time.Time
		if n > 0 {
			timer.Reset(deadline - time.Since(oldest))
			fire = timer.C
		}
		select {
		case <-s.notify:
		case <-fire:
		case <-s.q.stopping:
		case <-ctx.Done():
			return
		}
		timer.Stop()
	}
}

// sendBatch delivers s.batch, retrying recoverable errors with exponential
// backoff until it succeeds or ctx ends. The batch is empty afterwards.
func (s *shard) sendBatch(ctx context.Context) {
	if len(s.batch) == 0 {
		return
	}
	defer func() {
		clear(s.batch)
		s.batch = s.batch[:0]
	}()
	if !hasTenants(s.batch) {
		s.sendSamples(ctx, &s.batch, "", 0)
		return
	}
	// Multi-tenancy: one request per tenant, each with its tenant header
	// (see tenant.go).
	groups := splitByTenant(s.batch)
	for i := range groups {
		s.sendSamples(ctx, &groups[i].samples, groups[i].tenant, 0)
		if ctx.Err() != nil {
			for _, g := range groups[i+1:] {
				s.q.m.droppedShutdown.Add(float64(len(g.samples)))
			}
			return
		}
	}
}

// sendSamples delivers *batch with the tenant header set to tenant (none
// when empty), retrying recoverable errors with exponential backoff until
// it succeeds, its samples pass max_sample_age, or ctx ends. A batch
// refused with 400 is split in halves and each sent again, up to
// maxSplitDepth times (see splitRejected).
func (s *shard) sendSamples(ctx context.Context, batch *[]Sample, tenant string, depth int) {
	q := s.q
	n := len(*batch)
	msg := q.protoMsg()
	body, err := s.enc.encode(*batch, msg)
	if err != nil {
		level.Error(q.logger).Log("msg", "Cannot encode batch, dropping it", "samples", n, "err", err)
		q.m.failed("encode").Add(float64(n))
		return
	}

	backoff := time.Duration(q.cfg.QueueConfig.MinBackoff)
	maxBackoff := time.Duration(q.cfg.QueueConfig.MaxBackoff)
	for {
		written, err := q.send(ctx, body, n, tenant, msg)
		_, recoverable := errors.AsType[recoverableError](err)
		s.setFailing(recoverable)
		if err == nil {
			q.m.samples.Add(float64(written))
			if written < n {
				// A 2.0 receiver wrote part of the request: as
				// Prometheus does, count the rest as failed and log.
				q.rejected(n-written, &partialWriteError{sent: n, written: written})
			}
			q.accepted(maxTime(*batch))
			q.m.lastSuccess.Set(float64(q.now().UnixNano()) / 1e9)
			return
		}
		if ctx.Err() != nil {
			q.m.droppedShutdown.Add(float64(n))
			return
		}
		q.noteError(err)
		if msg == config.ProtobufMessageV2 && isUnsupportedMediaType(err) {
			// The target does not take 2.0: send the batch again as 1.0
			// at once, and every later one (see protocol.go).
			q.fallBack(err)
			msg = config.ProtobufMessageV1
			if body, err = s.enc.encode(*batch, msg); err != nil {
				level.Error(q.logger).Log("msg", "Cannot encode batch, dropping it", "samples", n, "err", err)
				q.m.failed("encode").Add(float64(n))
				return
			}
			continue
		}
		re, ok := errors.AsType[recoverableError](err)
		if !ok {
			if !s.splitRejected(ctx, *batch, tenant, depth, err) {
				q.rejected(n, err)
			}
			return
		}
		wait := backoff
		if re.retryAfter > 0 {
			wait = re.retryAfter
		}
		level.Warn(q.logger).Log("msg", "Failed to send batch, retrying", "samples", n, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			q.m.droppedShutdown.Add(float64(n))
			return
		}
		backoff = min(backoff*2, maxBackoff)
		// The batch ages while the target is down: past max_sample_age
		// its samples are dropped rather than sent.
		if s.dropExpired(batch) {
			n = len(*batch)
			if n == 0 {
				return
			}
			if body, err = s.enc.encode(*batch, msg); err != nil {
				level.Error(q.logger).Log("msg", "Cannot encode batch, dropping it", "samples", n, "err", err)
				q.m.failed("encode").Add(float64(n))
				return
			}
		}
		q.m.retried.Add(float64(n))
	}
}

// dropExpired removes the samples of *batch older than max_sample_age,
// counting them, and reports whether it removed any.
func (s *shard) dropExpired(batch *[]Sample) bool {
	minT := s.q.minSampleTime()
	kept := (*batch)[:0]
	for _, smp := range *batch {
		if smp.T >= minT {
			kept = append(kept, smp)
		}
	}
	expired := len(*batch) - len(kept)
	clear((*batch)[len(kept):])
	*batch = kept
	if expired > 0 {
		s.q.m.droppedAge.Add(float64(expired))
	}
	return expired > 0
}

// maxSplitDepth bounds how often a refused batch is halved: at most
// 2^maxSplitDepth pieces and 2^(maxSplitDepth+1)-2 extra requests.
const maxSplitDepth = 4

// splitRejected salvages a batch the target refused with 400 because of
// some of its samples: Prometheus refuses a whole request for one sample
// out of order, too old or a duplicate with another value, so the other
// samples would be lost with it. The halves are sent one after the other
// (the first holds each series' older samples, so order is kept); a half
// that is refused again is halved again, down to maxSplitDepth, and only
// the pieces refused at the bottom are counted as failed. Resending what a
// target that accepts part of a request (Mimir) took is harmless: equal
// samples are not duplicates. It reports whether it took the batch over.
func (s *shard) splitRejected(ctx context.Context, batch []Sample, tenant string, depth int, err error) bool {
	se, ok := errors.AsType[*statusError](err)
	if !ok || se.code != http.StatusBadRequest || len(batch) < 2 || depth >= maxSplitDepth {
		return false
	}
	mid := len(batch) / 2
	first, second := batch[:mid:mid], batch[mid:]
	s.q.m.split.Inc()
	s.sendSamples(ctx, &first, tenant, depth+1)
	if ctx.Err() != nil {
		s.q.m.droppedShutdown.Add(float64(len(second)))
		return true
	}
	s.sendSamples(ctx, &second, tenant, depth+1)
	return true
}

// maxTime returns the highest timestamp of batch (math.MinInt64 when empty).
func maxTime(batch []Sample) int64 {
	m := int64(math.MinInt64)
	for i := range batch {
		m = max(m, batch[i].T)
	}
	return m
}
