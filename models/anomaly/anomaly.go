// Package anomaly turns a series' out-of-sample forecast errors into a
// calibrated anomaly score and a 0/1 flag.
//
// A Detector is kept per series and model. Each grid step it is given the
// error of the forecast published for that step before its value was seen
// (actual - yhat). It standardises the error by a robust, adaptive estimate
// of the series' own error scale, forms three statistics from the
// standardised errors:
//
//   - magnitude: the error of this step alone (one extreme step flags);
//   - persistence: the smallest of the last 3 errors when all lie on one
//     side (moderate deviations that persist flag; one spike, however
//     large, does not move it);
//   - shift: an exponentially weighted mean of the errors (span ~19 steps,
//     also winsorised): a small lasting level change flags;
//
// and estimates, for each, the probability of a value at least as extreme
// under the distribution that statistic has had on this series (a
// generalised Pareto tail fitted to its exceedances over 2.5 of its own
// scale by the moment estimator of Dekkers, Einmahl and de Haan, as in
// peaks-over-threshold detectors). Autocorrelated and
// heavy-tailed errors are therefore calibrated by the data itself, not
// assumed away.
//
// The score of a step is log(p)/log(α) of its most extreme statistic, where
// α is that statistic's share of the per-step false-alarm budget: a score of
// s means "this happens by chance with probability α^s per step". A step is
// anomalous when its score is at least Config.Threshold (1 by default), so
// that on data that behaves as it did, flagged steps occur at about the
// budget's rate. Scores are finite and lie in [0, MaxScore].
//
// The detector learns only from out-of-sample errors. Flagged steps do not
// feed the tail estimates (an incident does not teach the detector that
// incidents are normal), while the error scale keeps adapting with bounded
// influence, so that a lasting change of variance is absorbed.
package anomaly

import (
	"fmt"
	"math"
)

// MaxScore bounds the score: a step beyond anything the fitted error
// distribution allows scores MaxScore.
const MaxScore = 100

// Rule names the statistic that made a step anomalous.
type Rule uint8

// Rules of a Result.
const (
	None        Rule = iota // not anomalous
	Magnitude               // one step far from the forecast
	Persistence             // the last three steps together
	Shift                   // a lasting change of level
)

// String returns the rule's name as shown on the status page.
func (r Rule) String() string {
	switch r {
	case None:
		return "none"
	case Magnitude:
		return "magnitude"
	case Persistence:
		return "persistence"
	case Shift:
		return "shift"
	}
	return fmt.Sprintf("Rule(%d)", r)
}

// Direction selects the deviations from the forecast that can be anomalous.
type Direction int8

// Directions of a Config.
const (
	Both Direction = iota // above and below the forecast
	Up                    // above only
	Down                  // below only
)

// Directions lists the names ParseDirection accepts, in Direction order.
func Directions() []string { return []string{"both", "up", "down"} }

// String returns the name of d.
func (d Direction) String() string {
	if d < 0 || int(d) >= len(Directions()) {
		return fmt.Sprintf("Direction(%d)", d)
	}
	return Directions()[d]
}

// ParseDirection returns the Direction called s ("both", "up" or "down").
func ParseDirection(s string) (Direction, error) {
	for i, name := range Directions() {
		if s == name {
			return Direction(i), nil
		}
	}
	return 0, fmt.Errorf("direction %q is not one of %v", s, Directions())
}

// Config is how a forecasts entry turns errors into flags.
type Config struct {
	// Alpha is the per-step false-alarm budget: the probability that a step
	// of a series behaving as it did is flagged (see AlphaFor). 0 means
	// DefaultFalseAlarmsPerDay at one-minute steps.
	Alpha float64
	// Threshold is the score at which a step is anomalous; 0 means 1.
	Threshold float64
	// MinDeviation is the smallest |actual - yhat| that can be anomalous,
	// in the series' unit.
	MinDeviation float64
	Direction    Direction
	// WarmUp is the number of scored steps before the first flag; the
	// detector learns the error distribution meanwhile (scores are 0).
	WarmUp int
	// Period is the series' seasonal period in steps (0: none): errors
	// are standardised by the scale of their phase where it is learnt.
	Period int

	logAlpha float64 // log(Alpha), set by Prepare
}

