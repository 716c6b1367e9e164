package ring

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

func TestMaxSeriesConcurrent(t *testing.T) {
	const (
		limit      = 100
		goroutines = 32
		perG       = 20
	)
	st := NewStore(limit, nil)
	var (
		wg               sync.WaitGroup
		mtx              sync.Mutex
		created, refused int
		sharedCreated    int
		shared           = map[*Series]struct{}{}
		unexpected       []error
		maxLen           int
	)
	sharedLset := labels.FromStrings("shared", "yes")
	st.SetMaxSeries(limit + 1) // One place for the shared series.
	for g := range goroutines {
		wg.Go(func() {
			ser, c, err := st.GetOrCreate(sharedLset, testOpts)
			mtx.Lock()
			if err != nil {
				unexpected = append(unexpected, err)
			} else {
				shared[ser] = struct{}{}
				if c {
					sharedCreated++
				}
			}
			mtx.Unlock()
			for i := range perG {
				_, c, err := st.GetOrCreate(seriesLabels(g*perG+i), testOpts)
				n := st.Len()
				mtx.Lock()
				maxLen = max(maxLen, n)
				switch {
				case errors.Is(err, ErrTooManySeries):
					refused++
				case err != nil:
					unexpected = append(unexpected, err)
				case c:
					created++
				}
				mtx.Unlock()
			}
		})
	}
	wg.Wait()

	require.Empty(t, unexpected)
	require.Equal(t, 1, sharedCreated, "one goroutine creates the shared series")
	require.Len(t, shared, 1, "everybody gets the same shared series")
	require.Equal(t, limit, created)
	require.Equal(t, goroutines*perG-limit, refused)
	require.LessOrEqual(t, maxLen, limit+1)
	require.Equal(t, limit+1, st.Len())
	n := 0
	st.Range(func(*Series) bool { n++; return true })
	require.Equal(t, limit+1, n)
}

// TestConcurrentAccess runs appends, resends, reads, lookups, Range and GC
// at once; it is meant for -race.
func TestConcurrentAccess(t *testing.T) {
	st := NewStore(0, nil)
	const (
		writers = 8
		readers = 4
		samples = 2000
	)
	opts := Options{Step: time.Second, Window: time.Minute, Aggregate: AggSum}

	done := make(chan struct{})
	var started, readWG sync.WaitGroup
	var passes atomic.Int64
	started.Add(readers)
	for range readers {
		readWG.Go(func() {
			var dst []float64
			first := true
			for {
				st.Range(func(s *Series) bool {
					_, dst = s.Values(math.MaxInt64, dst)
					_ = s.Count(math.MaxInt64)
					_ = s.LastSampleTime()
					return true
				})
				st.GC(math.MinInt64 + 1) // Only series without samples.
				_ = st.Len() + int(st.BufferBytes())
				passes.Add(1)
				if first {
					started.Done()
					first = false
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	started.Wait()

	var writeWG sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		writeWG.Go(func() {
			lset := seriesLabels(w)
			for i := 0; i < samples; {
				ts := int64(i) * sec / 2
				ser, _, err := st.GetOrCreate(lset, opts)
				if err == nil {
					err = ser.Append(ts, 1)
				}
				switch {
				case errors.Is(err, ErrSeriesRemoved):
					// GC took the series before its first sample: look it up again.
					continue
				case err != nil:
					errs <- fmt.Errorf("writer %d sample %d: %w", w, i, err)
					return
				}
				// A resend, as after a failed remote_write request.
				if err := ser.Append(ts, 1); !errors.Is(err, ErrOutOfOrder) {
					errs <- fmt.Errorf("writer %d resend %d: got %w, want ErrOutOfOrder", w, i, err)
					return
				}
				i++
			}
		})
	}
	writeWG.Wait()
	close(done)
	readWG.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, passes.Load(), int64(readers))

	require.Equal(t, writers, st.Len())
	for w := range writers {
		ser := st.Get(seriesLabels(w))
		require.NotNil(t, ser)
		_, vals := ser.Values(math.MaxInt64, nil)
		require.Len(t, vals, 60)
		for _, v := range vals {
			require.Equal(t, 2.0, v, "two samples per step, summed once each")
		}
	}
}
