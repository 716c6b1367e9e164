package writeback

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log/level"
)

// shard is one sender of a queue: a bounded FIFO of samples and the
// goroutine that sends them in batches. A series always lands in the same
// shard, so its samples are sent in the order they were appended.
type shard struct {
	q *Queue

	mu     sync.Mutex
	buf    []Sample // ring buffer
	head   int      // index of the oldest sample
	n      int      // samples in buf
	oldest time.Time
	notify chan struct{} // wakes run; capacity 1
	// failing is set while the target fails (the shard retries a batch);
	// space is signalled when room is made or failing is set. Append waits
	// for room while the target works, and drops the oldest while it fails.
	failing bool
	space   sync.Cond

	// Owned by run.
	batch []Sample
	enc   *encoder
}

// newShard returns a shard of q holding up to capacity samples.
func newShard(q *Queue, capacity int) *shard {
	s := &shard{
		q:      q,
		buf:    make([]Sample, capacity),
		notify: make(chan struct{}, 1),
		enc:    newEncoder(),
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

// push appends s, overwriting the oldest sample when the ring is full. It
// returns whether a sample was dropped. The caller holds s.mu.
func (s *shard) push(smp Sample, now time.Time) (dropped bool) {
	if s.n == 0 {
		s.oldest = now
	}
	if s.n == len(s.buf) {
		s.buf[s.head] = smp
		s.head = (s.head + 1) % len(s.buf)
		return true
	}
	s.buf[(s.head+s.n)%len(s.buf)] = smp
	s.n++
	return false
}

// wake tells run that there is something to do, without blocking.
func (s *shard) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take moves up to max samples from the ring into s.batch.
func (s *shard) take(limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := min(limit, s.n)
	s.batch = s.batch[:0]
	for range k {
		s.batch = append(s.batch, s.buf[s.head])
		s.buf[s.head] = Sample{}
		s.head = (s.head + 1) % len(s.buf)
	}
	s.n -= k
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
	q := s.q
	n := len(s.batch)
	defer func() {
		clear(s.batch)
		s.batch = s.batch[:0]
	}()

	body, err := s.enc.encode(s.batch)
	if err != nil {
		level.Error(q.logger).Log("msg", "Cannot encode batch, dropping it", "samples", n, "err", err)
		q.m.failed("encode").Add(float64(n))
		return
	}

	backoff := time.Duration(q.cfg.QueueConfig.MinBackoff)
	maxBackoff := time.Duration(q.cfg.QueueConfig.MaxBackoff)
	for {
		err := q.send(ctx, body)
		_, recoverable := errors.AsType[recoverableError](err)
		s.setFailing(recoverable)
		if err == nil {
			q.m.samples.Add(float64(n))
			q.m.lastSuccess.Set(float64(q.now().UnixNano()) / 1e9)
			return
		}
		if ctx.Err() != nil {
			q.m.droppedShutdown.Add(float64(n))
			return
		}
		re, ok := errors.AsType[recoverableError](err)
		if !ok {
			level.Warn(q.logger).Log("msg", "Remote write target rejected samples, not retrying", "samples", n, "reason", failureReason(err), "err", err)
			q.m.failed(failureReason(err)).Add(float64(n))
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
		q.m.retried.Add(float64(n))
		backoff = min(backoff*2, maxBackoff)
	}
}
