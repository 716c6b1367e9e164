// Package auto implements automatic model selection: at every fit it
// backtests its candidate models on the most recent history of the series
// and keeps the one with the smallest scale-free error, or an
// inverse-error weighted combination of the best few when that does
// better, refitted on all the data, with its band calibrated on the
// backtest's errors.
//
//	m := auto.New(opts, fourier.New(opts, 0), naive.New(opts))
//	f, err := m.Fit(series, prev)
//	f.(auto.Fitted).Chosen() // "fourier", or "fourier+seasonal_naive"
package auto

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/train-prometheus/train-prometheus/models"
)

// Name is the model name of auto.
const Name = "auto"

const (
	// maxOrigins is how many backtest origins a fit evaluates.
	maxOrigins = 12
	// minTrain is the fewest cells a backtest origin trains on.
	minTrain = 16
	// shortHorizonDivisor sets the backtest horizon when the series has no
	// seasonal period or fewer than three of them: its length over this.
	shortHorizonDivisor = 8
	// maxCombine is the most of the best candidates a combination
	// averages.
	maxCombine = 4
	// combineGain is the share of the best single candidate's backtest
	// error a combination must stay below to be chosen; its weights come
	// from the same backtest, so it has to win by a margin.
	combineGain = 0.98
	// minCalibrationCells is the fewest scored backtest cells the band is
	// calibrated on; with fewer, the candidates' own band is kept.
	minCalibrationCells = 20
	// minCalibrationOrigins is the fewest backtest origins the band is
	// calibrated on; with fewer, the candidates' own band is kept. The
	// scores of one origin are one forecast's errors, strongly dependent:
	// their quantile is that forecast's luck (a burst in its horizon, a
	// band the candidate sized on a shorter history), not the spread of
	// the errors, and it moved the band 0.5 to 4 times for a day of a
	// daily period (the one origin between three and four periods).
	minCalibrationOrigins = 2
	// calibrationBlocks is the most blocks of consecutive horizon steps
	// the band is calibrated on separately: the errors of a forecast
	// grow with its distance (a wandering level), faster than some
	// candidates' bands do, so the near steps, which the engine forecasts
	// between refits, get the factor of the near backtest errors and the
	// far steps that of the far ones.
	calibrationBlocks = 4
	// maxBandGrowth is the largest exponent of the power law the band's
	// factor follows beyond the backtest's horizon: that of a random walk.
	maxBandGrowth = 0.5
	// minBandScale and maxBandScale bound the calibration factor of the band.
	minBandScale = 0.5
	maxBandScale = 10
)

// Fitted is what auto's Fit returns: a models.Fitted that reports the
// candidates it chose.
type Fitted interface {
	models.Fitted
	// Chosen returns the names of the chosen candidates joined by "+", in
	// the order the candidates were given to New.
	Chosen() string
}

// model is the auto Model. It is immutable.
type model struct {
	opts       models.Options
	candidates []models.Model
}

var (
	_ models.Model    = (*model)(nil)
	_ models.Restorer = (*model)(nil)
	_ Fitted          = (*fitted)(nil)
)

// New returns a model that chooses among candidates (their order breaks
// ties) at every fit.
//
// Fit detects the seasonal period p once (opts.Period, else Series.Period,
// else models.DetectPeriod) and hands it to every candidate through
// models.Series.Period. It then runs a rolling-origin backtest: at up to
// twelve origins (more origins make the choice less a matter of chance),
// the last at one horizon before the end and each earlier one a horizon
// before the next, each candidate is fitted to the cells
// before the origin and forecasts the horizon after it. The horizon is one
// period when the series holds at least three periods, else an eighth of
// the series; every origin keeps at least two horizons (and 16 cells) of
// training data, and with a period at least a period and 16 cells when
// the series allows one such origin. A forecast's error is its mean
// absolute error over the observed cells, scaled by the in-sample mean
// absolute seasonal difference of its training data (MASE), and a
// candidate's error is the mean over the origins; a candidate that fails
// or forecasts a non-finite value at any origin is ranked last.
//
// The best candidate is chosen, unless the inverse-error weighted average of
// the best k forecasts (k from 2 to four) has a backtest error below 98%
// of the best's: then the best k are, with those weights, for the k with
// the least error. The chosen candidates are refitted on the
// whole series (each warm-started from its own previous fit); the
// prediction and band are the weighted averages of theirs.
//
// The band is then calibrated out of sample, per block of horizon steps:
// the backtest horizon is cut into up to four blocks of at least 20 scored
// cells (over the origins), and in each the band's half-widths are scaled
// by the split-conformal opts.Width() quantile (the ⌈(k+1)·width⌉-th
// smallest of k) of the raw anomaly scores (distance from yhat in
// half-band widths, models.AnomalyScore) of the chosen forecast, so that
// the backtest's band would have covered that share of the actual values.
// The factors are made non-decreasing with the distance (isotonic
// regression), kept within [0.5, 10], and are 1 with fewer than 20 cells
// or cells of fewer than two origins (one forecast's errors); times before
// the end use the first block's, times beyond the backtest horizon the
// last block's. When a chosen
// candidate fails the final fit the others share its weight, and when all
// fail the next candidate by rank is tried. A series too short for any
// origin gets the first candidate that fits.
func New(opts models.Options, candidates ...models.Model) models.Model {
	return &model{opts: opts, candidates: slices.Clone(candidates)}
}

