package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(t *testing.T, got, want float64, what string) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func TestSigma(t *testing.T) {
	near(t, sigma(0), 0, "sigma(0)")
	near(t, sigma(-1), 2/(1+math.Exp(-5))-1, "sigma(-1)")
	if s := sigma(-1); s < 0.98 || s > 0.99 {
		t.Errorf("sigma(-1) = %v, want about 0.987", s)
	}
	if s := sigma(10); s > -0.99 {
		t.Errorf("sigma(10) = %v, want about -1", s)
	}
}

func TestNABWindows(t *testing.T) {
	f := newNABFile(1000, []int{500})
	if f.probation != 150 {
		t.Errorf("probation = %d, want 150", f.probation)
	}
	if want := []Window{{450, 549}}; !slices.Equal(f.windows, want) {
		t.Errorf("one label: windows %v, want %v", f.windows, want)
	}
	// Two labels: 10% of 1000 / 2 = 50 steps each.
	f = newNABFile(1000, []int{700, 400})
	if want := []Window{{375, 424}, {675, 724}}; !slices.Equal(f.windows, want) {
		t.Errorf("two labels: windows %v, want %v", f.windows, want)
	}
	// Overlapping windows merge.
	f = newNABFile(1000, []int{500, 520})
	if want := []Window{{475, 544}}; !slices.Equal(f.windows, want) {
		t.Errorf("overlapping labels: windows %v, want %v", f.windows, want)
	}
	// A window past the end is clipped; a label in the probationary period is dropped.
	f = newNABFile(1000, []int{100, 990})
	if want := []Window{{965, 999}}; !slices.Equal(f.windows, want) {
		t.Errorf("clipped and probation: windows %v, want %v", f.windows, want)
	}
}

func TestNABPerfectAndNull(t *testing.T) {
	f := newNABFile(1000, []int{400, 700})
	starts := []int{f.windows[0].Start, f.windows[1].Start}
	for _, p := range Profiles {
		near(t, f.score(starts).Score(p), 100, p.Name+": perfect detector")
		near(t, f.score(nil).Score(p), 0, p.Name+": null detector")
	}
	// Raw scores: null = -A_FN per window.
	near(t, f.score(nil).Raw(Profiles[2]), -4, "reward_low_FN null raw")
}

func TestNABOneFalsePositive(t *testing.T) {
	f := newNABFile(1000, []int{500})
	start := f.windows[0].Start
	// A false positive before the window (none precedes it) costs A_FP in full.
	tal := f.score([]int{200, start})
	if tal.FPs != 1 || tal.Detected != 1 {
		t.Fatalf("tally %+v, want 1 FP and 1 detection", tal)
	}
	for _, p := range Profiles {
		perfect, null := p.ATP*sigma(-1), -p.AFN
		want := 100 * (perfect - p.AFP - null) / (perfect - null)
		near(t, tal.Score(p), want, p.Name+": perfect + 1 FP")
	}
	std, lowFP := tal.Score(Profiles[0]), tal.Score(Profiles[1])
	if !(lowFP < std && std < 100) {
		t.Errorf("1 FP: standard %v, reward_low_FP %v: want reward_low_FP < standard < 100", std, lowFP)
	}
	// Only a false positive: below the null detector.
	if s := f.score([]int{200}).Score(Profiles[0]); s >= 0 {
		t.Errorf("only a FP: score %v, want < 0", s)
	}
}

func TestNABFalsePositiveAfterWindow(t *testing.T) {
	f := newNABFile(1000, []int{500}) // window [450, 549], 100 steps
	just := f.score([]int{550}).FP
	later := f.score([]int{599}).FP // half a window after: y is 0.5
	far := f.score([]int{900}).FP
	before := f.score([]int{300}).FP
	if !(0 > just && just > later && later > far && far > before) {
		t.Errorf("FP costs: just after %v, half a window after %v, far %v, no window before %v: want decreasing", just, later, far, before)
	}
	near(t, before, -1, "FP without a preceding window")
	near(t, later, sigma(0.5), "FP half a window after")
}

