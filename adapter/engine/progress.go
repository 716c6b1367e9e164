package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
)

// defaultProgressEvery is how often a long retrain pass logs its progress.
const defaultProgressEvery = 10 * time.Second

// progress logs what a retrain pass does when it is long or the first
// training: the first pass since start that fits series for the first
// time (at start-up, all series with min_history, e.g. after a restore or
// backfill) is logged at info with its timing, and any pass still running
// after progressEvery logs its progress every progressEvery.
type progress struct {
	e       *Engine
	first   bool // the engine's first training
	newOnes int  // series fitted for the first time
	total   int
	start   time.Time
	done    atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

// startProgress starts the progress log of a pass with jobs.
func (e *Engine) startProgress(jobs []job) *progress {
	p := &progress{e: e, total: len(jobs), start: time.Now(), stop: make(chan struct{})}
	for _, j := range jobs {
		if j.first {
			p.newOnes++
		}
	}
	p.first = p.newOnes > 0 && e.firstTraining.CompareAndSwap(false, true)
	if p.first {
		level.Info(e.logger).Log("msg", "First training started", "series", p.total)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(e.progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				done := p.done.Load()
				elapsed := time.Since(p.start)
				kv := []any{"msg", "Training progress", "fitted", done, "of", p.total, "elapsed", elapsed.Round(time.Millisecond)}
				if done > 0 {
					left := time.Duration(float64(elapsed) / float64(done) * float64(int64(p.total)-done))
					kv = append(kv, "eta", left.Round(time.Second))
				}
				level.Info(e.logger).Log(kv...)
			}
		}
	}()
	return p
}

// finish stops the progress log and logs the pass's end when it was the
// first training or long enough to have logged progress.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	elapsed := time.Since(p.start)
	kv := []any{"series", p.total, "new_series", p.newOnes, "duration", elapsed.Round(time.Millisecond)}
	switch {
	case p.first:
		level.Info(p.e.logger).Log(append([]any{"msg", "First training done"}, kv...)...)
	case elapsed >= p.e.progressEvery:
		level.Info(p.e.logger).Log(append([]any{"msg", "Training pass done"}, kv...)...)
	default:
		level.Debug(p.e.logger).Log(append([]any{"msg", "Training pass done"}, kv...)...)
	}
}
