package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/train-prometheus/train-prometheus/models"
)

// syntheticConfig is the default synthetic corpus without M4.
func syntheticConfig(seed uint64) corpusConfig {
	c := defaultCorpusConfig()
	c.Seed, c.M4Labelled, c.M4Clean = seed, 0, 0
	return c
}

func sameLabels(a, b []Label) bool {
	return slices.EqualFunc(a, b, func(x, y Label) bool {
		return x.Kind == y.Kind && x.Start == y.Start && x.End == y.End && x.Detail == y.Detail &&
			math.Float64bits(x.Magnitude) == math.Float64bits(y.Magnitude)
	})
}

func TestCorpusDeterministic(t *testing.T) {
	a, _, err := buildCorpus(syntheticConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := buildCorpus(syntheticConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) != 12+36+4+10 {
		t.Fatalf("%d and %d series, want 62 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].T0 != b[i].T0 || !slices.Equal(a[i].Values, b[i].Values) ||
			!slices.Equal(a[i].Missing, b[i].Missing) || !sameLabels(a[i].Labels, b[i].Labels) {
			t.Fatalf("series %d (%s) differs between two runs with the same seed", i, a[i].Name)
		}
	}
	c, _, err := buildCorpus(syntheticConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a[0].Values, c[0].Values) {
		t.Error("seeds 1 and 2 made the same first series")
	}
}

func TestCorpusLabels(t *testing.T) {
	series, _, err := buildCorpus(syntheticConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Kind]int{}
	labelled, clean := 0, 0
	for _, s := range series {
		n := len(s.Values)
		day := stepsPer(s.Step, 24*time.Hour)
		if s.WarmUp < int(0.3*float64(n)) || s.WarmUp < min(n, 2*day) {
			t.Errorf("%s: warm-up %d of %d steps, want at least 30%% and two days", s.Name, s.WarmUp, n)
		}
		if s.Clean() {
			clean++
			if s.Missing != nil || s.Base != nil {
				t.Errorf("%s: clean series has missing rows or injected values", s.Name)
			}
			continue
		}
		labelled++
		if len(s.Labels) < 1 || len(s.Labels) > 3 {
			t.Errorf("%s: %d anomalies, want 1-3", s.Name, len(s.Labels))
		}
		if !slices.Equal(s.Values[:s.WarmUp], s.Base[:s.WarmUp]) || slices.Contains(s.Missing[:min(len(s.Missing), s.WarmUp)], true) {
			t.Errorf("%s: the warm-up is not clean", s.Name)
		}
		lasting := 0
		for j, l := range s.Labels {
			counts[l.Kind]++
			if l.Start < s.WarmUp || l.End < l.Start || l.End >= n {
				t.Errorf("%s: %s at [%d, %d], warm-up %d, %d steps", s.Name, l.Kind, l.Start, l.End, s.WarmUp, n)
			}
			if j > 0 && l.Start <= s.Labels[j-1].End {
				t.Errorf("%s: anomalies overlap: %+v and %+v", s.Name, s.Labels[j-1], l)
			}
			if l.Kind.lasting() {
				lasting++
				if j != len(s.Labels)-1 {
					t.Errorf("%s: lasting %s is not the last anomaly", s.Name, l.Kind)
				}
			}
			switch l.Kind {
			case Spike, Dip, LevelShift:
				// The injected step is Magnitude robust SDs (before rounding).
				if s.Integer {
					break
				}
				got := math.Abs(s.Values[l.Start]-s.Base[l.Start]) / s.RobustSD
				if math.Abs(got-l.Magnitude) > 1e-6*l.Magnitude || l.Magnitude < 3 || l.Magnitude > 12 {
					t.Errorf("%s: %s of %.2f SD changed the value by %.2f SD", s.Name, l.Kind, l.Magnitude, got)
				}
			case PhaseChange:
				if l.Magnitude < 3 {
					t.Errorf("%s: phase change of %.2f SD, want >= 3", s.Name, l.Magnitude)
				}
			case Missing:
				for i := l.Start; i <= l.End; i++ {
					if !s.Missing[i] {
						t.Errorf("%s: missing anomaly at %d but the row is present", s.Name, i)
					}
				}
			case Stuck:
				for i := l.Start; i <= l.End; i++ {
					if s.Values[i] != s.Values[l.Start-1] {
						t.Errorf("%s: stuck anomaly, value at %d moved", s.Name, i)
						break
					}
				}
			}
		}
		if lasting > 1 {
			t.Errorf("%s: %d lasting changes, want at most 1", s.Name, lasting)
		}
	}
	if labelled != 48 || clean != 14 {
		t.Errorf("%d labelled and %d clean series, want 48 and 14", labelled, clean)
	}
	for _, k := range Kinds {
		if counts[k] < 5 {
			t.Errorf("%d anomalies of kind %s, want at least 5 (counts %v)", counts[k], k, counts)
		}
	}
}

func TestRobustSD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 24*30)
	for i := range x {
		x[i] = 100 + 50*math.Sin(2*math.Pi*float64(i)/24) + 2*r.NormFloat64()
	}
	if sd := robustSD(x, 24, false); math.Abs(sd-2) > 0.2 {
		t.Errorf("robust SD of a daily sine + N(0, 2) = %v, want about 2", sd)
	}
	// A few huge outliers barely move it.
	x[100], x[300], x[500] = 1e6, -1e6, 1e6
	if sd := robustSD(x, 24, false); math.Abs(sd-2) > 0.25 {
		t.Errorf("with outliers: robust SD %v, want about 2", sd)
	}
	// Smooth data rounded to 0.1 whose days mostly repeat exactly: the
	// MAD is 0, the mean absolute deviation stands in.
	q := make([]float64, 24*30)
	for i := range q {
		q[i] = math.Round(10*(20+8*math.Sin(2*math.Pi*float64(i)/24))) / 10
		if r.IntN(5) == 0 {
			q[i] += 0.1
		}
	}
	if sd := robustSD(q, 24, false); sd < 0.1-1e-9 || sd > 0.15 {
		t.Errorf("rounded smooth data: robust SD %v, want 0.1-0.15", sd)
	}
	// A perfectly periodic series rounded to 0.1: its resolution.
	p := make([]float64, 240*5)
	for i := range p {
		p[i] = math.Round(10*(20+8*math.Sin(2*math.Pi*float64(i)/240))) / 10
	}
	if sd := robustSD(p, 240, false); math.Abs(sd-0.1) > 1e-9 {
		t.Errorf("periodic data rounded to 0.1: robust SD %v, want 0.1", sd)
	}
	// Floors: an integer constant gets 1; a float constant 1e-6 of its level.
	c := make([]float64, 100)
	for i := range c {
		c[i] = 5000
	}
	if sd := robustSD(c, 24, true); sd != 1 {
		t.Errorf("integer constant: robust SD %v, want 1", sd)
	}
	if sd := robustSD(c, 24, false); math.Abs(sd-5e-3) > 1e-12 {
		t.Errorf("float constant: robust SD %v, want 5e-3", sd)
	}
}

