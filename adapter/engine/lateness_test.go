package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestEngineLateRetrainDoesNotPileUp: when passes come late (fits that
// take longer than retrain_interval hold the pass), a series that missed
// several slots is fitted once, not once per missed slot, the lateness is
// exported, and concurrent passes never fit a series twice at once.
func TestEngineLateRetrainDoesNotPileUp(t *testing.T) {
	f := newFixture(t, testConfig)
	end := t0 + 3*time.Hour.Milliseconds()
	const n = 10
	for i := range n {
		f.feed(labels.FromStrings("__name__", "sine", "i", string(rune('a'+i))), t0, end, sine)
	}
	ctx := context.Background()
	require.Equal(t, n, f.eng.RetrainDue(ctx, at(end)))

	// The next pass comes three intervals late.
	interval := 15 * time.Minute.Milliseconds()
	late := end + 4*interval
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 { // passes racing each other: -race and the count check
		wg.Go(func() {
			k := f.eng.RetrainDue(ctx, at(late))
			mu.Lock()
			total += k
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, n, total, "each series fitted once, however many slots it missed and passes ran")
	lateness := testutil.ToFloat64(f.eng.metrics.retrainLateness)
	require.Greater(t, lateness, float64(2*interval/1000), "lateness in seconds")
	require.Less(t, lateness, float64(4*interval/1000))
	require.Zero(t, f.eng.RetrainDue(ctx, at(late+1000)), "caught up: nothing due right after")
}