// Name returns "auto".
func (*model) Name() string { return Name }

// Fit chooses and fits the candidates on s. It returns an error wrapping
// models.ErrInsufficientData when no candidate has enough data,
// models.ErrNonFinite when no candidate fits finitely (values near the
// limits of float64), and models.ErrInvalidSeries or
// models.ErrInvalidOptions for bad input.
func (m *model) Fit(s models.Series, prev models.Fitted) (models.Fitted, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fit auto: %w", err)
	}
	if err := m.opts.Validate(); err != nil {
		return nil, fmt.Errorf("fit auto: %w", err)
	}
	if len(m.candidates) == 0 {
		return nil, fmt.Errorf("fit auto: no candidate models: %w", models.ErrInvalidOptions)
	}
	if s.Observed() < 2 {
		return nil, fmt.Errorf("fit auto: %d observed points: %w", s.Observed(), models.ErrInsufficientData)
	}
	period := s.SeasonalPeriod(m.opts, s.Values)
	s.Period = period
	if period == 0 {
		s.Period = -1
	}

	bt := m.backtest(s, period)
	order := m.rank(bt)
	members := m.decide(bt, order)
	var prevFit *fitted
	if p, ok := prev.(*fitted); ok {
		prevFit = p
	}

	f, fitErrs := m.fitMembers(s, members, prevFit)
	if f != nil {
		f.setBand(s, bt, m.opts.Width())
		// Weighted and rescaled, finite members can still overflow.
		err := models.CheckFinite(f, s, period)
		if err == nil {
			return f, nil
		}
		fitErrs = append(fitErrs, err)
	}
	// Every chosen candidate failed on the whole series: try the rest by rank.
	for _, c := range order {
		if slices.ContainsFunc(members, func(mb weighted) bool { return mb.index == c }) {
			continue
		}
		g, e := m.fitMembers(s, []weighted{{index: c, weight: 1}}, prevFit)
		if g != nil {
			g.setBand(s, bt, m.opts.Width())
			err := models.CheckFinite(g, s, period)
			if err == nil {
				return g, nil
			}
			e = append(e, fmt.Errorf("%s: %w", m.candidates[c].Name(), err))
		}
		fitErrs = append(fitErrs, e...)
	}
	return nil, fmt.Errorf("fit auto: %w", errors.Join(fitErrs...))
}

// weighted is a chosen candidate and its weight.
type weighted struct {
	index  int
	weight float64
}

// fitMembers fits the chosen candidates on s and returns the combined fit,
// or nil and the errors when none fits.
func (m *model) fitMembers(s models.Series, chosen []weighted, prev *fitted) (*fitted, []error) {
	f := &fitted{scales: []float64{1}, block: 1, end: s.End(), step: s.Step}
	var errs []error
	var total float64
	for _, c := range chosen {
		cand := m.candidates[c.index]
		var p models.Fitted
		if prev != nil {
			p = prev.member(cand.Name())
		}
		g, err := cand.Fit(s, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cand.Name(), err))
			continue
		}
		f.members = append(f.members, member{name: cand.Name(), index: c.index, weight: c.weight, fit: g})
		total += c.weight
	}
	if len(f.members) == 0 {
		return nil, errs
	}
	for i := range f.members {
		f.members[i].weight /= total
	}
	slices.SortFunc(f.members, func(a, b member) int { return a.index - b.index })
	return f, nil
}

// backtestResult holds a backtest's forecasts and errors.
type backtestResult struct {
	values  []float64 // the series from its first observed cell
	period  int
	h       int
	origins []int
	// preds[c][o][j] is candidate c's forecast at origin o for cell
	// origins[o]+j; nil when the candidate failed there.
	preds [][][]models.Point
	// errs[c][o] is the scaled error of preds[c][o] (+Inf for a failure,
	// NaN when no cell of the horizon is observed).
	errs [][]float64
}