func TestPatternsFiniteAndKinds(t *testing.T) {
	for _, p := range patterns {
		r := rand.New(rand.NewPCG(1, 1))
		v, integer := p.make(r, 5*time.Minute, 2000, t0)
		if len(v) != 2000 {
			t.Fatalf("%s: %d values, want 2000", p.name, len(v))
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || (integer && x != math.Round(x)) {
				t.Fatalf("%s: value %d is %v (integer %v)", p.name, i, x, integer)
			}
		}
		if slices.Min(v) < 0 && p.name != "flat" {
			t.Errorf("%s: negative value %v", p.name, slices.Min(v))
		}
	}
}

func TestProfileChange(t *testing.T) {
	// A daily square wave: 0 for 12 steps, 10 for 12. Delaying it by 6
	// steps changes the profile by at most 10; by 24 steps, not at all.
	x := make([]float64, 24*5)
	for i := range x {
		if i%24 >= 12 {
			x[i] = 10
		}
	}
	if got := profileChange(x, 24, 6); got != 10 {
		t.Errorf("profileChange(shift 6) = %v, want 10", got)
	}
	if got := profileChange(x, 24, 24); got != 0 {
		t.Errorf("profileChange(shift 24) = %v, want 0", got)
	}
}

const m4Hourly = "../../../shared/datasets/m4-hourly/Hourly-train.csv"

func TestCorpusM4(t *testing.T) {
	c := defaultCorpusConfig()
	c.M4Path = m4Hourly
	c.Labelled1m, c.Labelled5m, c.Clean1m, c.Clean5m = 0, 0, 0, 0
	series, note, err := buildCorpus(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(note, "skipped") {
		t.Skip(note)
	}
	m4, err := readM4(m4Hourly)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]float64{}
	for _, s := range m4 {
		byID[s.ID] = s.Values
	}
	labelled := 0
	for _, s := range series {
		if len(s.Values) != 14*24 || s.Step != time.Hour {
			t.Errorf("%s: %d values at %s, want 336 at 1h", s.Name, len(s.Values), s.Step)
		}
		orig := byID[strings.TrimPrefix(s.Pattern, "m4:")]
		clean := s.Values
		if !s.Clean() {
			labelled++
			clean = s.Base
		}
		// The series is a stretch of its M4 series.
		found := false
		for off := 0; off+len(clean) <= len(orig); off++ {
			if slices.Equal(orig[off:off+len(clean)], clean) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s is not a stretch of M4 %s", s.Name, s.Pattern)
		}
		if s.RobustSD <= 1e-4*math.Abs(models.Median(slices.Clone(clean))) {
			t.Errorf("%s: robust SD %v is at the floor", s.Name, s.RobustSD)
		}
	}
	if labelled != 40 || len(series) != 50 {
		t.Errorf("%d M4 series, %d labelled; want 50 and 40", len(series), labelled)
	}
}
