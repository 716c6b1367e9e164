package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/train-prometheus/train-prometheus/adapter/offline"
	"github.com/train-prometheus/train-prometheus/models"
)

// Kind is a kind of injected anomaly.
type Kind string

// The kinds of anomaly the corpus injects.
const (
	Spike         Kind = "spike"          // 1-3 steps above the series
	Dip           Kind = "dip"            // 1-3 steps below
	LevelShift    Kind = "level_shift"    // a lasting step
	TrendChange   Kind = "trend_change"   // a lasting added slope
	VarianceBurst Kind = "variance_burst" // extra noise for a while
	Stuck         Kind = "stuck"          // the value stops changing for a while
	Missing       Kind = "missing"        // rows absent for a while
	PhaseChange   Kind = "phase_change"   // the series is shifted in time from then on (a moved cron, a time zone)
)

// Kinds lists every kind, in report order.
var Kinds = []Kind{Spike, Dip, LevelShift, TrendChange, VarianceBurst, Stuck, Missing, PhaseChange}

// lasting reports whether the change lasts to the end of the series.
func (k Kind) lasting() bool { return k == LevelShift || k == TrendChange || k == PhaseChange }

// Label is one injected anomaly.
type Label struct {
	Kind Kind
	// Start is the grid index of the first anomalous step. End is the last
	// one of a transient anomaly; for a lasting change it is Start plus
	// the relevance span (6 hours): flags up to then are about the change.
	Start, End int
	// Magnitude in robust SDs of the series (see Series.RobustSD): the
	// step of spikes, dips and level shifts, the deviation a trend change
	// reaches after 6 hours, the noise SD during a variance burst, the
	// largest change of the daily profile a phase change makes (at least
	// 3: a series without such a profile gets a level shift instead). NaN
	// for stuck and missing.
	Magnitude float64
	Detail    string
}

// Series is one series of the corpus on a regular grid.
type Series struct {
	Name    string
	Source  string // synthetic-1m, synthetic-5m or m4-hourly
	Pattern string
	Step    time.Duration
	T0      int64     // ms since the epoch of grid index 0
	Values  []float64 // one per grid index
	Missing []bool    // true where the row is absent; nil: none is
	Labels  []Label   // empty for the clean part
	Base    []float64 // the values before the anomalies were injected (nil for the clean part)
	// RobustSD is the series' noise scale: 1.4826 * MAD(x[t] - x[t-P]) / sqrt(2)
	// over the clean warm-up, P the steps of a day (floored, see robustSD).
	RobustSD float64
	// WarmUp is the first index an anomaly may start at and where the
	// clean part's false alarms start to count: the larger of 30% of the
	// series and two days.
	WarmUp  int
	Integer bool
}

// Clean reports whether no anomaly was injected.
func (s *Series) Clean() bool { return len(s.Labels) == 0 }

// Rows returns the series as detect's input rows (without the missing ones).
func (s *Series) Rows() []offline.Row {
	rows := make([]offline.Row, 0, len(s.Values))
	step := s.Step.Milliseconds()
	for i, v := range s.Values {
		if i < len(s.Missing) && s.Missing[i] {
			continue
		}
		rows = append(rows, offline.Row{Time: s.T0 + int64(i)*step, Value: v, Line: i + 1})
	}
	return rows
}

// stepsPer returns how many steps of s span d (at least 1).
func stepsPer(step, d time.Duration) int { return max(1, int(d/step)) }

// corpusConfig sizes the corpus.
type corpusConfig struct {
	Seed uint64
	// Labelled and clean synthetic series at a 1m and a 5m step, and their
	// length in days (drawn uniformly in [min, max]).
	Labelled1m, Labelled5m, Clean1m, Clean5m int
	Days1m, Days5m                           [2]float64
	// M4 hourly training series: how many, the file, and the days taken
	// from each (a deterministic stretch of the series).
	M4Labelled, M4Clean int
	M4Days              int
	M4Path              string
}

func defaultCorpusConfig() corpusConfig {
	return corpusConfig{
		Seed:       1,
		Labelled1m: 12, Labelled5m: 36, Clean1m: 4, Clean5m: 10,
		Days1m: [2]float64{4, 5}, Days5m: [2]float64{8, 14},
		M4Labelled: 40, M4Clean: 10, M4Days: 14,
		M4Path: "../shared/datasets/m4-hourly/Hourly-train.csv",
	}
}

