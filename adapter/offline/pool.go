package offline

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ProgressFunc is told how many of total items are done. It is called
// from one goroutine at a time.
type ProgressFunc func(done, total int)

// parallel calls f(i) for i in [0, n) on workers goroutines (GOMAXPROCS
// when workers <= 0) and reports progress. It stops handing out work when
// ctx is done and returns ctx's error then.
func parallel(ctx context.Context, n, workers int, progress ProgressFunc, f func(i int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next, done atomic.Int64
	var mu sync.Mutex // serialises progress calls
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
				d := done.Add(1)
				if progress != nil {
					mu.Lock()
					progress(int(d), n)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// NewProgressBar returns a ProgressFunc that draws a bar on w (a terminal),
// redrawing only when the percentage changes, and ends the line when done.
func NewProgressBar(w io.Writer, label string) ProgressFunc {
	last := -1
	return func(done, total int) {
		pct := 100
		if total > 0 {
			pct = done * 100 / total
		}
		if pct == last {
			return
		}
		last = pct
		const width = 30
		fill := pct * width / 100
		fmt.Fprintf(w, "\r%s [%s%s] %3d%% %d/%d", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, done, total)
		if done >= total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
