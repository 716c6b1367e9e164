package prophet

import "math"

// Seasonal periods in ms, and the Fourier orders Prophet uses for them.
const (
	day         = int64(86_400_000)
	week        = 7 * day
	year        = int64(31_557_600_000) // 365.25 days, as in Prophet
	dailyOrder  = 4
	weeklyOrder = 3
	yearlyOrder = 10
	// customOrder is the order of the caller's seasonal period when it is
	// not a day, a week or a year (Prophet's documented example for a
	// custom seasonality uses 5).
	customOrder = 5
	// anchorEvery is how many rows the feature rotation runs between
	// exact evaluations, bounding its rounding drift to ~1e-14.
	anchorEvery = 256
)

// seasonality is one Fourier series: for each harmonic k it contributes
// the features sin(2πk·x) and cos(2πk·x), where x is the phase of the
// absolute time in the period. Phases are taken from absolute time (Unix
// ms), so a fit's seasonal features do not depend on where its window starts.
type seasonality struct {
	period    int64 // ms
	harmonics []int // increasing, >= 1
}

// seasonalities chooses the Fourier series for a history spanning span ms
// on a grid of step ms, with the caller's seasonal period (in steps; 0 for
// none): daily, weekly and yearly as Prophet does, plus the caller's period
// when it is none of those. A period is used only when the history covers
// at least two of them, and its order is capped below the Nyquist frequency
// of the grid (k·step < period/2), so no feature is aliased to zero. A
// harmonic whose frequency another series already has, as far as the span
// can tell, is dropped (a 12h period next to the daily series keeps only
// its odd harmonics), which keeps the design matrix well conditioned.
func seasonalities(span, step int64, period int) []seasonality {
	type candidate struct {
		period int64
		order  int
	}
	cands := []candidate{{day, dailyOrder}, {week, weeklyOrder}, {year, yearlyOrder}}
	if period > 0 {
		p := int64(period) * step
		custom := p/int64(period) == step // else it overflowed
		for _, c := range cands[:3] {
			// A period the span cannot tell from a day, a week or a year
			// (detected as 1439 minutes, say) is that period.
			custom = custom && !sameFrequency(1, p, 1, c.period, span)
		}
		if custom {
			cands = append(cands, candidate{p, customOrder})
		}
	}
	var out []seasonality
	for _, c := range cands {
		if span < 2*c.period {
			continue
		}
		// Largest k with k/period < 1/(2 step).
		kmax := int(math.Ceil(float64(c.period)/float64(2*step))) - 1
		order := min(c.order, kmax)
		var hs []int
		for k := 1; k <= order; k++ {
			if !hasFrequency(out, k, c.period, span) {
				hs = append(hs, k)
			}
		}
		if len(hs) > 0 {
			out = append(out, seasonality{period: c.period, harmonics: hs})
		}
	}
	return out
}

// hasFrequency reports whether one of seas has the frequency k/period, as
// far as a history of span ms can tell (sameFrequency).
func hasFrequency(seas []seasonality, k int, period, span int64) bool {
	for _, s := range seas {
		for _, h := range s.harmonics {
			if sameFrequency(k, period, h, s.period, span) {
				return true
			}
		}
	}
	return false
}

// sameFrequency reports whether the frequencies k1/p1 and k2/p2 (per ms)
// are closer than 1/span: within the span they drift apart by less than
// one cycle, so their features are nearly collinear.
func sameFrequency(k1 int, p1 int64, k2 int, p2 int64, span int64) bool {
	d := math.Abs(float64(k1)/float64(p1) - float64(k2)/float64(p2))
	return d*float64(span) < 1
}

// numFeatures returns the number of features of seas: two per harmonic.
func numFeatures(seas []seasonality) int {
	n := 0
	for _, s := range seas {
		n += 2 * len(s.harmonics)
	}
	return n
}

// phase returns 2π times the position of time t (ms) in period.
func phase(t, period int64) float64 {
	r := t % period
	if r < 0 {
		r += period
	}
	return 2 * math.Pi * float64(r) / float64(period)
}

// harmonicsFrom writes the features of s, given cos and sin of its base
// angle, to f (sin, cos per harmonic) and returns the rest of f. Powers
// of the base come from complex multiplication, not from more Sincos calls.
func harmonicsFrom(s seasonality, c, sn float64, f []float64) []float64 {
	pc, ps := c, sn // cos, sin of k·angle
	k := 1
	for _, h := range s.harmonics {
		for ; k < h; k++ {
			pc, ps = pc*c-ps*sn, ps*c+pc*sn
		}
		f[0], f[1] = ps, pc
		f = f[2:]
	}
	return f
}

// featureGen produces the seasonal features row after row of a grid,
// rotating each series' base angle by one step per row and evaluating it
// exactly every anchorEvery rows or after a jump.
type featureGen struct {
	seas        []seasonality
	start, step int64
	row         int       // last row produced; -1 before the first
	since       int       // rows since the last exact evaluation
	c, s        []float64 // cos, sin of each base angle at row
	dc, ds      []float64 // cos, sin of each base angle's step
}

func newFeatureGen(seas []seasonality, start, step int64) *featureGen {
	g := &featureGen{seas: seas, start: start, step: step, row: -1}
	n := len(seas)
	buf := make([]float64, 4*n)
	g.c, g.s, g.dc, g.ds = buf[:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:]
	for i, se := range seas {
		g.ds[i], g.dc[i] = math.Sincos(phase(step, se.period))
	}
	return g
}

// at writes the features of grid row to f (len numFeatures). Rows must
// increase from call to call; consecutive rows are cheapest.
func (g *featureGen) at(row int, f []float64) {
	if row == g.row+1 && g.since < anchorEvery && g.row >= 0 {
		for i := range g.seas {
			c, s := g.c[i], g.s[i]
			g.c[i], g.s[i] = c*g.dc[i]-s*g.ds[i], s*g.dc[i]+c*g.ds[i]
		}
		g.since++
	} else {
		t := g.start + int64(row)*g.step
		for i, se := range g.seas {
			g.s[i], g.c[i] = math.Sincos(phase(t, se.period))
		}
		g.since = 0
	}
	g.row = row
	for i, se := range g.seas {
		f = harmonicsFrom(se, g.c[i], g.s[i], f)
	}
}
