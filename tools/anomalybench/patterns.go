package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// pattern makes the clean values of one kind of operations series: n
// values on a grid of step starting at start (ms), and whether they are
// integers. kinds are the anomalies that make sense on it.
type pattern struct {
	name  string
	kinds []Kind
	make  func(r *rand.Rand, step time.Duration, n int, start int64) (values []float64, integer bool)
}

var dayMs = (24 * time.Hour).Milliseconds()

// patterns are the synthetic series, made in turn.
var patterns = []pattern{
	{"requests_rate", Kinds, requestsRate},
	{"latency_heavy_tail", Kinds, latencyHeavyTail},
	{"cpu_ar1", Kinds, cpuAR1},
	{"memory_trend", Kinds, memoryTrend},
	{"queue_laplace", Kinds, queueLaplace},
	{"bytes_lognormal", Kinds, bytesLognormal},
	{"goroutines", []Kind{Spike, Dip, LevelShift, TrendChange, VarianceBurst, Stuck, Missing}, goroutines},
	{"series_count", []Kind{Spike, Dip, LevelShift, TrendChange, VarianceBurst, Stuck, Missing}, seriesCount},
	{"flat", []Kind{Spike, Dip, LevelShift, TrendChange, VarianceBurst, Missing}, flat},
}

// season is a daily profile with a business-hours bump (smaller at
// weekends) and a daily harmonic, about 0 to 1.5.
type season struct {
	peak, width      float64 // bump centre and width, fractions of a day
	harm, harmPhase  float64
	weekendReduction float64 // of the bump on Saturday and Sunday
}

func newSeason(r *rand.Rand) season {
	s := season{
		peak: 0.4 + 0.25*r.Float64(), width: 0.06 + 0.08*r.Float64(),
		harm: 0.1 + 0.3*r.Float64(), harmPhase: 2 * math.Pi * r.Float64(),
	}
	if r.IntN(4) > 0 {
		s.weekendReduction = 0.2 + 0.6*r.Float64()
	}
	return s
}

func (s season) at(t int64) float64 {
	day := math.Floor(float64(t) / float64(dayMs))
	tod := float64(t)/float64(dayMs) - day
	d := tod - s.peak
	d -= math.Round(d) // circular distance, in [-0.5, 0.5]
	bump := math.Exp(-0.5 * (d / s.width) * (d / s.width))
	if dow := (int64(day) + 3) % 7; dow >= 5 { // 1970-01-01 was a Thursday: 0 = Monday
		bump *= 1 - s.weekendReduction
	}
	return bump + s.harm*(1+math.Cos(2*math.Pi*tod+s.harmPhase))/2
}

func times(step time.Duration, n int, start int64) []int64 {
	t := make([]int64, n)
	for i := range t {
		t[i] = start + int64(i)*step.Milliseconds()
	}
	return t
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// logUniform draws 10^u, u uniform in [lo, hi].
func logUniform(r *rand.Rand, lo, hi float64) float64 { return math.Pow(10, uniform(r, lo, hi)) }

// studentT3 draws from Student's t with 3 degrees of freedom (heavy tails).
func studentT3(r *rand.Rand) float64 {
	c := 0.0
	for range 3 {
		z := r.NormFloat64()
		c += z * z
	}
	return r.NormFloat64() / math.Sqrt(c/3)
}

func laplace(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return -r.ExpFloat64()
	}
	return r.ExpFloat64()
}

// ar1 returns n values of an AR(1) process with coefficient phi and
// marginal SD 1.
func ar1(r *rand.Rand, n int, phi float64) []float64 {
	e := make([]float64, n)
	prev := r.NormFloat64()
	innov := math.Sqrt(1 - phi*phi)
	for i := range e {
		prev = phi*prev + innov*r.NormFloat64()
		e[i] = prev
	}
	return e
}

// poisson draws a Poisson count (normal approximation above a mean of 30).
func poisson(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean >= 30 {
		return max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64()))
	}
	limit, p := math.Exp(-mean), 1.0
	for k := 0; ; k++ {
		if p *= r.Float64(); p <= limit {
			return float64(k)
		}
	}
}