// backtest runs the rolling-origin backtest of every candidate on s, or
// returns nil when s is too short for any origin. period is s's seasonal
// period, 0 for none.
func (m *model) backtest(s models.Series, period int) *backtestResult {
	first := slices.IndexFunc(s.Values, models.IsObserved)
	values := s.Values[first:]
	start := s.Time(first)
	h, origins := plan(len(values), period)
	if len(origins) == 0 {
		return nil
	}
	bt := &backtestResult{
		values: values, period: period, h: h, origins: origins,
		preds: make([][][]models.Point, len(m.candidates)),
		errs:  make([][]float64, len(m.candidates)),
	}
	for c, cand := range m.candidates {
		bt.preds[c] = make([][]models.Point, len(origins))
		bt.errs[c] = make([]float64, len(origins))
		for o, origin := range origins {
			train := models.Series{Start: start, Step: s.Step, Values: values[:origin], Period: s.Period}
			f, err := cand.Fit(train, nil)
			if err != nil {
				bt.errs[c][o] = math.Inf(1)
				continue
			}
			pred := make([]models.Point, min(h, len(values)-origin))
			for j := range pred {
				pred[j] = f.Predict(train.Time(origin + j))
			}
			bt.preds[c][o] = pred
			bt.errs[c][o] = bt.scaledError(o, pred)
		}
	}
	return bt
}