// Prepare computes once what Observe would compute at every step from c.
func (c *Config) Prepare() { c.logAlpha = math.Log(c.alpha()) }

// DefaultFalseAlarmsPerDay is the default budget: expected flagged steps per
// series and day on data without anomalies. A fleet of 1,000 healthy series
// then flags about 10 steps a day in all.
const DefaultFalseAlarmsPerDay = 0.01

// AlphaFor returns the per-step budget for falseAlarmsPerDay expected
// flagged steps per series and day at a grid step of stepMs milliseconds.
func AlphaFor(falseAlarmsPerDay float64, stepMs int64) float64 {
	perDay := float64(24*60*60*1000) / float64(max(stepMs, 1))
	return min(0.5, falseAlarmsPerDay/perDay)
}

// Shares of the budget per statistic (magnitude, persistence, shift), and
// their logarithms.
var (
	budgetShare = [nStats]float64{0.5, 0.3, 0.2}
	logShare    = [nStats]float64{math.Log(0.5), math.Log(0.3), math.Log(0.2)}
)

// minLogP bounds the log probability of a step: beyond the support of a
// bounded tail, the score is MaxScore.
const minLogP = -690.0 // about log(1e-300)

func (c Config) alpha() float64 {
	if c.Alpha > 0 {
		return c.Alpha
	}
	return AlphaFor(DefaultFalseAlarmsPerDay, 60_000)
}

func (c Config) threshold() float64 {
	if c.Threshold > 0 {
		return c.Threshold
	}
	return 1
}

// Result is what Observe learns about one step.
type Result struct {
	Score   float64 // in [0, MaxScore]; 0 while learning
	Anomaly bool    // Score >= Threshold, after the warm-up
	Rule    Rule    // the statistic with the highest score, when anomalous
	// Learning reports a step inside the warm-up: never anomalous.
	Learning bool
	// ShiftSteps is set (> 0) when the step is flagged for a lasting
	// change of level (Persistence or Shift fired): the number of steps,
	// this one included, since the deviation began. The caller should
	// adapt the forecast (refit, level correction) rather than have the
	// same change flagged again.
	ShiftSteps int
	// Sigma is the error scale the step was standardised by (series unit).
	Sigma float64
}

const (
	nStats     = 3
	boxLen     = 3    // persistence: the run of the last boxLen errors
	runScale   = 0.4  // persistence is measured in this share of u's scale
	hotSpread  = 3.0  // see hotCap
	ewmaAlpha  = 0.1  // shift: weight of the newest error
	winsor     = 3.0  // |u| fed to persistence and shift is capped here, in scales of u
	tailStart  = 2.5  // exceedances over this, in units of the statistic's scale
	scaleMem   = 100  // memory of the scale estimates, in steps
	tailMem    = 5000 // memory of the tail estimates, in steps
	minTailObs = 10   // errors seen before the tails learn
	huber      = 4.0  // scale updates are capped at this many scales
	// settleSteps is how long the persistence statistics rest after a
	// shift was reported: about the shift statistic's span.
	settleSteps = 2/ewmaAlpha - 1
	// meanAbs is E|Z| for a standard normal Z capped at huber: the
	// factor from a mean absolute deviation to a standard deviation.
	meanAbs = 0.79763
	// Prior tail of every statistic: weight in steps, exceedance rate,
	// mean excess (those of |Z| for a standard normal Z).
	priorWeight = 250
	shapePrior  = 4 // exceedances' worth of the prior's shape (see params)
	priorExcess = 0.32

	gammaMin = -0.15 // a lighter tail than this is not believed
	gammaMax = 0.5
)