// quickCorpusConfig is a corpus for trying things out: a few seconds.
func quickCorpusConfig() corpusConfig {
	c := defaultCorpusConfig()
	c.Labelled1m, c.Labelled5m, c.Clean1m, c.Clean5m = 2, 4, 1, 2
	c.Days1m, c.Days5m = [2]float64{3, 3}, [2]float64{6, 8}
	c.M4Labelled, c.M4Clean = 6, 2
	return c
}

// t0 is the time of index 0 of every series before its own day offset: a
// Monday, 2026-01-05T00:00:00Z.
var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixMilli()

// generator builds a corpus deterministically: each series draws from its
// own generator seeded by (seed, series number), and the kinds of anomaly
// are balanced over the corpus in the order the series are made.
type generator struct {
	seed   uint64
	serial uint64
	counts map[Kind]int
}

func (g *generator) rng() *rand.Rand {
	g.serial++
	return rand.New(rand.NewPCG(g.seed, g.serial))
}

// buildCorpus makes the corpus. A missing M4 file is not an error: note
// says why its part was skipped.
func buildCorpus(c corpusConfig) (series []*Series, note string, err error) {
	g := &generator{seed: c.Seed, counts: map[Kind]int{}}
	add := func(n int, step time.Duration, days [2]float64, source string, labelled bool) {
		for range n {
			r := g.rng()
			p := patterns[g.serial%uint64(len(patterns))]
			d := days[0] + r.Float64()*(days[1]-days[0])
			s := &Series{Source: source, Pattern: p.name, Step: step, T0: dayOffset(r)}
			s.Values, s.Integer = p.make(r, step, stepsPer(step, time.Duration(d*float64(24*time.Hour))), s.T0)
			s.Name = fmt.Sprintf("%s-%03d-%s", source, g.serial, p.name)
			if !labelled {
				s.Name += "-clean"
			}
			finish(s)
			if labelled {
				g.inject(r, s, p.kinds)
			}
			series = append(series, s)
		}
	}
	add(c.Labelled1m, time.Minute, c.Days1m, "synthetic-1m", true)
	add(c.Labelled5m, 5*time.Minute, c.Days5m, "synthetic-5m", true)
	add(c.Clean1m, time.Minute, c.Days1m, "synthetic-1m", false)
	add(c.Clean5m, 5*time.Minute, c.Days5m, "synthetic-5m", false)

	if c.M4Labelled+c.M4Clean == 0 {
		return series, "", nil
	}
	m4, err := readM4(c.M4Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return series, fmt.Sprintf("M4 part skipped: %s not found", c.M4Path), nil
	case err != nil:
		return nil, "", err
	}
	r := rand.New(rand.NewPCG(c.Seed, 1<<32)) // the sample of M4 series
	order := r.Perm(len(m4))
	need := c.M4Days * 24
	var picked []offline.Series
	for _, i := range order {
		if len(picked) == c.M4Labelled+c.M4Clean {
			break
		}
		if len(m4[i].Values) >= need {
			picked = append(picked, m4[i])
		}
	}
	for k, m := range picked {
		labelled := k < c.M4Labelled
		rr := g.rng()
		off := rr.IntN(len(m.Values) - need + 1)
		s := &Series{
			Name:   fmt.Sprintf("m4-hourly-%03d-%s", g.serial, m.ID),
			Source: "m4-hourly", Pattern: "m4:" + m.ID, Step: time.Hour,
			T0: dayOffset(rr), Values: slices.Clone(m.Values[off : off+need]),
		}
		if !labelled {
			s.Name += "-clean"
		}
		finish(s)
		if labelled {
			g.inject(rr, s, Kinds)
		}
		series = append(series, s)
	}
	if len(picked) < c.M4Labelled+c.M4Clean {
		note = fmt.Sprintf("M4: only %d series of %d hours or more", len(picked), need)
	}
	return series, note, nil
}

func readM4(path string) ([]offline.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return offline.ReadWide(f, path)
}

// dayOffset returns a start time 0-6 days past t0, so that the weekdays
// of the series differ.
func dayOffset(r *rand.Rand) int64 {
	return t0 + int64(r.IntN(7))*(24*time.Hour).Milliseconds()
}

// finish sets the warm-up and the robust SD of a clean series.
func finish(s *Series) {
	n := len(s.Values)
	day := stepsPer(s.Step, 24*time.Hour)
	s.WarmUp = min(n, max(int(math.Ceil(0.3*float64(n))), 2*day))
	s.RobustSD = robustSD(s.Values[:s.WarmUp], day, s.Integer)
}

