package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func gen(n int, period, amp, noise, slope float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := make([]float64, n)
	for i := range v {
		v[i] = 10 + slope*float64(i) + amp*math.Sin(2*math.Pi*float64(i)/period) + noise*rng.NormFloat64()
	}
	return v
}

func TestDbg(t *testing.T) {
	v := gen(96, 24, 1, 0.5, 0.01, 0)
	_, slope, _ := LinearTrend(v)
	acf, _ := correlogram(v, slope, 48)
	fmt.Println(pickPeak(acf))
	slope, _ = seasonalSlope(v, 23)
	_, vario := correlogram(v, slope, 94)
	for k := 16; k < 90; k++ {
		fmt.Printf("%d:%.3f ", k, vario[k])
	}
	fmt.Println()
}
