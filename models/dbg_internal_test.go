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
	for seed := range uint64(200) {
		v := gen(96, 24, 1, 0.5, 0.01, seed)
		if p := DetectPeriod(v, 0); p > 30 {
			_, slope, _ := LinearTrend(v)
			acf := autocorrelation(v, slope, 48)
			fmt.Println(seed, p, pickPeak(acf))
			for k := 16; k < len(acf); k++ {
				fmt.Printf("%d:%.2f ", k, acf[k])
			}
			fmt.Println()
		}
	}
	for seed := range uint64(200) {
		v := gen(60, 30, 1, 0.1, 0, seed)
		if p := DetectPeriod(v, 0); p == 0 {
			_, slope, _ := LinearTrend(v)
			acf := autocorrelation(v, slope, 30)
			fmt.Println(seed, p, pickPeak(acf))
			for k := 20; k < len(acf); k++ {
				fmt.Printf("%d:%.3f ", k, acf[k])
			}
			fmt.Println()
		}
	}
}