// robustSD is 1.4826 * MAD(x[t] - x[t-lag]) / sqrt(2): the noise SD of a
// series whose seasonal pattern repeats every lag steps. When the MAD is 0
// (over half the differences equal, as in smooth data rounded to 0.1) the
// mean absolute deviation * 1.2533 stands in for it. It is at least the
// resolution of the data (the smallest gap between two distinct values:
// 0.1 for data rounded to 0.1, so an injected change is never below it),
// at least 1 for integer series, and at least 1e-6 * max(1, |median|).
func robustSD(x []float64, lag int, integer bool) float64 {
	if lag >= len(x) {
		lag = 1
	}
	var d []float64
	for t := lag; t < len(x); t++ {
		d = append(d, x[t]-x[t-lag])
	}
	sd := 0.0
	if len(d) > 0 {
		m := models.Median(d)
		mean := 0.0
		for i := range d {
			d[i] = math.Abs(d[i] - m)
			mean += d[i] / float64(len(d))
		}
		sd = 1.4826 * models.Median(d) / math.Sqrt2
		if sd == 0 {
			sd = 1.2533 * mean / math.Sqrt2
		}
	}
	sorted := slices.Clone(x)
	med := models.Median(sorted) // sorts
	resolution := math.Inf(1)
	for i := 1; i < len(sorted); i++ {
		if gap := sorted[i] - sorted[i-1]; gap > 0 {
			resolution = min(resolution, gap)
		}
	}
	if !math.IsInf(resolution, 1) {
		sd = max(sd, resolution)
	}
	if integer {
		sd = max(sd, 1)
	}
	return max(sd, 1e-6*max(1, math.Abs(med)))
}

// inject adds 1-3 anomalies after the warm-up of s, of kinds among allowed
// balanced over the corpus, at most one lasting change (the last one).
func (g *generator) inject(r *rand.Rand, s *Series, allowed []Kind) {
	n := len(s.Values)
	margin := max(int(math.Ceil(0.05*float64(n))), stepsPer(s.Step, 2*time.Hour))
	k := 1 + r.IntN(3)
	kinds := make([]Kind, 0, k)
	for range k {
		var pick []Kind
		least := math.MaxInt
		for _, kind := range allowed {
			if kind.lasting() && slices.ContainsFunc(kinds, Kind.lasting) {
				continue
			}
			switch c := g.counts[kind]; {
			case c < least:
				least, pick = c, []Kind{kind}
			case c == least:
				pick = append(pick, kind)
			}
		}
		kind := pick[r.IntN(len(pick))]
		kinds = append(kinds, kind)
	}
	// The lasting change last.
	slices.SortStableFunc(kinds, func(a, b Kind) int {
		switch {
		case a.lasting() == b.lasting():
			return 0
		case a.lasting():
			return 1
		}
		return -1
	})
	base := slices.Clone(s.Values) // the clean series, for phase changes
	s.Base = base
	seg := (n - margin - s.WarmUp) / k
	for j, kind := range kinds {
		lo := s.WarmUp + j*seg
		maxDur := max(1, seg/3)
		start := lo + r.IntN(max(1, seg/3))
		l := g.apply(r, s, base, kind, start, maxDur)
		g.counts[l.Kind]++
		s.Labels = append(s.Labels, l)
	}
}

// duration draws a duration between lo and hi, in steps (at least minSteps,
// at most maxSteps).
func duration(r *rand.Rand, step, lo, hi time.Duration, minSteps, maxSteps int) int {
	d := lo + time.Duration(r.Float64()*float64(hi-lo))
	return max(1, min(maxSteps, max(minSteps, int(d/step))))
}

