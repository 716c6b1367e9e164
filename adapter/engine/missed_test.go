package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestEngineCountsCellsMissed: a cell whose samples come later than
// evaluation_delay is evaluated while empty and never scored; once its
// samples arrive it is counted in cells_missed_total, once. A gap that
// stays a gap is not counted.
func TestEngineCountsCellsMissed(t *testing.T) {
	f := newFixture(t, testConfig)
	in := labels.FromStrings("__name__", "sine", "job", "app")
	minute := time.Minute.Milliseconds()
	now := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), f.closed(now)))
	f.eng.Evaluate(at(now + 20000))
	missed := func() float64 { return testutil.ToFloat64(f.eng.metrics.cellsMissed.WithLabelValues("sine")) }

	late := now + minute // its samples come two steps late
	gap := now + 4*minute
	scored := map[int64]bool{}
	for k := range int64(8) {
		c := now + k*minute
		if c != late && c != gap {
			f.feed(in, c, c+minute, sine)
		}
		if c == late+2*minute {
			// An older cell takes one sample once newer ones hold data.
			require.NoError(t, f.store.Get(in).Append(late, sine(late)))
		}
		f.eng.Evaluate(at(c + minute + 20000))
		for _, s := range f.sink.take() {
			if s.Labels.Get(model.MetricNameLabel) == "sine_anomaly_score" {
				scored[s.T] = true
			}
		}
		want := 0.0
		if c >= late+2*minute {
			want = 1
		}
		require.Equal(t, want, missed(), "after cell %d", k)
	}
	require.False(t, scored[late], "the late cell is never scored")
	require.False(t, scored[gap])
	require.True(t, scored[late+minute])
	n, err := testutil.GatherAndCount(f.reg, "train_prometheus_engine_cells_missed_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
