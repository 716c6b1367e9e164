package modeltest

import (
	"testing"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/internal/synth"
)

// BenchmarkFitWarm measures refits as the engine does them: the same data
// as BenchmarkFit moved on by 15 minutes, with the fit of the previous
// window as prev (for models that warm-start from it).
func BenchmarkFitWarm(b *testing.B, m models.Model) {
	for _, tc := range []struct {
		name string
		step int64
		n    int
	}{
		{"7d_1m", 60_000, 7 * 1440},
		{"7d_5m", 300_000, 7 * 288},
	} {
		b.Run(tc.name, func(b *testing.B) {
			perDay := float64(86_400_000 / tc.step)
			shift := int(15 * 60_000 / tc.step)
			all := synth.Spec{Level: 50, Amplitude: 10, Period: perDay, Noise: 2, Seed: 1}.Values(tc.n + shift)
			old := models.Series{Start: start, Step: tc.step, Values: all[:tc.n]}
			s := models.Series{Start: start + int64(shift)*tc.step, Step: tc.step, Values: all[shift:]}
			prev, err := m.Fit(old, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Fit(s, prev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
