package main

// The NAB score of Lavin & Ahmad (2015), "Evaluating Real-time Anomaly
// Detection Algorithms - the Numenta Anomaly Benchmark", implemented from
// the paper's description (no NAB code or data is used). What is
// implemented, with the choices where the paper leaves room:
//
//   - A file of n steps with k labels gets k anomaly windows of
//     L = floor(0.10 n / k) steps (at least 1), each centred on its label's
//     start index: [start - L/2, start - L/2 + L - 1], clipped to the file.
//     Windows that overlap are merged into one (the paper's labels never
//     overlap; ours can only when anomalies are closer than L/2).
//   - The probationary period is the first floor(0.15 n) steps: detections
//     there are ignored. A window whose label lies in it is dropped (the
//     generator never makes one: labels start after at least 30%).
//   - Within a window only the earliest detection counts; it scores
//     A_TP * sigma(y) with sigma(y) = 2/(1+e^(5y)) - 1 and
//     y = -(end - i + 1) / L, so -1 at the window's first step and -1/L at
//     its last (sigma(-1) = 0.987, sigma(-0.5) = 0.848 at the label itself,
//     sigma -> 0 at the end). Later detections in the window are ignored.
//   - A detection outside every window is a false positive. After a window
//     it costs A_FP * sigma(y) with y = (i - end) / L of the preceding
//     window (y > 0, so sigma in (-1, 0): a detection just after a window
//     costs little, one a window length later almost the full A_FP). With
//     no preceding window it costs the full -A_FP. (The paper's weights are
//     signed, A_FP = -0.11; here they are magnitudes and the sign is in
//     the formula.)
//   - Each window without a detection costs A_FN.
//   - Raw score S = A_TP * sum(TP sigma) + A_FP * sum(FP sigma) - A_FN * missed.
//     The corpus score sums the raw scores of the files, and likewise
//     the null detector's (no detections: -A_FN per window) and the
//     perfect detector's, and normalises:
//     100 * (S - S_null) / (S_perfect - S_null). The perfect detector
//     detects every window at its first step and nowhere else, so it
//     scores A_TP * sigma(-1) per window and exactly 100 (NAB's own code
//     may count A_TP per window, which would put the best attainable
//     score at 98.7; the paper only says "perfect detector").
//   - Files without labels have no windows: only their false positives
//     count, each -A_FP.

import (
	"math"
	"slices"
	"sort"
)

// Profile is a NAB application profile: the weight of a true positive and
// the costs of a false positive and of a missed window.
type Profile struct {
	Name          string
	ATP, AFP, AFN float64
}

// Profiles are the paper's three profiles.
var Profiles = []Profile{
	{Name: "standard", ATP: 1, AFP: 0.11, AFN: 1},
	{Name: "reward_low_FP", ATP: 1, AFP: 0.22, AFN: 1},
	{Name: "reward_low_FN", ATP: 1, AFP: 0.11, AFN: 2},
}

const windowFraction = 0.10

// probationFraction is the share of each file that is not scored: 0.15 in
// NAB; -probation changes it (e.g. to ignore the detector's cold start).
var probationFraction = 0.15

// sigma is the paper's scaled sigmoid.
func sigma(y float64) float64 { return 2/(1+math.Exp(5*y)) - 1 }

// Window is an anomaly window: grid indices, both inclusive.
type Window struct{ Start, End int }

func (w Window) len() int { return w.End - w.Start + 1 }

// nabFile is what NAB needs of one series: its length, probationary
// period and windows (sorted, disjoint).
type nabFile struct {
	n         int
	probation int
	windows   []Window
	warmUp    int // false positives before it are counted apart (EarlyFPs); no effect on the score
}