// scaledError returns the mean absolute error of pred (the forecast at
// origin o) over the observed cells of its horizon, divided by the mean
// absolute seasonal difference of the cells before the origin (or not
// divided when that is 0); +Inf when a prediction is not finite, NaN when
// no cell is observed.
func (bt *backtestResult) scaledError(o int, pred []models.Point) float64 {
	origin := bt.origins[o]
	var sum, n float64
	for j, p := range pred {
		y := p.Yhat
		v := bt.values[origin+j]
		if !models.IsObserved(v) {
			continue
		}
		if !models.IsObserved(y) {
			return math.Inf(1)
		}
		sum += math.Abs(v - y)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	mae := sum / n
	if scale := seasonalScale(bt.values[:origin], max(1, bt.period)); scale > 0 {
		mae /= scale
	}
	return mae
}

// combinedError returns the backtest error of the weighted average of the
// forecasts of top.
func (bt *backtestResult) combinedError(top []weighted) float64 {
	errs := make([]float64, len(bt.origins))
	for o := range bt.origins {
		errs[o] = bt.scaledError(o, bt.combined(o, top))
	}
	return meanError(errs)
}

// combined returns the weighted average of the forecasts of members at
// origin o, or nil when one of them failed there.
func (bt *backtestResult) combined(o int, members []weighted) []models.Point {
	var total float64
	for _, w := range members {
		total += w.weight
		if bt.preds[w.index][o] == nil {
			return nil
		}
	}
	out := make([]models.Point, len(bt.preds[members[0].index][o]))
	for _, w := range members {
		f := w.weight / total
		for j, p := range bt.preds[w.index][o] {
			out[j].Yhat += f * p.Yhat
			out[j].Lower += f * p.Lower
			out[j].Upper += f * p.Upper
		}
	}
	return out
}

// band returns the calibration of the band of the weighted members: the
// factors for consecutive blocks of horizon steps (see bandScale) and the
// steps per block. Without a backtest it is one factor of 1.
func (bt *backtestResult) band(members []weighted, width float64) ([]float64, int) {
	if bt == nil {
		return []float64{1}, 1
	}
	// Blocks of at least minCalibrationCells scores each (over the origins),
	// at most calibrationBlocks of them.
	cells := bt.h * len(bt.origins)
	blocks := min(calibrationBlocks, max(1, cells/minCalibrationCells), bt.h)
	size := (bt.h + blocks - 1) / blocks
	blocks = (bt.h + size - 1) / size
	scales := make([]float64, blocks)
	for b := range scales {
		scales[b] = bt.bandScale(members, width, b*size, min(bt.h, (b+1)*size))
	}
	// Errors do not shrink with the distance: a narrower band further out
	// is the noise of a quantile of few scores.
	return nonDecreasing(scales), size
}

// bandScale returns the factor that makes the band of the weighted
// members cover the share width of the observed backtest cells from..to-1
// steps after each origin: the width-quantile of their raw anomaly scores
// (distance from yhat in band half-widths), clamped to [minBandScale,
// maxBandScale]; 1 with fewer than minCalibrationCells scores or scores
// from fewer than minCalibrationOrigins origins.
func (bt *backtestResult) bandScale(members []weighted, width float64, from, to int) float64 {
	var scores []float64
	origins := 0
	for o, origin := range bt.origins {
		pred := bt.combined(o, members)
		had := len(scores)
		for j := from; j < min(len(pred), to); j++ {
			if s := models.AnomalyScore(bt.values[origin+j], pred[j]); !math.IsNaN(s) {
				scores = append(scores, s)
			}
		}
		if len(scores) > had {
			origins++
		}
	}
	if len(scores) < minCalibrationCells || origins < minCalibrationOrigins {
		return 1
	}
	// The ⌈(k+1)·width⌉-th smallest of k scores (split conformal
	// prediction): a new score exchangeable with them stays at or below it
	// with probability at least width, where the plain width-quantile of
	// few scores falls short of it.
	q := slices.Max(scores)
	if r := int(math.Ceil(float64(len(scores)+1) * width)); r <= len(scores) {
		slices.Sort(scores)
		q = scores[r-1]
	}
	return min(max(q, minBandScale), maxBandScale)
}

// nonDecreasing returns the least squares non-decreasing fit to x
// (isotonic regression by pooling adjacent violators), in place.
func nonDecreasing(x []float64) []float64 {
	// Pools of equal values: their means and sizes.
	means := make([]float64, 0, len(x))
	sizes := make([]int, 0, len(x))
	for _, v := range x {
		means, sizes = append(means, v), append(sizes, 1)
		for k := len(means) - 1; k > 0 && means[k-1] > means[k]; k-- {
			n := sizes[k-1] + sizes[k]
			means[k-1] = (means[k-1]*float64(sizes[k-1]) + means[k]*float64(sizes[k])) / float64(n)
			sizes[k-1] = n
			means, sizes = means[:k], sizes[:k]
		}
	}
	i := 0
	for k, m := range means {
		for range sizes[k] {
			x[i] = m
			i++
		}
	}
	return x
}

// plan returns the backtest horizon for a series of n cells with the given
// period (0 for none) and the origins (cell indices), latest first.
//
// With a period, every origin trains on at least a period and minTrain
// cells when the series allows one such origin: before that the seasonal
// candidates cannot use the period (seasonal naive fails, fourier fits
// without it), so such origins would rank and calibrate candidates that
// are not the ones the whole series gets.
func plan(n, period int) (int, []int) {
	h := period
	if h <= 0 || n < 3*h {
		h = max(1, n/shortHorizonDivisor)
	}
	least := max(2*h, minTrain)
	if period > 0 && n-h >= period+minTrain {
		least = max(least, period+minTrain)
	}
	var origins []int
	for j := 1; j <= maxOrigins; j++ {
		o := n - j*h
		if o < least {
			break
		}
		origins = append(origins, o)
	}
	return h, origins
}

// seasonalScale returns the mean absolute difference of observed cells m
// apart: the in-sample error of the seasonal naive method, MASE's scale.
func seasonalScale(values []float64, m int) float64 {
	var sum, n float64
	for i := m; i < len(values); i++ {
		if models.IsObserved(values[i]) && models.IsObserved(values[i-m]) {
			sum += math.Abs(values[i] - values[i-m])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// meanError returns the mean of the finite-or-+Inf errors of one candidate
// over the origins, ignoring origins with no observed cell (NaN); +Inf when
// none is left.
func meanError(errs []float64) float64 {
	var sum, n float64
	for _, e := range errs {
		if !math.IsNaN(e) {
			sum += e
			n++
		}
	}
	if n == 0 {
		return math.Inf(1)
	}
	return sum / n
}

// rank returns the candidate indices by increasing mean backtest error;
// ties, and the case of no backtest (bt nil), keep the given order.
func (m *model) rank(bt *backtestResult) []int {
	n := len(m.candidates)
	order := make([]int, 0, n)
	for c := range n {
		order = append(order, c)
	}
	if bt == nil {
		return order
	}
	mean := make([]float64, n)
	for c := range n {
		mean[c] = meanError(bt.errs[c])
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case mean[a] < mean[b]:
			return -1
		case mean[a] > mean[b]:
			return 1
		}
		return 0
	})
	return order
}

// decide returns the candidates to fit on the whole series and their
// weights, given the backtest and the ranking.
func (m *model) decide(bt *backtestResult, order []int) []weighted {
	if bt == nil {
		// No backtest: Fit falls through the ranking (the given order).
		return []weighted{{index: order[0], weight: 1}}
	}
	best := meanError(bt.errs[order[0]])
	if len(order) < 2 || best == 0 || math.IsInf(best, 1) {
		return []weighted{{index: order[0], weight: 1}}
	}
	var top []weighted
	for _, c := range order[:min(maxCombine, len(order))] {
		e := meanError(bt.errs[c])
		if math.IsInf(e, 1) {
			break
		}
		top = append(top, weighted{index: c, weight: 1 / e})
	}
	// The best k of them, for the k whose combination has the least
	// backtest error.
	k, kErr := 1, combineGain*best
	for j := 2; j <= len(top); j++ {
		if e := bt.combinedError(top[:j]); e < kErr {
			k, kErr = j, e
		}
	}
	return top[:k]
}

// member is one chosen candidate's fit and its weight.
type member struct {
	name   string
	index  int // position among the candidates; 0 for restored fits
	weight float64
	fit    models.Fitted
}

// fitted is a trained auto model: one or more weighted candidate fits. It
// is immutable after Fit.
type fitted struct {
	members []member
	// scales[b] scales the band's half-widths from b·block to
	// (b+1)·block−1 steps after end (the last one beyond, the first one
	// before), from the backtest.
	scales []float64
	block  int
	end    int64 // first grid time after the training data
	step   int64
}

// setBand sets the band's calibration from the backtest.
func (f *fitted) setBand(s models.Series, bt *backtestResult, width float64) {
	f.scales, f.block = bt.band(f.weights(), width)
	f.end, f.step = s.End(), s.Step
}

// scale returns the band factor for grid time t.
func (f *fitted) scale(t int64) float64 {
	if len(f.scales) == 1 || t < f.end {
		return f.scales[0]
	}
	// Unsigned: t − end does not overflow for any restored end.
	j := (uint64(t) - uint64(f.end)) / uint64(f.step)
	if b := j / uint64(f.block); b < uint64(len(f.scales)) {
		return f.scales[b]
	}
	// Beyond the backtest's horizon, the factor grows from the last
	// block's as the least squares power law through the blocks' factors
	// (at their middle steps) does, with an exponent between 0 and 1/2 (a
	// random walk's spread).
	var sx, sy, sxx, sxy float64
	for b, k := range f.scales {
		x, y := math.Log(float64(b*f.block)+float64(f.block+1)/2), math.Log(k)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	nb := float64(len(f.scales))
	a := min(maxBandGrowth, max(0, (nb*sxy-sx*sy)/(nb*sxx-sx*sx)))
	mid := float64((len(f.scales)-1)*f.block) + float64(f.block+1)/2
	return f.scales[len(f.scales)-1] * math.Pow(float64(j+1)/mid, a)
}

// weights returns the members as weighted candidate indices.
func (f *fitted) weights() []weighted {
	out := make([]weighted, len(f.members))
	for i, m := range f.members {
		out[i] = weighted{index: m.index, weight: m.weight}
	}
	return out
}

// Chosen returns the chosen candidates' names joined by "+".
func (f *fitted) Chosen() string {
	names := make([]string, len(f.members))
	for i, m := range f.members {
		names[i] = m.name
	}
	return strings.Join(names, "+")
}

// member returns the fit of the candidate called name, or nil.
func (f *fitted) member(name string) models.Fitted {
	for _, m := range f.members {
		if m.name == name {
			return m.fit
		}
	}
	return nil
}

// Predict returns the weighted average of the chosen candidates' points at
// t, over those whose point is finite (NaNPoint when none is), with the
// band's half-widths scaled by the calibration factor.
func (f *fitted) Predict(t int64) models.Point {
	p := f.average(t)
	if k := f.scale(t); k != 1 {
		p.Lower = p.Yhat - k*(p.Yhat-p.Lower)
		p.Upper = p.Yhat + k*(p.Upper-p.Yhat)
	}
	return p
}

func (f *fitted) average(t int64) models.Point {
	if len(f.members) == 1 {
		return f.members[0].fit.Predict(t)
	}
	var p models.Point
	var total float64
	for _, m := range f.members {
		q := m.fit.Predict(t)
		if !models.IsObserved(q.Yhat) || !models.IsObserved(q.Lower) || !models.IsObserved(q.Upper) {
			continue
		}
		p.Yhat += m.weight * q.Yhat
		p.Lower += m.weight * q.Lower
		p.Upper += m.weight * q.Upper
		total += m.weight
	}
	if total == 0 {
		return models.NaNPoint()
	}
	p.Yhat /= total
	p.Lower /= total
	p.Upper /= total
	return p
}
