// Package prophet implements the forecast model of Prophet (Taylor and
// Letham, "Forecasting at scale", 2018) with Prophet's defaults: a
// piecewise-linear trend with automatic changepoints plus Fourier
// seasonalities, fitted as the maximum a posteriori estimate of Prophet's
// Bayesian model, with a band from the observation noise and the trend's
// uncertainty.
//
//	m := prophet.New(models.Options{IntervalWidth: 0.8}, prophet.Options{})
//	f, err := m.Fit(series, nil)
//	p := f.Predict(series.End()) // p.Yhat, p.Lower, p.Upper
//
// Prophet fits its model with a general optimiser (L-BFGS in Stan). This
// package exploits the model's structure instead: for a fixed noise σ the
// MAP is a least squares problem with a ridge penalty (the normal priors)
// and an L1 penalty (the Laplace prior on the rate changes), which a
// feature-sign search solves exactly on the normal equations of 2 + 25 +
// 2·Σorders columns, alternating with the closed-form σ. The equations take
// one pass over the data, and the changepoint columns, which are hinges
// (t−s)+, contribute through per-segment sums rather than row by row. The
// fit is deterministic. Fitted models implement encoding.BinaryMarshaler
// and the Model implements models.Restorer; a restored fit keeps the band
// width it was fitted with.
package prophet

import (
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// MinObserved is the fewest observed cells Fit accepts.
const MinObserved = 3

// Prophet's defaults, used for zero Options fields.
const (
	DefaultChangepoints          = 25
	DefaultChangepointRange      = 0.8
	DefaultChangepointPriorScale = 0.05
	DefaultSeasonalityPriorScale = 10.0
)

// multRounds is the number of alternations between seasonality and trend
// in multiplicative mode.
const multRounds = 3

// Mode says how the seasonalities combine with the trend.
type Mode uint8

const (
	// Additive: y = trend + seasonality.
	Additive Mode = iota
	// Multiplicative: y = trend·(1 + seasonality).
	Multiplicative
)

// Options are Prophet's own settings. The zero value is Prophet's default:
// additive, 25 changepoints in the first 80% of the history, changepoint
// prior scale 0.05 and seasonality prior scale 10.
type Options struct {
	Mode Mode
	// Changepoints is the number of potential changepoints; 0 means
	// DefaultChangepoints, negative means none.
	Changepoints int
	// ChangepointRange is the share of the history, in (0,1], in which
	// changepoints are placed; 0 means DefaultChangepointRange.
	ChangepointRange float64
	// ChangepointPriorScale is the scale of the Laplace prior on the rate
	// changes, > 0; 0 means DefaultChangepointPriorScale.
	ChangepointPriorScale float64
	// SeasonalityPriorScale is the scale of the normal prior on the
	// Fourier coefficients, > 0; 0 means DefaultSeasonalityPriorScale.
	SeasonalityPriorScale float64
}

// withDefaults returns o with zero fields set to the defaults, or an error
// wrapping models.ErrInvalidOptions.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Changepoints == 0:
		o.Changepoints = DefaultChangepoints
	case o.Changepoints < 0:
		o.Changepoints = 0
	}
	if o.ChangepointRange == 0 {
		o.ChangepointRange = DefaultChangepointRange
	}
	if o.ChangepointPriorScale == 0 {
		o.ChangepointPriorScale = DefaultChangepointPriorScale
	}
	if o.SeasonalityPriorScale == 0 {
		o.SeasonalityPriorScale = DefaultSeasonalityPriorScale
	}
	switch {
	case o.Mode != Additive && o.Mode != Multiplicative:
		return o, fmt.Errorf("unknown mode %d: %w", o.Mode, models.ErrInvalidOptions)
	case !(o.ChangepointRange > 0 && o.ChangepointRange <= 1):
		return o, fmt.Errorf("changepoint range %v not in (0,1]: %w", o.ChangepointRange, models.ErrInvalidOptions)
	case !(o.ChangepointPriorScale > 0) || math.IsInf(o.ChangepointPriorScale, 0):
		return o, fmt.Errorf("changepoint prior scale %v not positive: %w", o.ChangepointPriorScale, models.ErrInvalidOptions)
	case !(o.SeasonalityPriorScale > 0) || math.IsInf(o.SeasonalityPriorScale, 0):
		return o, fmt.Errorf("seasonality prior scale %v not positive: %w", o.SeasonalityPriorScale, models.ErrInvalidOptions)
	}
	return o, nil
}

// model is the Prophet Model. It is immutable.
type model struct {
	opts  models.Options
	popts Options
}