// newNABFile builds the windows of a file of n steps whose labels start at
// the given indices.
func newNABFile(n int, labels []int) nabFile {
	f := nabFile{n: n, probation: int(probationFraction * float64(n))}
	var keep []int
	for _, l := range labels {
		if l >= f.probation && l < n {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return f
	}
	slices.Sort(keep)
	size := max(1, int(windowFraction*float64(n)/float64(len(labels))))
	for _, l := range keep {
		w := Window{Start: l - size/2}
		w.End = w.Start + size - 1
		w.Start, w.End = max(w.Start, 0), min(w.End, n-1)
		if k := len(f.windows); k > 0 && w.Start <= f.windows[k-1].End {
			f.windows[k-1].End = max(f.windows[k-1].End, w.End)
			continue
		}
		f.windows = append(f.windows, w)
	}
	return f
}

// locate returns the window holding i (in = true), or the index of the
// last window ending before i (-1 if none).
func (f nabFile) locate(i int) (w int, in bool) {
	w = sort.Search(len(f.windows), func(j int) bool { return f.windows[j].End >= i }) // first window ending at or after i
	if w < len(f.windows) && f.windows[w].Start <= i {
		return w, true
	}
	return w - 1, false
}

// tpSigma is sigma of a detection at i inside window w.
func (f nabFile) tpSigma(w, i int) float64 {
	win := f.windows[w]
	return sigma(-float64(win.End-i+1) / float64(win.len()))
}

// fpSigma is the (negative) sigma of a false positive at i whose preceding
// window is w (-1: none).
func (f nabFile) fpSigma(w, i int) float64 {
	if w < 0 {
		return -1
	}
	win := f.windows[w]
	return sigma(float64(i-win.End) / float64(win.len()))
}

// nabTally holds what the NAB score of any profile needs, summed over
// files.
type nabTally struct {
	Windows  int
	Detected int     // windows with a detection
	TP       float64 // sum of sigma of each window's earliest detection
	FP       float64 // sum of the (negative) sigma of the false positives
	FPs      int     // false positives
	EarlyFPs int     // of which before the series' warm-up (score: not counted)
}

func (t *nabTally) add(u nabTally) {
	t.Windows += u.Windows
	t.Detected += u.Detected
	t.TP += u.TP
	t.FP += u.FP
	t.FPs += u.FPs
	t.EarlyFPs += u.EarlyFPs
}

// Raw is the raw score under p.
func (t nabTally) Raw(p Profile) float64 {
	return p.ATP*t.TP + p.AFP*t.FP - p.AFN*float64(t.Windows-t.Detected)
}

// Score is the normalised score under p: 0 for the null detector, 100 for
// the perfect one. Without windows it is NaN.
func (t nabTally) Score(p Profile) float64 {
	if t.Windows == 0 {
		return math.NaN()
	}
	null := -p.AFN * float64(t.Windows)
	perfect := p.ATP * sigma(-1) * float64(t.Windows)
	return 100 * (t.Raw(p) - null) / (perfect - null)
}

// score scores the detections at the given grid indices (ascending).
func (f nabFile) score(detections []int) nabTally {
	t := nabTally{Windows: len(f.windows)}
	seen := make([]bool, len(f.windows))
	for _, i := range detections {
		if i < f.probation || i >= f.n {
			continue
		}
		w, in := f.locate(i)
		switch {
		case !in:
			t.FP += f.fpSigma(w, i)
			t.FPs++
			if i < f.warmUp {
				t.EarlyFPs++
			}
		case !seen[w]:
			seen[w] = true
			t.Detected++
			t.TP += f.tpSigma(w, i)
		}
	}
	return t
}

// Sweep is the best threshold of one profile: flag = score >= Threshold.
// Flagged is the number of scored steps flagged (after the probationary
// periods); 0 means no threshold beat flagging nothing.
type Sweep struct {
	Threshold float64
	Flagged   int
	Tally     nabTally
}

// sweepThresholds finds, for each profile, the threshold on the anomaly
// scores that maximises its NAB score over the files. scores[f][i] is the
// score at grid index i of file f (NaN: none). Every distinct score is
// tried (flag = score >= it), as is flagging nothing; among equal scores
// the higher threshold wins. It runs in O(N log N): the steps are added in
// decreasing order of score, each changing the tally by its own amount.
func sweepThresholds(files []nabFile, scores [][]float64) []Sweep {
	type step struct {
		score   float64
		file, i int
	}
	var steps []step
	base := nabTally{}
	for fi, f := range files {
		base.Windows += len(f.windows)
		for i := f.probation; i < f.n && i < len(scores[fi]); i++ {
			if s := scores[fi][i]; !math.IsNaN(s) {
				steps = append(steps, step{s, fi, i})
			}
		}
	}
	slices.SortFunc(steps, func(a, b step) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	earliest := make([][]int, len(files)) // per window; -1: not detected
	for fi, f := range files {
		earliest[fi] = make([]int, len(f.windows))
		for w := range earliest[fi] {
			earliest[fi][w] = -1
		}
	}
	best := make([]Sweep, len(Profiles))
	for p := range best {
		best[p] = Sweep{Threshold: math.Inf(1), Tally: base}
	}
	t := base
	for k := 0; k < len(steps); {
		thr := steps[k].score
		for ; k < len(steps) && steps[k].score == thr; k++ {
			s := steps[k]
			f := files[s.file]
			w, in := f.locate(s.i)
			if !in {
				t.FP += f.fpSigma(w, s.i)
				t.FPs++
				continue
			}
			switch e := earliest[s.file][w]; {
			case e < 0:
				t.Detected++
				t.TP += f.tpSigma(w, s.i)
				earliest[s.file][w] = s.i
			case s.i < e:
				t.TP += f.tpSigma(w, s.i) - f.tpSigma(w, e)
				earliest[s.file][w] = s.i
			}
		}
		for p, prof := range Profiles {
			if t.Raw(prof) > best[p].Tally.Raw(prof) {
				best[p] = Sweep{Threshold: thr, Flagged: k, Tally: t}
			}
		}
	}
	return best
}
