package prophet

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeasonalities(t *testing.T) {
	const (
		minute = int64(60_000)
		hour   = 60 * minute
	)
	upTo := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	tests := []struct {
		name   string
		span   int64
		step   int64
		period int // steps
		want   []seasonality
	}{
		{"one day: none", day, minute, 0, nil},
		{"7 days at 5m: daily", 7*day - 5*minute, 5 * minute, 0, []seasonality{{day, upTo(4)}}},
		{"14 days less a step: still no weekly", 14*day - 5*minute, 5 * minute, 0, []seasonality{{day, upTo(4)}}},
		{"29 days at 1h: daily and weekly", 699 * hour, hour, 0, []seasonality{{day, upTo(4)}, {week, upTo(3)}}},
		{"two years at 1d: weekly and yearly", 2 * year, day, 0, []seasonality{{week, upTo(3)}, {year, upTo(10)}}},
		{"6h step: daily order capped below Nyquist", 30 * day, 6 * hour, 0, []seasonality{{day, upTo(1)}, {week, upTo(3)}}},
		{"caller's daily period adds nothing", 29 * day, hour, 24, []seasonality{{day, upTo(4)}, {week, upTo(3)}}},
		{"caller's weekly period adds nothing", 29 * day, hour, 168, []seasonality{{day, upTo(4)}, {week, upTo(3)}}},
		{"caller's 1h period at 1m", 6 * hour, minute, 60, []seasonality{{hour, upTo(5)}}},
		{"caller's period of a day less a minute is a day", 7 * day, minute, 1439, []seasonality{{day, upTo(4)}}},
		{"caller's period of a day less an hour is not, over 30 days", 30 * day, hour, 23, []seasonality{{day, upTo(4)}, {week, upTo(3)}, {23 * hour, upTo(5)}}},
		{"caller's period too long for the span", 6 * hour, minute, 240, nil},
		{"caller's 12h period keeps the harmonics daily lacks", 3 * day, 5 * minute, 144, []seasonality{{day, upTo(4)}, {12 * hour, []int{3, 4, 5}}}},
		{"caller's 5-step period at 1h, capped", 10 * day, hour, 5, []seasonality{{day, upTo(4)}, {5 * hour, upTo(2)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, seasonalities(tc.span, tc.step, tc.period))
		})
	}
}

// TestFeatureGen checks the rotated features against exact sines and
// cosines over a long run with jumps, and before the Unix epoch.
func TestFeatureGen(t *testing.T) {
	seas := []seasonality{{day, []int{1, 2, 3, 4}}, {week, []int{1, 2, 3}}, {3_600_000, []int{3, 5}}}
	for _, st := range []int64{-1_000_000_000, 1_700_000_000_000} {
		const step = 60_000
		g := newFeatureGen(seas, st, step)
		f := make([]float64, numFeatures(seas))
		worst := 0.0
		for row := 0; row < 20_000; row++ {
			if row%1000 == 7 {
				row += 13 // a gap
			}
			g.at(row, f)
			tm := st + int64(row)*step
			i := 0
			for _, s := range seas {
				for _, h := range s.harmonics {
					sn, c := math.Sincos(float64(h) * phase(tm, s.period))
					worst = max(worst, math.Abs(sn-f[i]), math.Abs(c-f[i+1]))
					i += 2
				}
			}
		}
		require.Less(t, worst, 1e-12)
	}
}
