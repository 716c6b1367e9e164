package anomaly

import "math"

// Floors returns two lower bounds that a series' own history puts under
// its error scale and its forecast band:
//
//   - noise is the smallest error scale the data can support: half the
//     resolution its values are recorded at (the largest power of ten they
//     are all multiples of: 1 for counts, 0.01 for a load average), half the
//     smallest move between consecutive values, and a millionth of its
//     typical magnitude. A count that moves by one is never anomalous for it.
//   - band is the smallest half-width of a forecast band for a series that
//     has moved: the smallest move it has made (0 for a series that never
//     moved). A step-like series never gets a zero-width band.
//
// NaN and ±Inf values are gaps.
func Floors(values []float64) (noise, band float64) {
	minMove := math.Inf(1)
	prev := math.NaN()
	var absSum float64
	n := 0
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if d := math.Abs(v - prev); d > 0 && d < minMove {
			minMove = d
		}
		prev = v
		absSum += math.Abs(v)
		n++
	}
	if n == 0 {
		return 0, 0
	}
	if math.IsInf(minMove, 1) {
		minMove = 0
	}
	noise = max(resolution(values)/2, minMove/2, 1e-6*absSum/float64(n))
	return noise, minMove
}

// resolution returns the largest power of ten, from 1e-6 to 1e6 and not
// above the largest magnitude, that a sample of the observed values are all
// integer multiples of; 0 when there is none.
func resolution(values []float64) float64 {
	const maxSample = 256
	stride := max(1, len(values)/maxSample)
	var sample []float64
	maxAbs := 0.0
	for i := 0; i < len(values); i += stride {
		if v := values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			sample = append(sample, v)
			maxAbs = max(maxAbs, math.Abs(v))
		}
	}
	if maxAbs == 0 {
		return 0
	}
next:
	for e := 6; e >= -6; e-- {
		q := math.Pow10(e)
		if q > maxAbs {
			continue
		}
		for _, v := range sample {
			r := v / q
			if math.Abs(r-math.Round(r)) > 1e-6*max(1, math.Abs(r))*1e-3 {
				continue next
			}
		}
		return q
	}
	return 0
}