// requestsRate is a request counter turned into a per-second rate, as
// rate() over one step would: Poisson increments whose mean follows the
// daily and weekly profile, from 0.3 to 500 requests per second.
func requestsRate(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, amp := newSeason(r), logUniform(r, -0.5, 2.7), uniform(r, 0.5, 2)
	sec := step.Seconds()
	counter := 0.0
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		prev := counter
		counter += poisson(r, base*(0.2+amp*s.at(t))*sec)
		v[i] = (counter - prev) / sec
	}
	return v, false
}

// latencyHeavyTail is a latency with a daily profile and Student-t noise.
func latencyHeavyTail(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, amp, noise := newSeason(r), uniform(r, 0.05, 2), uniform(r, 0.2, 1), uniform(r, 0.02, 0.1)
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		v[i] = max(0.05*base, base*(1+amp*s.at(t))+base*noise*studentT3(r))
	}
	return v, false
}

// cpuAR1 is a CPU usage in cores with AR(1) noise (phi 0.5-0.95).
func cpuAR1(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, amp := newSeason(r), uniform(r, 0.2, 4), uniform(r, 0.3, 1.5)
	noise := ar1(r, n, uniform(r, 0.5, 0.95))
	sd := base * uniform(r, 0.02, 0.08)
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		v[i] = max(0, base*(0.5+amp*s.at(t))+sd*noise[i])
	}
	return v, false
}

// memoryTrend is a memory use in bytes growing steadily (5-30% over the
// series), with a small daily profile and mildly autocorrelated noise.
func memoryTrend(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, growth := newSeason(r), logUniform(r, 8, 9.5), uniform(r, 0.05, 0.3)
	amp, sd := uniform(r, 0, 0.03), base*uniform(r, 0.002, 0.01)
	noise := ar1(r, n, 0.3)
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		v[i] = base*(1+growth*float64(i)/float64(n)+amp*s.at(t)) + sd*noise[i]
	}
	return v, false
}

// queueLaplace is a queue depth with a daily profile and Laplace noise.
func queueLaplace(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, amp := newSeason(r), uniform(r, 5, 200), uniform(r, 0.3, 1.5)
	sd := base * uniform(r, 0.03, 0.1)
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		v[i] = max(0, base*(0.5+amp*s.at(t))+sd*laplace(r))
	}
	return v, false
}

// bytesLognormal is a throughput with multiplicative (log-normal) noise.
func bytesLognormal(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, base, sigma := newSeason(r), logUniform(r, 4, 6), uniform(r, 0.03, 0.15)
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		v[i] = base * (0.3 + s.at(t)) * math.Exp(sigma*r.NormFloat64())
	}
	return v, false
}

// goroutines is an integer count that steps now and then (about every 8
// hours, by 0.5-3%) and jitters by a few units.
func goroutines(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	level := math.Round(logUniform(r, 1.3, 3))
	jitter := uniform(r, 0.3, 3)
	p := step.Hours() / 8
	v := make([]float64, n)
	for i := range v {
		if r.Float64() < p {
			d := max(1, math.Round(level*uniform(r, 0.005, 0.03)))
			if r.IntN(2) == 0 && level > d {
				d = -d
			}
			level += d
		}
		v[i] = max(0, level+math.Round(jitter*r.NormFloat64()))
	}
	return v, true
}

// seriesCount is an integer count of series with a weak daily profile
// (churn) that steps now and then (deploys, about every 12 hours).
func seriesCount(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	s, level := newSeason(r), logUniform(r, 3, 5)
	amp, sd := uniform(r, 0.01, 0.05), level*uniform(r, 0.0005, 0.003)
	p := step.Hours() / 12
	v := make([]float64, n)
	for i, t := range times(step, n, start) {
		if r.Float64() < p {
			level *= 1 + uniform(r, -0.01, 0.02)
		}
		v[i] = math.Round(level*(1+amp*s.at(t)) + sd*r.NormFloat64())
	}
	return v, true
}

// flat is a constant: an integer (0, 1, 3 or 64: up, a replica count, a
// limit) or a float that wobbles by 1e-4 relative.
func flat(r *rand.Rand, step time.Duration, n int, start int64) ([]float64, bool) {
	v := make([]float64, n)
	if r.IntN(2) == 0 {
		c := []float64{0, 1, 3, 64}[r.IntN(4)]
		for i := range v {
			v[i] = c
		}
		return v, true
	}
	c := logUniform(r, 0, 4)
	for i := range v {
		v[i] = c * (1 + 1e-4*r.NormFloat64())
	}
	return v, false
}