func TestNABEarlyBeatsLate(t *testing.T) {
	f := newNABFile(1000, []int{500}) // window [450, 549]
	p := Profiles[0]
	first := f.score([]int{450}).Score(p)
	atLabel := f.score([]int{500}).Score(p)
	last := f.score([]int{549}).Score(p)
	null := f.score(nil).Score(p)
	if !(first > atLabel && atLabel > last && last > null) {
		t.Errorf("scores: window start %v, label %v, window end %v, null %v: want decreasing", first, atLabel, last, null)
	}
	near(t, f.score([]int{500}).TP, sigma(-0.5), "TP sigma at the label")
	// Only the earliest detection of a window counts; the others are not FPs.
	both := f.score([]int{460, 470, 540})
	if both.Detected != 1 || both.FPs != 0 {
		t.Errorf("three detections in one window: %+v, want 1 detected, 0 FPs", both)
	}
	near(t, both.TP, f.score([]int{460}).TP, "TP of three detections")
}

func TestNABProbation(t *testing.T) {
	f := newNABFile(1000, []int{500})
	if got, want := f.score([]int{0, 10, 149}), f.score(nil); got != want {
		t.Errorf("detections in the probationary period: %+v, want the null tally %+v", got, want)
	}
	if f.score([]int{150}).FPs != 1 {
		t.Error("a detection just after the probationary period is not a FP")
	}
	// A label inside the probationary period makes no window.
	g := newNABFile(1000, []int{100})
	if len(g.windows) != 0 || !math.IsNaN(g.score(nil).Score(Profiles[0])) {
		t.Errorf("label in probation: windows %v, want none and a NaN score", g.windows)
	}
}

// TestSweepMatchesBruteForce checks the O(N log N) threshold sweep against
// scoring every candidate threshold from scratch.
func TestSweepMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		var fs []nabFile
		var scores [][]float64
		for range 1 + r.IntN(3) {
			n := 200 + r.IntN(200)
			var labels []int
			for range r.IntN(3) {
				labels = append(labels, 40+r.IntN(n-40))
			}
			f := newNABFile(n, labels)
			s := make([]float64, n)
			for i := range s {
				switch u := r.Float64(); {
				case u < 0.05:
					s[i] = math.NaN()
				case u < 0.07:
					s[i] = math.Inf(1)
				default:
					s[i] = math.Round(r.ExpFloat64()*4) / 4 // ties
				}
			}
			for _, w := range f.windows { // make the windows score higher, sometimes
				if r.IntN(2) == 0 {
					s[w.Start+r.IntN(w.len())] = 3 + r.Float64()
				}
			}
			fs, scores = append(fs, f), append(scores, s)
		}
		best := sweepThresholds(fs, scores)
		var thresholds []float64
		for _, s := range scores {
			for _, v := range s {
				if !math.IsNaN(v) {
					thresholds = append(thresholds, v)
				}
			}
		}
		for p, prof := range Profiles {
			tallyAt := func(thr float64) nabTally {
				var tal nabTally
				for k, f := range fs {
					var det []int
					for i, v := range scores[k] {
						if v >= thr {
							det = append(det, i)
						}
					}
					tal.add(f.score(det))
				}
				return tal
			}
			want := tallyAt(math.NaN()).Raw(prof) // flags nothing
			for _, thr := range thresholds {
				want = max(want, tallyAt(thr).Raw(prof))
			}
			if got := best[p].Tally.Raw(prof); math.Abs(got-want) > 1e-9 {
				t.Fatalf("trial %d %s: sweep best raw %v, brute force %v", trial, prof.Name, got, want)
			}
			if best[p].Flagged > 0 {
				if got := tallyAt(best[p].Threshold).Raw(prof); math.Abs(got-want) > 1e-9 {
					t.Fatalf("trial %d %s: rescoring at the sweep's threshold %v gives %v, want %v", trial, prof.Name, best[p].Threshold, got, want)
				}
			}
		}
	}
}
