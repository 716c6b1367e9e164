package models_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

func TestWeeklyIfBetter(t *testing.T) {
	const hour = int64(3_600_000)
	plain := synth.Spec{Level: 50, Amplitude: 8, Period: 24, Noise: 0.5, Seed: 3}.Values(24 * 7 * 3)
	weekend := append([]float64(nil), plain...)
	for i := range weekend {
		if (i/24)%7 >= 5 {
			weekend[i] += 10
		}
	}
	tests := []struct {
		name   string
		values []float64
		period int
		step   int64
		want   int
	}{
		{"weekend differs", weekend, 24, hour, 168},
		{"with gaps", synth.WithGaps(weekend, 5, 300, 301, 502), 24, hour, 168},
		{"every day alike", plain, 24, hour, 24},
		{"period is not a day", weekend, 24, 60_000, 24},
		{"under three weeks", weekend[:24*20], 24, hour, 24},
		{"daily at 5m", make([]float64, 288*7*3), 288, 300_000, 288}, // constant: no gain
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, models.WeeklyIfBetter(tc.values, tc.period, tc.step))
		})
	}
}
