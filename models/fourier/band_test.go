package fourier_test

import (
	"encoding"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/fourier"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
)

// TestCoverageNearNominal averages, over seeds, the out-of-sample coverage
// of the 95% band over the first 6 steps (what the engine forecasts between
// refits) and over 48, for white noise around a daily pattern and for a
// pattern whose level wanders (a random walk), which the in-sample residual
// understates: both must be near 95%.
func TestCoverageNearNominal(t *testing.T) {
	const seeds, horizon, near = 100, 48, 6
	for _, tc := range []struct {
		name  string
		drift float64 // standard deviation of the level's step
	}{
		{"white noise", 0},
		{"wandering level", 0.08},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var covNear, covAll, width float64
			for seed := range uint64(seeds) {
				rng := rand.New(rand.NewPCG(seed, 7))
				spec := synth.Spec{Level: 20, Amplitude: 3, Period: 24, Phase: 2 * math.Pi * rng.Float64(), Noise: 0.5, Seed: seed}
				all := spec.Values(24*14 + horizon)
				level := 0.0
				for i := range all {
					level += tc.drift * rng.NormFloat64()
					all[i] += level
				}
				s := models.Series{Start: start, Step: step, Values: all[: 24*14 : 24*14]}
				future := all[24*14:]
				f := fit(t, models.Options{}, 0, s)
				covNear += modeltest.Coverage(t, f, s, future[:near]) / seeds
				covAll += modeltest.Coverage(t, f, s, future) / seeds
				p := f.Predict(s.End())
				width += (p.Upper - p.Yhat) / 1.96 / seeds
			}
			t.Logf("coverage of the 95%% band: first %d steps %.3f, %d steps %.3f; band sigma at the first step %.3f",
				near, covNear, horizon, covAll, width)
			require.InDelta(t, 0.95, covNear, 0.04)
			require.InDelta(t, 0.95, covAll, 0.04)
			if tc.drift == 0 {
				// Not wider than it must be: sigma near the noise's.
				require.InEpsilon(t, 0.5, width, 0.15)
			}
		})
	}
}

// TestBandGrowsWithHorizon checks that with a wandering level the band
// widens with the distance from the end of the training window (on
// average over series; it never narrows), and that inside the window it
// is the width of the first step.
func TestBandGrowsWithHorizon(t *testing.T) {
	const seeds, n = 20, 24 * 14
	var first, last float64
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 3))
		all := synth.Spec{Level: 20, Amplitude: 3, Period: 24, Noise: 0.2, Seed: seed}.Values(n)
		level := 0.0
		for i := range all {
			level += 0.2 * rng.NormFloat64()
			all[i] += level
		}
		s := models.Series{Start: start, Step: step, Values: all}
		f := fit(t, models.Options{}, 0, s)
		half := func(i int) float64 { p := f.Predict(s.Time(i)); return p.Upper - p.Yhat }
		require.InDelta(t, half(n), half(n-1), 1e-9)
		require.InDelta(t, half(n), half(0), 1e-9)
		for i := n; i < n+48; i++ {
			require.GreaterOrEqual(t, half(i+1), half(i)-1e-9)
		}
		first += half(n) / seeds
		last += half(n+47) / seeds
	}
	t.Logf("mean half width: first step %.3f, 48th %.3f", first, last)
	require.Greater(t, last, 1.2*first)
}

// TestBurst checks the fit is robust to a burst of outliers in its
// training data: 5 cells at +40 on a sine of amplitude 5, anywhere in the
// window (also in its last period, and in its last cells), with the period
// detected or given, leave the forecast of the next two periods within 1 of
// the clean pattern, and the band narrow.
func TestBurst(t *testing.T) {
	spec := synth.Spec{Level: 10, Amplitude: 5, Period: 60, Noise: 0.3, Seed: 8}
	const n = 60 * 8
	for _, at := range []int{100, 250, n - 60, n - 30, n - 12} {
		for _, opts := range []models.Options{{}, {Period: 60}} {
			values := spec.Values(n)
			for i := at; i < at+5; i++ {
				values[i] += 40
			}
			s := models.Series{Start: start, Step: step, Values: values}
			f := fit(t, opts, 0, s)
			for i := n; i < n+120; i++ {
				p := f.Predict(s.Time(i))
				require.InDelta(t, spec.Clean(i), p.Yhat, 1, "burst at %d, period %d: cell %d", at, opts.Period, i)
				require.Less(t, p.Upper-p.Yhat, 4*1.96*spec.Noise, "burst at %d, period %d: cell %d", at, opts.Period, i)
			}
		}
	}
}

// TestBurstNoPeriod checks the robust fit without a seasonal period (a
// trend): a burst in the interior leaves the forecast on the line.
func TestBurstNoPeriod(t *testing.T) {
	spec := synth.Spec{Level: 10, Slope: 0.02, Noise: 0.3, Seed: 9}
	values := spec.Values(300)
	for i := 150; i < 155; i++ {
		values[i] += 40
	}
	s := models.Series{Start: start, Step: step, Values: values, Period: -1}
	f := fit(t, models.Options{}, 0, s)
	for i := 300; i < 348; i++ {
		require.InDelta(t, spec.Clean(i), f.Predict(s.Time(i)).Yhat, 1, "cell %d", i)
	}
}

// TestRestoreRefusesOldVersions checks that state saved by the builds with
// a constant band (versions 1 and 2) is refused as an unknown format.
func TestRestoreRefusesOldVersions(t *testing.T) {
	s := synth.Spec{Level: 5, Amplitude: 2, Period: 24, Noise: 0.1, Seed: 1}.Series(start, step, 24*5)
	data, err := fit(t, models.Options{}, 0, s).(encoding.BinaryMarshaler).MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(3), data[0])
	for _, v := range []byte{1, 2} {
		data[0] = v
		f, err := fourier.New(models.Options{}, 0).(models.Restorer).Restore(data, s)
		require.ErrorIs(t, err, models.ErrUnknownFormat)
		require.Nil(t, f)
	}
}

// TestShortHistoryBand is the case: with two to three and a half
// periods of history the band was 20–60 times the noise's (the holdout fit
// trained on one period, whose least squares trend the season tilts, and
// forecast a period ahead with that tilt). It must stay of the order of
// the noise: at most 4 times 2·z·σ with a +6 (20σ) shift in the history
// (not clipped with fewer than three cycles, so it widens the band), 3
// times without.
func TestShortHistoryBand(t *testing.T) {
	m := fourier.New(models.Options{}, 0)
	t.Run("daily sine with a shift", func(t *testing.T) { modeltest.ShortHistoryBand(t, m, modeltest.DailySine, 4) })
	t.Run("node_load1-like", func(t *testing.T) { modeltest.ShortHistoryBand(t, m, modeltest.NodeLoad, 3) })
}

// TestOnePeriodWindow checks the fit of a window of one period (1 to 2
// periods of data, the period given): the trend is flat, not the least
// squares line the season tilts, so the next period repeats the last one.
func TestOnePeriodWindow(t *testing.T) {
	spec := synth.Spec{Level: 10, Amplitude: 5, Period: 240, Noise: 0.3, Seed: 4}
	for _, n := range []int{240, 300, 479} {
		s := spec.Series(start, step, n)
		f := fit(t, models.Options{Period: 240}, 0, s)
		mae := maeFrom(f, s, n, 240, spec.Clean)
		require.Less(t, mae, spec.Noise, "%d cells", n)
	}
}