// The prior tail of each statistic. The rate of exceedances of tailStart
// is what independent normal errors give (measured over 2e7 steps). The
// shape, the first two moments of log(V/tailStart) over the exceedances:
// for the magnitude an exponential tail's (mean excess 0.5), a little
// heavier than normal errors' (0.1162, 0.02327), since operations data is
// rarely lighter and a tail guessed too light flags too much (on the clean
// series of make anomaly-bench, a normal shape gave 2.8× the budget at 0.1
// a day, this one 2.1×); for persistence and shift their own shape under
// normal errors.
var (
	priorRate = [nStats]float64{0.01243, 0.00800, 0.01227}
	priorLog1 = [nStats]float64{0.1704, 0.1708, 0.1154}
	priorLog2 = [nStats]float64{0.05124, 0.04883, 0.02291}
)

// shiftNoiseScale is the shift statistic's scale when the errors are
// independent and normal with unit scale: the prior of its scale.
var shiftNoiseScale = math.Sqrt(ewmaAlpha / (2 - ewmaAlpha))

// Detector holds what one series and model has taught about its errors.
// The zero value is a new detector. It is not safe for concurrent use.
type Detector struct {
	n       int64   // steps observed
	last    int64   // grid index of the newest step observed
	absErr  float64 // EW mean of capped |error| (series unit)
	box     [boxLen]float64
	nbox    int8 // valid entries of box (reset by gaps and shifts)
	ewma    float64
	run     int32 // consecutive steps with |u| > 1 on one side
	runUp   bool
	flagRun int8 // consecutive flagged steps on one side (at most boxLen)
	hotRun  int8 // consecutive steps anomalous in either direction (at most boxLen)
	primed  bool // absErr started from a prior (Prime)
	// phase holds the EW mean capped |error| per phase bin of the period,
	// and the weight of each bin's observations.
	phase  [phaseBins]float32
	phaseW [phaseBins]float32
	// settle counts down the steps after the persistence statistics were
	// reset: they neither score nor learn until they have refilled.
	settle int8
	stats  [nStats]tail
}

// tail is the learnt distribution of one statistic: its scale, and the
// exponentially weighted exceedances of its standardised value over
// tailStart.
type tail struct {
	absMean    float64 // EW mean of capped |x| (magnitude, shift; 0 = not yet learnt)
	w, r       float64 // weight of observations, of exceedances
	m1, m2     float64 // sums of excess and excess²
	priorAdded bool
}

// phaseBins is how many parts of the seasonal period have their own error
// scale; phasePrior is the weight, in observations, of the global scale in
// each (a bin's scale is shrunk towards the global one).
const (
	phaseBins   = 24
	phasePrior  = 10
	phaseCycles = 4
)

// phaseScale returns the error scale of phase bin (-1: none): the bin's
// own, shrunk towards the global scale by phasePrior observations.
func (d *Detector) phaseScale(bin int, global float64) float64 {
	if bin < 0 || d.phaseW[bin] == 0 {
		return global
	}
	w := float64(d.phaseW[bin])
	own := float64(d.phase[bin]) / meanAbs
	return math.Sqrt((w*own*own + phasePrior*global*global) / (w + phasePrior))
}

// primeWeight is what a prior error scale given to Prime weighs, in steps.
const primeWeight = 10

// Prime gives a detector that has observed nothing a prior error scale
// (series unit), such as the one the model's band implies, worth
// primeWeight observations: a wild first error then cannot set the scale
// alone. It does nothing once the detector has observed a step.
func (d *Detector) Prime(sigma float64) {
	if d.n == 0 && sigma > 0 && !math.IsInf(sigma, 0) {
		d.absErr, d.primed = sigma*meanAbs, true
	}
}

// Observations returns the number of steps the detector has learnt from.
func (d *Detector) Observations() int64 { return d.n }