// apply injects one anomaly of kind at start and returns its label (a dip
// that would take a non-negative series below zero becomes a spike, and a
// downward shift or trend there goes up instead).
func (g *generator) apply(r *rand.Rand, s *Series, base []float64, kind Kind, start, maxDur int) Label {
	n := len(s.Values)
	x := s.Values
	sd := s.RobustSD
	nonneg := slices.Min(base) >= 0
	span := max(10, stepsPer(s.Step, 6*time.Hour)) // relevance span of lasting changes
	l := Label{Kind: kind, Start: start, Magnitude: math.NaN()}
	// fits reports whether subtracting dev(t) from x on [a, b) keeps a
	// non-negative series non-negative.
	fits := func(a, b int, dev func(t int) float64) bool {
		if !nonneg {
			return true
		}
		for t := a; t < b; t++ {
			if x[t]-dev(t) < 0 {
				return false
			}
		}
		return true
	}
	round := func(a, b int) {
		if s.Integer {
			for t := a; t < b; t++ {
				x[t] = math.Round(x[t])
			}
		}
		if nonneg {
			for t := a; t < b; t++ {
				x[t] = max(x[t], 0)
			}
		}
	}
	switch kind {
	case Spike, Dip:
		d := 1
		if u := r.Float64(); u > 0.6 {
			d = 2 + int((u-0.6)/0.2)
		}
		d = min(d, maxDur)
		m := 4 + 8*r.Float64()
		sign := 1.0
		if kind == Dip {
			if fits(start, start+d, func(int) float64 { return m * sd }) {
				sign = -1
			} else {
				l.Kind = Spike
			}
		}
		for t := start; t < start+d; t++ {
			x[t] += sign * m * sd
		}
		round(start, start+d)
		l.End, l.Magnitude = start+d-1, m
		l.Detail = fmt.Sprintf("%d steps", d)
	case LevelShift:
		m := 3 + 7*r.Float64()
		sign := 1.0
		if r.IntN(2) == 0 && fits(start, n, func(int) float64 { return m * sd }) {
			sign = -1
		}
		for t := start; t < n; t++ {
			x[t] += sign * m * sd
		}
		round(start, n)
		l.End, l.Magnitude = min(n-1, start+span), m
		l.Detail = map[bool]string{true: "up", false: "down"}[sign > 0]
	case TrendChange:
		m := 4 + 6*r.Float64()
		per := m * sd / float64(stepsPer(s.Step, 6*time.Hour)) // per step
		dev := func(t int) float64 { return per * float64(t-start+1) }
		sign := 1.0
		if r.IntN(2) == 0 && fits(start, n, dev) {
			sign = -1
		}
		for t := start; t < n; t++ {
			x[t] += sign * dev(t)
		}
		round(start, n)
		l.End, l.Magnitude = min(n-1, start+span), m
		l.Detail = map[bool]string{true: "up", false: "down"}[sign > 0]
	case VarianceBurst:
		d := duration(r, s.Step, 30*time.Minute, 3*time.Hour, 5, maxDur)
		f := 3 + 3*r.Float64()
		extra := math.Sqrt(f*f-1) * sd
		for t := start; t < start+d; t++ {
			x[t] += extra * r.NormFloat64()
		}
		round(start, start+d)
		l.End, l.Magnitude = start+d-1, f
		l.Detail = fmt.Sprintf("%d steps", d)
	case Stuck:
		d := duration(r, s.Step, time.Hour, 6*time.Hour, 4, maxDur)
		for t := start; t < start+d; t++ {
			x[t] = x[start-1]
		}
		l.End = start + d - 1
		l.Detail = fmt.Sprintf("%d steps", d)
	case Missing:
		d := duration(r, s.Step, 15*time.Minute, 2*time.Hour, 2, maxDur)
		if s.Missing == nil {
			s.Missing = make([]bool, n)
		}
		for t := start; t < start+d; t++ {
			s.Missing[t] = true
		}
		l.End = start + d - 1
		l.Detail = fmt.Sprintf("%d steps", d)
	case PhaseChange:
		// The shift, 3-9 hours, must change the daily profile by 3
		// robust SDs at least; a series without one gets a level shift.
		day := stepsPer(s.Step, 24*time.Hour)
		for _, h := range r.Perm(7) {
			shift := stepsPer(s.Step, time.Duration(3+h)*time.Hour)
			if m := profileChange(base[:start], day, shift) / sd; m >= 3 {
				for t := start; t < n; t++ {
					x[t] = base[t-shift]
				}
				l.End, l.Magnitude = min(n-1, start+span), m
				l.Detail = fmt.Sprintf("%dh later", 3+h)
				return l
			}
		}
		return g.apply(r, s, base, LevelShift, start, maxDur)
	}
	return l
}

// profileChange is the largest change that delaying a series by shift
// steps makes to its daily profile: the median of x at each step of the
// day, over the whole days of x.
func profileChange(x []float64, day, shift int) float64 {
	days := len(x) / day
	if days == 0 {
		return math.NaN()
	}
	prof := make([]float64, day)
	col := make([]float64, days)
	for h := range day {
		for d := range days {
			col[d] = x[len(x)-days*day+d*day+h]
		}
		prof[h] = models.Median(col)
	}
	m := 0.0
	for h := range day {
		m = max(m, math.Abs(prof[h]-prof[((h-shift)%day+day)%day]))
	}
	return m
}
