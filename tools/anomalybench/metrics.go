package main

import (
	"math"
	"slices"
)

// Evaluation is what the report shows.
type Evaluation struct {
	Tolerance int // steps
	NAB       []nabResult
	Kinds     []*kindStats // in Kinds order, kinds that occur
	Targets   []target
	// Precision on the labelled series after their warm-up: alarm events
	// (runs of consecutive flagged steps) and flagged steps that fall in
	// [start, end + tolerance] of an anomaly.
	EventsTrue, Events, StepsTrue, Steps int
	Clean                                []*cleanStats // per source, then the total
	LabelledInf, LabelledNaN             int
	Failed                               []string // series whose replay failed, with the error
}

// nabResult is the NAB score of a set of series: at the product's own
// flag, and at the best threshold on anomaly_score for each profile.
type nabResult struct {
	Name   string
	Series int
	Flag   nabTally
	Best   []Sweep // per profile
}

type kindStats struct {
	Kind                  Kind
	N                     int
	MinMag, MaxMag        float64 // NaN when the kind has none
	Within, ByWindow      int     // detected within the tolerance, by the window's end
	Delays                []int   // of those detected by the window's end, in steps
	MedianDelay, P90Delay float64
}

type target struct {
	Name   string
	N, Hit int
}

type cleanStats struct {
	Source          string
	Series          int
	Days            float64 // series-days after the warm-up
	Flagged, Events int     // after the warm-up
	Inf, NaN        int     // ±Inf scores anywhere; NaN scores of present rows after the warm-up
}

func (c *cleanStats) add(o *cleanStats) {
	c.Series += o.Series
	c.Days += o.Days
	c.Flagged += o.Flagged
	c.Events += o.Events
	c.Inf += o.Inf
	c.NaN += o.NaN
}

// flagged returns the flagged grid indices.
func flagged(o Outcome) []int {
	var idx []int
	for i, f := range o.Flag {
		if f {
			idx = append(idx, i)
		}
	}
	return idx
}

// files returns the NAB view of each series.
func files(series []*Series) []nabFile {
	fs := make([]nabFile, len(series))
	for i, s := range series {
		starts := make([]int, len(s.Labels))
		for j, l := range s.Labels {
			starts[j] = l.Start
		}
		fs[i] = newNABFile(len(s.Values), starts)
		fs[i].warmUp = s.WarmUp
	}
	return fs
}

// scoreNAB scores the series selected by keep.
func scoreNAB(name string, series []*Series, out []Outcome, fs []nabFile, keep func(*Series) bool) nabResult {
	r := nabResult{Name: name}
	var sel []nabFile
	var scores [][]float64
	for i, s := range series {
		if !keep(s) {
			continue
		}
		r.Series++
		r.Flag.add(fs[i].score(flagged(out[i])))
		sel = append(sel, fs[i])
		scores = append(scores, out[i].Score)
	}
	r.Best = sweepThresholds(sel, scores)
	return r
}

// badScores counts the ±Inf scores of o, and its NaN scores (nothing
// scored) on present rows after the warm-up.
func badScores(s *Series, o Outcome) (inf, nan int) {
	for t, v := range o.Score {
		switch {
		case math.IsInf(v, 0):
			inf++
		case math.IsNaN(v) && t >= s.WarmUp && (t >= len(s.Missing) || !s.Missing[t]):
			nan++
		}
	}
	return inf, nan
}

// reference is the step a label's detection delay counts from: its start,
// or for missing data the first row after the gap (nothing can be flagged
// before it).
func reference(l Label) int {
	if l.Kind == Missing {
		return l.End + 1
	}
	return l.Start
}

// detectedBy returns the first flag that detects l: in [ref, ref + tol],
// or up to the end of l's NAB window if that is later; -1 if none.
func detectedBy(l Label, o Outcome, f nabFile, tol int) int {
	ref := reference(l)
	hi := ref + tol
	if w, in := f.locate(l.Start); in {
		hi = max(hi, f.windows[w].End)
	}
	return firstFlag(o, ref, hi)
}

// firstFlag returns the first flagged index in [lo, hi], or -1.
func firstFlag(o Outcome, lo, hi int) int {
	for i := max(lo, 0); i <= hi && i < len(o.Flag); i++ {
		if o.Flag[i] {
			return i
		}
	}
	return -1
}

