package engine

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/testlog"
	"github.com/train-prometheus/train-prometheus/models"
)

// chosenFit is a fit that reports the model it chose, as an auto model's does.
type chosenFit struct{ models.Fitted }

func (chosenFit) Chosen() string { return "seasonal_naive" }

func TestStatus(t *testing.T) {
	f := newFixture(t, testConfig+"    anomaly_warm_up: 1m\n")
	in := labels.FromStrings("__name__", "sine", "job", "app")
	short := labels.FromStrings("__name__", "sine", "job", "short")
	ctx := context.Background()
	now := t0 + 3*time.Hour.Milliseconds()
	f.feed(in, t0, now, sine)
	f.feed(short, now-time.Hour.Milliseconds(), now, sine)

	require.Equal(t, 1, f.eng.RetrainDue(ctx, f.closed(now)))
	f.eng.Evaluate(at(now + 20000))
	// Three steps far outside the band: the anomaly rule ignores one or two.
	const bad = 3
	minute := time.Minute.Milliseconds()
	for k := range int64(bad) {
		f.feed(in, now+k*minute, now+(k+1)*minute, func(int64) float64 { return 1e6 })
		f.eng.Evaluate(at(now + (k+1)*minute + 20000))
	}
	last := now + (bad-1)*minute // the last scored cell

	all := f.eng.Status()
	require.Len(t, all, 2)
	require.Equal(t, "app", all[0].Labels.Get("job"), "sorted by labels")
	st := all[0]
	require.Equal(t, "sine", st.Entry)
	require.True(t, st.Fitted)
	require.Equal(t, f.closed(now), st.LastFit)
	require.Empty(t, st.LastFitErr)
	require.Equal(t, now, st.TrainEnd)
	require.Len(t, st.Models, 2)
	for _, m := range st.Models {
		require.Equal(t, m.Name, m.Chosen)
		require.NotNil(t, m.Fit, m.Name)
		require.Equal(t, 1.0, m.Anomaly, "model %s: the outlier is an anomaly", m.Name)
		require.Greater(t, m.Score, 1.0, m.Name)
		require.Equal(t, last, m.ScoreT)
	}
	require.Empty(t, st.Latest, "not in the list")

	// Not fitted: no fit, no score.
	require.False(t, all[1].Fitted)
	require.True(t, all[1].LastFit.IsZero())
	for _, m := range all[1].Models {
		require.Nil(t, m.Fit)
		require.True(t, math.IsNaN(m.Score))
	}

	// A fit that names its choice shows it.
	f.eng.mu.RLock()
	s := f.eng.states[st.Ref]
	f.eng.mu.RUnlock()
	s.mu.Lock()
	s.fits[0] = chosenFit{s.fits[0]}
	s.mu.Unlock()
	detail, start, vals, ok := f.eng.SeriesHistory(st.Ref, last+minute)
	require.True(t, ok)
	require.Equal(t, "seasonal_naive", detail.Models[0].Chosen)
	require.NotEmpty(t, detail.Latest)
	require.Equal(t, t0, start)
	require.Len(t, vals, 180+bad)
	require.Equal(t, 1e6, vals[180+bad-1])
	_, _, _, ok = f.eng.SeriesHistory(12345, now)
	require.False(t, ok)
}

// TestFirstTrainingLog checks the progress and timing lines of the first
// training, and that later short passes stay quiet at info.
func TestFirstTrainingLog(t *testing.T) {
	f := newFixture(t, testConfig)
	var buf testlog.Buffer
	f.eng.logger = log.NewLogfmtLogger(&buf) // every level
	f.eng.progressEvery = time.Nanosecond    // every tick of the pass logs progress
	now := t0 + 3*time.Hour.Milliseconds()
	for _, job := range []string{"a", "b", "c"} {
		f.feed(labels.FromStrings("__name__", "sine", "job", job), t0, now, sine)
	}
	require.Equal(t, 3, f.eng.RetrainDue(context.Background(), at(now)))
	out := buf.String()
	require.Contains(t, out, `msg="First training started" series=3`)
	require.Regexp(t, `msg="First training done" series=3 new_series=3 duration=\S+`, out)

	// A later pass with a new series is not the first training.
	f.eng.progressEvery = time.Hour
	f.feed(labels.FromStrings("__name__", "sine", "job", "d"), t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(context.Background(), at(now+1000)))
	out = buf.String()
	require.Equal(t, 1, strings.Count(out, "First training started"))
	require.Contains(t, out, `level=debug msg="Training pass done" series=1 new_series=1`)
	require.NotContains(t, out, `level=info msg="Training pass done"`)
}
