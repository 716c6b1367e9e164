package fourier

import (
	"math"
	"slices"

	"github.com/train-prometheus/train-prometheus/models"
)

// clipScale is how far, in robust standard deviations, an observed value may
// lie from its reference before Fit pulls it in to that distance. Lenient:
// M4 hourly series have real structure the reference misses (at 4, mean
// MASE rose 5%; at 8, 0.2%), while a burst is tens of σ out.
const clipScale = 8

// mad is the ratio of the standard deviation to the median absolute
// deviation for normal data.
const mad = 1.482602218505602

// robustClip returns a copy of values (gaps kept as NaN) in which each
// observed value farther than clipScale robust standard deviations from a
// robust reference is pulled in to that distance, and whether any was.
// With ref nil the reference is the seasonal profile of the given period
// (the caller makes sure of minCycles whole cycles): a slope (median of the
// seasonal differences) plus, per phase of the cycle, the median over the
// cycles; a burst that touches a minority of cycles moves neither. Else it
// is ref (NaN: no reference, not clipped), a running median. The scale is
// the MAD of the residuals from the reference (the mean absolute deviation
// when the MAD is 0), at least relFloor of the data. buf is scratch of at
// least len(values).
func robustClip(values []float64, period int, ref []float64, buf []float64) ([]float64, bool) {
	n := len(values)
	clean := make([]float64, n)
	copy(clean, values)
	clipped := false
	if ref == nil {
		// Seasonal profile.
		diffs := buf[:0]
		for i := period; i < n; i++ {
			if models.IsObserved(values[i]) && models.IsObserved(values[i-period]) {
				diffs = append(diffs, values[i]-values[i-period])
			}
		}
		if len(diffs) == 0 {
			return clean, false
		}
		slope := models.SelectK(diffs, len(diffs)/2) / float64(period)
		cycles := n / period
		profile := make([]float64, period)
		col := buf[:0:cycles]
		for p := range period {
			col = col[:0]
			for i := p; i < n; i += period {
				if v := values[i]; models.IsObserved(v) {
					col = append(col, v-slope*float64(i))
				}
			}
			profile[p] = math.NaN()
			if len(col) > 0 {
				profile[p] = models.SelectK(col, len(col)/2)
			}
		}
		// The scale of the residuals from the profile, leaving out the
		// zeros of the medians themselves (a third of the residuals with
		// three cycles).
		devs := buf[:0]
		for i, v := range values {
			if r := math.Abs(v - slope*float64(i) - profile[i%period]); r > 0 && models.IsObserved(v) {
				devs = append(devs, r) // a NaN profile compares false
			}
		}
		if len(devs) == 0 {
			return clean, false
		}
		limit := floorLimit(clipScale*robustScale(devs), values)
		for i, v := range values {
			if ref := slope*float64(i) + profile[i%period]; models.IsObserved(v) && !math.IsNaN(ref) {
				clean[i] = clamp(v, ref, limit)
				clipped = clipped || clean[i] != v
			}
		}
	} else {
		devs := buf[:0]
		for i, v := range values {
			if d := math.Abs(v - ref[i]); models.IsObserved(v) && !math.IsNaN(d) {
				devs = append(devs, d)
			}
		}
		if len(devs) == 0 {
			return clean, false
		}
		limit := floorLimit(clipScale*robustScale(devs), values)
		for i, v := range values {
			if models.IsObserved(v) && !math.IsNaN(ref[i]) {
				clean[i] = clamp(v, ref[i], limit)
				clipped = clipped || clean[i] != v
			}
		}
	}
	return clean, clipped
}

// relFloor is the least clipping distance relative to the mean absolute
// value of the data: below it a deviation is rounding (of an exactly
// periodic series, say), not an outlier.
const relFloor = 1e-9

// floorLimit returns limit, at least relFloor times the mean absolute
// observed value.
func floorLimit(limit float64, values []float64) float64 {
	var sum, cnt float64
	for _, v := range values {
		if models.IsObserved(v) {
			sum += math.Abs(v)
			cnt++
		}
	}
	return max(limit, relFloor*sum/max(cnt, 1))
}

// robustScale returns the standard deviation of normal data whose absolute
// deviations devs are (reordered): the MAD scaled, or, when more than half
// of devs are 0 (a series resting on one value), the mean absolute
// deviation scaled, so that the rest is not all clipped flat.
func robustScale(devs []float64) float64 {
	if s := mad * models.SelectK(devs, len(devs)/2); s > 0 {
		return s
	}
	var sum float64
	for _, d := range devs {
		sum += d
	}
	return math.Sqrt(math.Pi/2) * sum / float64(len(devs))
}

// clamp returns v pulled to within limit of ref.
func clamp(v, ref, limit float64) float64 {
	return min(max(v, ref-limit), ref+limit)
}

// medianHalf is the half width of the running median that is the reference
// of robustClip without a seasonal profile: bursts of up to this many cells
// are ignored by it.
const medianHalf = 6

// runningMedian writes to out, for each cell at least half cells from both
// ends, the median of the observed values within half cells of it, NaN
// elsewhere and where there is none, and returns it. A median over a
// one-sided window would be off the data wherever it slopes, so the ends
// get no reference and are not clipped. The window slides as a sorted
// slice: one removal and one insertion per cell.
func runningMedian(values []float64, half int, out []float64) []float64 {
	out = out[:len(values)]
	win := make([]float64, 0, 2*half+1) // observed values of the window, sorted
	insert := func(v float64) {
		at, _ := slices.BinarySearch(win, v)
		win = slices.Insert(win, at, v)
	}
	for i := range min(2*half, len(values)) {
		if models.IsObserved(values[i]) {
			insert(values[i])
		}
	}
	for i := range values {
		out[i] = math.NaN()
		if i < half || i+half >= len(values) {
			continue
		}
		if v := values[i+half]; models.IsObserved(v) {
			insert(v)
		}
		if len(win) > 0 {
			out[i] = win[len(win)/2] // as models.SelectK(win, len(win)/2)
		}
		if v := values[i-half]; models.IsObserved(v) {
			at, _ := slices.BinarySearch(win, v)
			win = slices.Delete(win, at, at+1)
		}
	}
	return out
}
