package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimeTicks(t *testing.T) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, tc := range []struct {
		name   string
		t0, t1 int64
		want   []string
	}{
		{"a day at 1m steps", day - 7*3600_000 - 60_000, day + 17*3600_000 - 60_000,
			[]string{"12-02 18:00", "12-03 00:00", "06:00", "12:00"}},
		{"two hours", day + 10*3600_000 + 7*60_000, day + 12*3600_000 + 7*60_000,
			[]string{"12-03 10:30", "11:00", "11:30", "12:00"}},
		{"a week", day, day + 7*86_400_000, []string{"12-03", "12-05", "12-07", "12-09"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tk := range timeTicks(tc.t0, tc.t1) {
				require.GreaterOrEqual(t, tk.ms, tc.t0)
				require.LessOrEqual(t, tk.ms, tc.t1)
				got = append(got, tk.label)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestChartLastTickNotClipped: a tick at the plot's right edge is anchored
// at its end, so its label stays inside the chart.
func TestChartLastTickNotClipped(t *testing.T) {
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC).UnixMilli()
	vals := make([]float64, 121) // 2h at 1m: the last cell is on a round hour
	for i := range vals {
		vals[i] = float64(i % 7)
	}
	c := buildChart(start, 60_000, vals, nil, 0, start)
	require.NotNil(t, c)
	const labelW = 72 // "12-03 00:00" at 11px, about
	for _, tk := range c.XTicks {
		lo, hi := tk.Pos-labelW/2, tk.Pos+labelW/2
		switch tk.Anchor {
		case "start":
			lo, hi = tk.Pos, tk.Pos+labelW
		case "end":
			lo, hi = tk.Pos-labelW, tk.Pos
		}
		require.True(t, lo >= 0 && hi <= c.W, "tick %+v clipped: [%v, %v] outside [0, %v]", tk, lo, hi, c.W)
	}
	last := c.XTicks[len(c.XTicks)-1]
	require.Equal(t, "end", last.Anchor, "%+v", last)
	require.Equal(t, "02:00", last.Label)
}