// New returns a Prophet model.
//
// Fit scales y by max|y| and t to [0,1] over the observed span (first to
// last observed cell), and leaves unobserved cells out of the regression.
// The seasonalities are Prophet's automatic ones: daily (order 4), weekly
// (3) and yearly (10), each only when the span covers two of its periods,
// plus the caller's seasonal period (opts.Period, else the Series' Period;
// order 5) when the span can tell it from a day, a week and a year. No
// period is detected. Orders are capped below the Nyquist frequency of the
// step, and harmonics another seasonality already has are dropped.
//
// The band is yhat ± ZScore(width)·sqrt(σ² + V(t)): σ the MAP noise, and
// V(t) the variance of Prophet's simulated future trend: changepoints at
// the historical rate (Changepoints per history span) with Laplace rate
// changes of scale mean|δ|, i.e. V = rate·2λ²·h³/3 at h history spans past
// the end (scaled by (1+seasonality)² in multiplicative mode). Prophet
// takes quantiles of simulations; this is their normal approximation.
func New(opts models.Options, popts Options) models.Model {
	return model{opts: opts, popts: popts}
}

// Name returns "prophet", or "prophet_multiplicative" in multiplicative
// mode.
func (m model) Name() string {
	if m.popts.Mode == Multiplicative {
		return "prophet_multiplicative"
	}
	return "prophet"
}

// Fit trains on s. prev is ignored. It returns an error wrapping
// models.ErrInsufficientData when s has fewer than MinObserved observed
// cells, models.ErrInvalidSeries for a non-positive step,
// models.ErrInvalidOptions for bad options and models.ErrNonFinite when
// values near the limits of float64 overflow the fit.
func (m model) Fit(s models.Series, _ models.Fitted) (models.Fitted, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fit prophet: %w", err)
	}
	if err := m.opts.Validate(); err != nil {
		return nil, fmt.Errorf("fit prophet: %w", err)
	}
	popts, err := m.popts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("fit prophet: %w", err)
	}
	period := m.opts.Period
	if period <= 0 {
		period = max(0, s.Period)
	}
	pr, ok := newProblem(s, popts, period)
	if !ok {
		return nil, fmt.Errorf("fit prophet: %d observed points, need %d: %w",
			s.Observed(), MinObserved, models.ErrInsufficientData)
	}

	nk := len(pr.cpT)
	trendPen := penalty{l1Lo: colD, l1Hi: colD + nk, tau: popts.ChangepointPriorScale}
	trendPen.scale = make([]float64, colD+nk+pr.nf)
	for j := range trendPen.scale {
		trendPen.scale[j] = trendPriorScale
		if j >= colD+nk {
			trendPen.scale[j] = popts.SeasonalityPriorScale
		}
	}
	var sv solver
	c, sigma2, err := sv.solve(pr.additiveNormal(), trendPen, nil, -1)
	if err != nil {
		return nil, fmt.Errorf("fit prophet: %w", err)
	}
	trend, beta := c[:colD+nk], c[colD+nk:]
	if popts.Mode == Multiplicative && pr.nf > 0 {
		seasPen := penalty{scale: trendPen.scale[colD+nk:], tau: 1}
		trendPen.scale = trendPen.scale[:colD+nk]
		beta = nil
		for range multRounds {
			if beta, _, err = sv.solve(pr.seasonalNormal(trend), seasPen, beta, sigma2); err != nil {
				return nil, fmt.Errorf("fit prophet: %w", err)
			}
			if trend, sigma2, err = sv.solve(pr.multTrendNormal(beta), trendPen, trend, sigma2); err != nil {
				return nil, fmt.Errorf("fit prophet: %w", err)
			}
		}
	}
	f := pr.fitted(popts.Mode, trend, beta, sigma2, models.ZScore(m.opts.Width()))
	if err := models.CheckFinite(f, s, period); err != nil {
		return nil, fmt.Errorf("fit prophet: %w", err)
	}
	return f, nil
}

// fitted returns the Fitted of the coefficients trend (m, k, δ...) and
// beta (the seasonal features) and the noise variance sigma2, all scaled.
func (pr *problem) fitted(mode Mode, trend, beta []float64, sigma2, z float64) *fitted {
	nk := len(pr.cpT)
	f := &fitted{
		mode:   mode,
		yScale: pr.yScale,
		t0:     pr.start,
		tScale: float64(len(pr.values)-1) * float64(pr.step),
		rows:   int64(len(pr.values) - 1),
		k:      trend[colK],
		m:      trend[colM],
		cpT:    append([]float64(nil), pr.cpT...),
		delta:  append([]float64(nil), trend[colD:colD+nk]...),
		seas:   pr.seas,
		beta:   append([]float64(nil), beta...),
		sigma:  math.Sqrt(sigma2),
		rate:   float64(nk),
		z:      z,
	}
	f.lambda = laplaceScale(f.delta)
	return f
}

// laplaceScale is the Laplace scale of future rate changes given the
// fitted ones: their mean absolute value, as Prophet (0 without any).
func laplaceScale(delta []float64) float64 {
	if len(delta) == 0 {
		return 0
	}
	var sum float64
	for _, d := range delta {
		sum += math.Abs(d)
	}
	return sum/float64(len(delta)) + 1e-8 // as Prophet
}

var (
	_ models.Restorer = model{}
	_ models.Fitted   = (*fitted)(nil)
)