// Observe scores the error err = actual - yhat of the step at grid index
// cell and learns from it. floor is the smallest error scale the series'
// data can support (its resolution; see Floors); it keeps constant
// series from scoring every wobble. Steps must come in increasing order;
// a step at or before the newest observed one is ignored (zero Result).
func (d *Detector) Observe(c Config, cell int64, err, floor float64) Result {
	if math.IsNaN(err) || math.IsInf(err, 0) {
		return Result{}
	}
	if d.n > 0 {
		gap := cell - d.last
		if gap <= 0 {
			return Result{}
		}
		if gap > 1 { // missing data breaks runs
			d.nbox, d.run = 0, 0
			d.ewma *= math.Pow(1-ewmaAlpha, float64(gap-1))
		}
	}
	d.last = cell

	global := d.absErr / meanAbs
	bin := -1
	if c.Period > 1 {
		bin = int(((cell%int64(c.Period))+int64(c.Period))%int64(c.Period)) * phaseBins / c.Period
	}
	sigma := max(d.phaseScale(bin, global), floor)
	if d.n == 0 && !d.primed {
		sigma = max(math.Abs(err), floor)
	}
	var u float64
	switch {
	case err == 0:
	case sigma > 0 && !math.IsInf(err/sigma, 0):
		u = err / sigma
	default:
		u = math.Copysign(1e9, err)
	}

	// The statistics of this step.
	// Where the floor sets the scale, errors below it are normal: the
	// statistics' scales are then at least what independent errors of
	// that size give them.
	floorShare := 0.0
	if sigma > 0 {
		floorShare = floor / sigma
	}
	su := 1.0 // the scale of u itself
	if a := d.stats[0].absMean; a > 0 {
		su = max(a/meanAbs, floorShare)
	}
	w := max(-winsor*su, min(winsor*su, u))
	copy(d.box[1:], d.box[:boxLen-1])
	d.box[0] = u
	d.nbox = min(d.nbox+1, boxLen)
	d.ewma += ewmaAlpha * (w - d.ewma)
	x := [nStats]float64{u, d.runMin(), d.ewma}

	res := Result{Sigma: sigma}
	var std, scores [nStats]float64
	alpha := c.alpha()
	logAlpha := c.logAlpha
	if logAlpha == 0 {
		logAlpha = math.Log(alpha)
	}
	best, worst := 0.0, 0.0 // of the scores shown, of all (two-sided)
	settling := d.settle > 0
	if settling {
		d.settle--
	}
	for k := range nStats {
		t := &d.stats[k]
		t.init(k)
		std[k] = x[k] / d.statScale(k, su, floorShare)
		if k == int(Shift-1) && settling {
			continue
		}
		logp := t.logTailProb(k, math.Abs(std[k]))
		if c.Direction != Both {
			logp -= math.Ln2 // one side of a symmetric distribution
		}
		s := max(logp, minLogP) / (logAlpha + logShare[k])
		s = max(0, min(MaxScore, s))
		worst = max(worst, s)
		if math.Abs(err) < c.MinDeviation ||
			(c.Direction == Up && x[k] <= 0) || (c.Direction == Down && x[k] >= 0) {
			continue
		}
		scores[k] = s
		if s > best {
			best = s
			res.Rule = Rule(k + 1)
		}
	}
	d.n++
	res.Learning = d.n <= int64(c.WarmUp)
	if res.Learning {
		res.Rule = None
	} else {
		res.Score = best
		res.Anomaly = best >= c.threshold()
		if !res.Anomaly {
			res.Rule = None
		}
	}

	// Runs of deviations on one side, for the start of a shift.
	switch {
	case math.Abs(u) <= 1:
		d.run = 0
	case d.run > 0 && (u > 0) == d.runUp:
		d.run++
	default:
		d.run, d.runUp = 1, u > 0
	}

	// Consecutive anomalous steps, in either direction and at any
	// deviation: the second and later of a run are an incident.
	hot := worst >= c.threshold() && !res.Learning
	if hot {
		d.hotRun = min(d.hotRun+1, boxLen)
	} else {
		d.hotRun = 0
	}

	// Consecutive flags on one side: the third makes a shift.
	switch {
	case !res.Anomaly:
		d.flagRun = 0
	case d.flagRun > 0 && (u > 0) == d.runUp:
		d.flagRun = min(d.flagRun+1, boxLen)
	default:
		d.flagRun = 1
	}
	// Learn.
	weight := d.n
	if d.primed {
		weight += primeWeight
	}
	if (d.n == 1 && !d.primed) || sigma == 0 {
		d.absErr = math.Abs(err) * meanAbs
	} else {
		d.absErr += (min(math.Abs(err), huber*max(global, floor)) - d.absErr) / float64(min(weight, scaleMem))
	}
	if bin >= 0 && (!hot || d.hotRun <= 1) {
		capped := min(math.Abs(err), huber*sigma)
		// A bin holds period/phaseBins consecutive steps a cycle: its
		// memory is a few cycles, so that a run within one cycle does
		// not own it.
		mem := max(scaleMem/phaseBins, phaseCycles*(c.Period+phaseBins-1)/phaseBins)
		w := min(float64(d.phaseW[bin])+1, float64(mem))
		d.phase[bin] += float32((capped - float64(d.phase[bin])) / w)
		d.phaseW[bin] = float32(w)
	}
	for k := range nStats {
		t := &d.stats[k]
		if k == int(Shift-1) && settling {
			continue
		}
		switch Rule(k + 1) {
		case Magnitude: // its scale is u's own, su: it winsorises and scales persistence
			t.absMean += (min(math.Abs(x[k]), huber*su) - t.absMean) / float64(min(weight, scaleMem))
		case Shift:
			t.absMean += (min(math.Abs(x[k]), huber*t.scale(floorShare)) - t.absMean) / float64(min(weight, scaleMem))
		}
		if d.n >= minTailObs {
			// Every step counts towards the tail, one that is anomalous
			// (in either direction, at any deviation) at most at the
			// flag's threshold, and a run of them (an incident, not
			// noise) not at all: an incident neither starves the tail (which
			// would flag ever more) nor teaches it that incidents are
			// normal.
			v := math.Abs(std[k])
			if hot {
				v = min(v, t.quantile(k, alpha*budgetShare[k]), t.hotCap(k))
			}
			if !hot || d.hotRun == 1 {
				t.learn(v)
			}
		}
	}

	if res.Anomaly && (d.flagRun >= boxLen || max(scores[Persistence-1], scores[Shift-1]) >= c.threshold()) {
		// A lasting change: report where it began and start afresh, so
		// that the same change is not flagged step after step while the
		// caller adapts the forecast.
		res.ShiftSteps = int(max(d.run, boxLen))
		d.nbox, d.ewma, d.run, d.flagRun = 0, 0, 0, 0
		d.box = [boxLen]float64{}
		d.settle = settleSteps
	}
	return res
}

