package writeback

import (
	"sync"
)

// inbox hands the batches Manager.Append fans out to one queue, so that the
// caller never waits for a target: Append only queues the batch here, and
// the inbox's goroutine feeds it to Queue.Append, which may wait for room
// while the target accepts batches (backpressure for that target alone).
// While it waits, later batches pile up here, bounded by the queue's byte
// budget (max_bytes; capacity samples when max_bytes is 0); past the bound
// the oldest samples are dropped and counted as queue_full, as the shards
// drop theirs. The newest batch is always kept whole.
//
// Batches are shared by every target's inbox and only read.
type inbox struct {
	q          *Queue
	maxBytes   int64 // 0: no byte bound
	maxSamples int   // used when maxBytes is 0

	mu      sync.Mutex
	cond    sync.Cond // signalled when a batch arrives or the inbox closes
	pending []inboxBatch
	n       int   // samples pending
	bytes   int64 // estimated bytes pending
	closed  bool
	done    chan struct{} // closed when run returns
}

// inboxBatch is a batch waiting in an inbox, with its estimated bytes.
type inboxBatch struct {
	samples []Sample
	bytes   int64
}

// newInbox returns an inbox for q and starts its goroutine; close ends it.
func newInbox(q *Queue) *inbox {
	qc := q.cfg.QueueConfig
	b := &inbox{q: q, maxBytes: qc.MaxBytes, maxSamples: qc.Capacity, done: make(chan struct{})}
	b.cond.L = &b.mu
	go b.run()
	return b
}

// batchBytes estimates the encoded bytes of samples (see sampleBytes).
func batchBytes(samples []Sample) int64 {
	var n int64
	for i := range samples {
		n += sampleBytes(&samples[i])
	}
	return n
}

// put queues samples (size: their batchBytes) without waiting, dropping
// the oldest pending samples past the bound. After close it does nothing.
func (b *inbox) put(samples []Sample, size int64) {
	if len(samples) == 0 {
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.pending = append(b.pending, inboxBatch{samples: samples, bytes: size})
	b.n += len(samples)
	b.bytes += size
	dropped := b.trim()
	b.mu.Unlock()
	b.cond.Signal()

	b.q.m.queueLength.Add(float64(len(samples) - dropped))
	if dropped > 0 {
		b.q.m.droppedFull.Add(float64(dropped))
	}
}

// over reports whether the pending samples exceed the bound. The caller
// holds b.mu.
func (b *inbox) over() bool {
	if b.maxBytes > 0 {
		return b.bytes > b.maxBytes
	}
	return b.n > b.maxSamples
}

// trim drops the oldest pending samples, but never from the newest batch,
// until the inbox is within its bound, and returns how many it dropped.
// The caller holds b.mu.
func (b *inbox) trim() (dropped int) {
	for b.over() && len(b.pending) > 1 {
		first := &b.pending[0]
		if !b.overWithout(first) {
			// Dropping part of the oldest batch is enough.
			k := 0
			for b.over() {
				sz := sampleBytes(&first.samples[k])
				b.bytes -= sz
				first.bytes -= sz
				b.n--
				k++
			}
			first.samples = first.samples[k:]
			return dropped + k
		}
		dropped += len(first.samples)
		b.n -= len(first.samples)
		b.bytes -= first.bytes
		b.pending[0] = inboxBatch{}
		b.pending = b.pending[1:]
	}
	return dropped
}

// overWithout reports whether the inbox would still exceed its bound
// without batch. The caller holds b.mu.
func (b *inbox) overWithout(batch *inboxBatch) bool {
	if b.maxBytes > 0 {
		return b.bytes-batch.bytes > b.maxBytes
	}
	return b.n-len(batch.samples) > b.maxSamples
}

// len returns how many samples are pending.
func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// run feeds pending batches to the queue in order until the inbox is
// closed and empty.
func (b *inbox) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		for len(b.pending) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.pending) == 0 {
			b.mu.Unlock()
			return
		}
		batch := b.pending[0]
		b.pending[0] = inboxBatch{}
		b.pending = b.pending[1:]
		b.n -= len(batch.samples)
		b.bytes -= batch.bytes
		b.mu.Unlock()

		// Queue.Append counts what it queues in the gauge again.
		b.q.m.queueLength.Sub(float64(len(batch.samples)))
		b.q.Append(batch.samples)
	}
}

// close stops taking batches; run feeds what is pending and returns.
func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}
