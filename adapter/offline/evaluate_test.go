package offline

import (
	"bytes"
	"context"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/registry"
)

// m4Hourly is the M4 hourly training set where the shared datasets are
// mounted; tests that need it skip elsewhere.
const m4Hourly = "../../../shared/datasets/m4-hourly/Hourly-train.csv"

func readExcerpt(t *testing.T) []Series {
	t.Helper()
	f, path := readTestdata(t, "m4-hourly-excerpt.csv")
	series, err := ReadWide(f, path)
	require.NoError(t, err)
	require.Len(t, series, 5)
	return series
}

// TestEvaluateExcerpt runs the benchmark on five M4 hourly series and
// checks its invariants: Naive2's OWA is 1 by construction, every measure
// is finite and in range, and every registered model is scored.
func TestEvaluateExcerpt(t *testing.T) {
	series := readExcerpt(t)
	names := EvaluateModels()
	require.Equal(t, len(registry.Names())+1, len(names))
	scores, err := Evaluate(context.Background(), series, EvaluateOptions{
		Models: names, Holdout: 48, Period: 24, Step: time.Hour,
	})
	require.NoError(t, err)
	require.Len(t, scores, len(names))
	for i, s := range scores {
		require.Equal(t, names[i], s.Model)
		for _, v := range []float64{s.SMAPE, s.MASE, s.OWA} {
			require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s: %+v", s.Model, s)
			require.Positive(t, v, s.Model)
		}
		require.LessOrEqual(t, s.SMAPE, 200.0)
		if s.Model == Naive2 {
			require.Equal(t, 1.0, s.OWA)
			require.True(t, math.IsNaN(s.Coverage))
			continue
		}
		require.Zero(t, s.Failed, s.Model)
		require.GreaterOrEqual(t, s.Coverage, 0.0)
		require.LessOrEqual(t, s.Coverage, 1.0)
	}

	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, scores, len(series), 0))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2+len(names))
	require.Contains(t, lines[0], "coverage of the 95% band")
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "| naive2 | "))
}

// TestEvaluateSeasonalNaiveSMAPE checks the wiring (holdout split, grid,
// averaging) against a number computed here independently: the registered
// seasonal_naive model, with its period fixed at 24, is fitted here to the
// first len-48 values of each series on a 1h grid, and the sMAPE of its
// forecasts of the last 48 is computed by hand.
func TestEvaluateSeasonalNaiveSMAPE(t *testing.T) {
	series := readExcerpt(t)
	scores, err := Evaluate(context.Background(), series, EvaluateOptions{
		Models: []string{"seasonal_naive", Naive2}, Holdout: 48, Period: 24, Step: time.Hour, ModelPeriod: 24,
	})
	require.NoError(t, err)
	var want float64
	for _, s := range series {
		n := len(s.Values) - 48
		m, err := registry.New("seasonal_naive", models.Options{Period: 24})
		require.NoError(t, err)
		train := models.Series{Start: 0, Step: time.Hour.Milliseconds(), Values: s.Values[:n]}
		fit, err := m.Fit(train, nil)
		require.NoError(t, err)
		var sum float64
		for h := range 48 {
			a, f := s.Values[n+h], fit.Predict(train.Time(n+h)).Yhat
			sum += 200 * math.Abs(a-f) / (math.Abs(a) + math.Abs(f))
		}
		want += sum / 48
	}
	want /= float64(len(series))
	require.InDelta(t, want, scores[0].SMAPE, 1e-9)
}

func TestEvaluateErrors(t *testing.T) {
	series := []Series{{ID: "short", Values: make([]float64, 50), Line: 7}}
	opts := EvaluateOptions{Models: []string{Naive2}, Holdout: 48, Period: 24, Step: time.Hour}
	_, err := Evaluate(context.Background(), series, opts)
	require.ErrorContains(t, err, `series "short" (line 7) has 50 values; need more than holdout 48 + period 24`)

	flat := []Series{{ID: "flat", Values: make([]float64, 100), Line: 3}}
	_, err = Evaluate(context.Background(), flat, opts)
	require.ErrorContains(t, err, `series "flat" (line 3) repeats itself exactly every 24 points before the holdout; its MASE is undefined`)

	opts.Models = []string{"fourier"}
	_, err = Evaluate(context.Background(), readExcerpt(t), opts)
	require.ErrorContains(t, err, "must include naive2")

	opts.Models = []string{"nope", Naive2}
	_, err = Evaluate(context.Background(), readExcerpt(t), opts)
	require.ErrorContains(t, err, `unknown model "nope"`)
}

// TestReadWideM4 reads the whole M4 hourly training set when it is there.
func TestReadWideM4(t *testing.T) {
	f, err := os.Open(m4Hourly)
	if os.IsNotExist(err) {
		t.Skip("M4 hourly data not mounted at", m4Hourly)
	}
	require.NoError(t, err)
	defer f.Close()
	series, err := ReadWide(f, m4Hourly)
	require.NoError(t, err)
	require.Len(t, series, 414)
	require.Equal(t, "H1", series[0].ID)
	for _, s := range series {
		require.True(t, slices.Contains([]int{700, 960}, len(s.Values)), "%s has %d values", s.ID, len(s.Values))
	}
}