// runMin returns the persistence statistic: the smallest of the last
// boxLen errors when they all lie on one side (signed), else 0. A single
// spike, however large, does not move it; a change of level moves it by
// its full size.
func (d *Detector) runMin() float64 {
	if d.nbox < boxLen {
		return 0
	}
	m := d.box[0]
	for _, v := range d.box[1:] {
		switch {
		case (v > 0) != (m > 0) || v == 0:
			return 0
		case math.Abs(v) < math.Abs(m):
			m = v
		}
	}
	return m
}

// statScale returns the scale statistic k is standardised by: 1 for the
// magnitude (u is standardised already); runScale times u's own scale su
// for persistence, which is mostly 0, so that its tail starts where all
// three errors exceed runScale × tailStart = 1; the shift statistic's
// learnt scale.
func (d *Detector) statScale(k int, su, floorShare float64) float64 {
	switch Rule(k + 1) {
	case Magnitude:
		return 1
	case Persistence:
		return runScale * su
	}
	return d.stats[k].scale(floorShare)
}

// scale returns the shift statistic's learnt scale (its standard deviation
// if normal), at least floorShare times its independent-noise scale, or
// that scale before anything is learnt.
func (t *tail) scale(floorShare float64) float64 {
	if t.absMean == 0 {
		return shiftNoiseScale
	}
	return max(t.absMean/meanAbs, floorShare*shiftNoiseScale)
}