// evaluate computes every measure of the report.
func evaluate(series []*Series, out []Outcome, tol int) *Evaluation {
	ev := &Evaluation{Tolerance: tol}
	fs := files(series)
	labelled := func(s *Series) bool { return !s.Clean() }
	ev.NAB = append(ev.NAB, scoreNAB("labelled series", series, out, fs, labelled))
	var sources []string
	for _, s := range series {
		if !slices.Contains(sources, s.Source) {
			sources = append(sources, s.Source)
		}
	}
	for _, src := range sources {
		r := scoreNAB("labelled "+src, series, out, fs, func(s *Series) bool { return labelled(s) && s.Source == src })
		if r.Series > 0 {
			ev.NAB = append(ev.NAB, r)
		}
	}
	all := func(*Series) bool { return true }
	ev.NAB = append(ev.NAB, scoreNAB("labelled + clean", series, out, fs, all))
	// Not NAB: the same with each series' warm-up as its probationary
	// period, to set the detector's cold start apart.
	warm := make([]nabFile, len(fs))
	for i, f := range fs {
		warm[i] = f
		warm[i].probation = max(f.probation, series[i].WarmUp)
	}
	ev.NAB = append(ev.NAB, scoreNAB("labelled, scored after warm-up", series, out, warm, labelled))
	ev.NAB = append(ev.NAB, scoreNAB("labelled + clean, scored after warm-up", series, out, warm, all))

	kinds := map[Kind]*kindStats{}
	spikes := target{Name: "spikes and dips >= 6 robust SD flagged within 1 step"}
	shifts := target{Name: "level shifts >= 3 robust SD flagged within 3 steps"}
	clean := map[string]*cleanStats{}
	for i, s := range series {
		o := out[i]
		if o.Err != nil {
			ev.Failed = append(ev.Failed, s.Name+": "+o.Err.Error())
		}
		inf, nan := badScores(s, o)
		if s.Clean() {
			c := clean[s.Source]
			if c == nil {
				c = &cleanStats{Source: s.Source}
				clean[s.Source] = c
			}
			c.Series++
			c.Days += float64(len(s.Values)-s.WarmUp) * s.Step.Hours() / 24
			c.Inf += inf
			c.NaN += nan
			for t := s.WarmUp; t < len(o.Flag); t++ {
				if o.Flag[t] {
					c.Flagged++
					if t == s.WarmUp || !o.Flag[t-1] {
						c.Events++
					}
				}
			}
			continue
		}
		ev.LabelledInf += inf
		ev.LabelledNaN += nan

		for _, l := range s.Labels {
			k := kinds[l.Kind]
			if k == nil {
				k = &kindStats{Kind: l.Kind, MinMag: math.NaN(), MaxMag: math.NaN()}
				kinds[l.Kind] = k
			}
			k.N++
			if !math.IsNaN(l.Magnitude) {
				k.MinMag = nanMin(k.MinMag, l.Magnitude)
				k.MaxMag = nanMax(k.MaxMag, l.Magnitude)
			}
			ref := reference(l)
			if f := detectedBy(l, o, fs[i], tol); f >= 0 {
				k.ByWindow++
				k.Delays = append(k.Delays, f-ref)
				if f-ref <= tol {
					k.Within++
				}
			}
			switch {
			case (l.Kind == Spike || l.Kind == Dip) && l.Magnitude >= 6:
				spikes.N++
				if firstFlag(o, l.Start, l.Start+1) >= 0 {
					spikes.Hit++
				}
			case l.Kind == LevelShift && l.Magnitude >= 3:
				shifts.N++
				if firstFlag(o, l.Start, l.Start+3) >= 0 {
					shifts.Hit++
				}
			}
		}
		inRegion := func(t int) bool {
			for _, l := range s.Labels {
				end := l.End + tol
				if l.Kind == Missing {
					end++
				}
				if t >= l.Start && t <= end {
					return true
				}
			}
			return false
		}
		for t := s.WarmUp; t < len(o.Flag); t++ {
			if !o.Flag[t] {
				continue
			}
			ev.Steps++
			hit := inRegion(t)
			if hit {
				ev.StepsTrue++
			}
			if t == s.WarmUp || !o.Flag[t-1] {
				ev.Events++
				if hit {
					ev.EventsTrue++
				}
			}
		}
	}
	for _, kind := range Kinds {
		if k := kinds[kind]; k != nil {
			k.MedianDelay, k.P90Delay = percentile(k.Delays, 0.5), percentile(k.Delays, 0.9)
			ev.Kinds = append(ev.Kinds, k)
		}
	}
	ev.Targets = []target{spikes, shifts}
	total := &cleanStats{Source: "all clean"}
	for _, src := range sources {
		if c := clean[src]; c != nil {
			ev.Clean = append(ev.Clean, c)
			total.add(c)
		}
	}
	if len(ev.Clean) > 1 {
		ev.Clean = append(ev.Clean, total)
	}
	return ev
}

// percentile is the nearest-rank percentile of x (NaN if empty).
func percentile(x []int, p float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(x))
	if p == 0.5 && len(s)%2 == 0 {
		return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
	}
	return float64(s[max(0, int(math.Ceil(p*float64(len(s))))-1)])
}

func nanMin(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Min(a, b)
}

func nanMax(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Max(a, b)
}