// init adds the prior tail once.
func (t *tail) init(k int) {
	if t.priorAdded {
		return
	}
	t.priorAdded = true
	t.w = priorWeight
	t.r = priorWeight * priorRate[k]
	t.m1 = t.r * priorLog1[k]
	t.m2 = t.r * priorLog2[k]
}

// learn adds one standardised value v >= 0.
func (t *tail) learn(v float64) {
	const decay = 1 - 1.0/tailMem
	t.w = t.w*decay + 1
	t.r *= decay
	t.m1 *= decay
	t.m2 *= decay
	if v > tailStart {
		l := math.Log(v / tailStart)
		t.r++
		t.m1 += l
		t.m2 += l * l
	}
}

// hotCap bounds what an anomalous step teaches the tail: hotSpread
// standard deviations of the log exceedances above their mean. One
// incident then moves the shape estimate by little, while a heavy tail,
// whose log exceedances spread widely, still shows.
func (t *tail) hotCap(k int) float64 {
	m1 := (t.m1 + shapePrior*priorLog1[k]) / (t.r + shapePrior)
	m2 := (t.m2 + shapePrior*priorLog2[k]) / (t.r + shapePrior)
	sd := math.Sqrt(max(0, m2-m1*m1))
	return tailStart * math.Exp(m1+hotSpread*sd)
}

// quantile returns the standardised value exceeded with probability p
// (p below the exceedance rate).
func (t *tail) quantile(k int, p float64) float64 {
	rate, gamma, sigma := t.params(k)
	if p >= rate {
		return tailStart
	}
	if gamma == 0 {
		return tailStart + sigma*math.Log(rate/p)
	}
	return tailStart + sigma/gamma*(math.Pow(p/rate, -gamma)-1)
}

// params returns the exceedance rate and the generalised Pareto shape and
// scale of the excesses: the moment estimator of Dekkers, Einmahl and de
// Haan (1989) over the logarithms of the exceedances, which, unlike the
// moments of the excesses themselves, a few extreme values do not swing.
func (t *tail) params(k int) (rate, gamma, sigma float64) {
	rate = t.r / t.w
	// The shape is shrunk towards the prior's by shapePrior exceedances
	// that never decay: with a few dozen exceedances the estimate alone
	// swings, and a bounded tail from a handful flags the next large error.
	m1 := (t.m1 + shapePrior*priorLog1[k]) / (t.r + shapePrior)
	m2 := (t.m2 + shapePrior*priorLog2[k]) / (t.r + shapePrior)
	if !(m1 > 0) || !(m2 > m1*m1) {
		return rate, 0, priorExcess
	}
	gminus := 1 - 0.5/(1-m1*m1/m2)
	gamma = max(gammaMin, min(gammaMax, m1+gminus))
	sigma = tailStart * m1 * (1 - min(0, gminus))
	return rate, gamma, sigma
}

// logTailProb returns log P(V >= v) for the standardised statistic: the
// fitted generalised Pareto tail beyond tailStart; below it, 0 up to 1 and
// then linear in v to meet the tail at tailStart (close to a normal's
// decay, and it scores far below 1 anyway). It takes one logarithm or two:
// it runs three times a step for every series and model.
func (t *tail) logTailProb(k int, v float64) float64 {
	if v <= 1 {
		return 0
	}
	rate, gamma, sigma := t.params(k)
	lr := math.Log(rate)
	if v <= tailStart {
		return lr * max(0, v-1) / (tailStart - 1)
	}
	y := v - tailStart
	if gamma == 0 {
		return lr - y/sigma
	}
	base := 1 + gamma*y/sigma
	if base <= 0 {
		return math.Inf(-1)
	}
	return lr - math.Log(base)/gamma
}
