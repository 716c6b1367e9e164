package naive

import "github.com/train-prometheus/train-prometheus/models"

// DriftPeriods is how many of the last periods the drift of
// NewDrift's model is measured over.
const DriftPeriods = 4

// minDriftCells is the fewest recent cells the drift is measured over when
// the data allows (a period of 1 would otherwise give a drift from a few
// steps).
const minDriftCells = 24

// NewDrift returns the seasonal naive model with drift,
// "seasonal_naive_drift": the seasonal naive forecast (see New) plus a
// linear trend, as the seasonal naive and drift methods combined (Hyndman
// and Athanasopoulos, "Forecasting: principles and practice"). The drift d
// is the median of the observed seasonal differences y[i] − y[i−period]
// over the last DriftPeriods periods (at least minDriftCells cells), when
// the data holds DriftPeriods+1 periods (else 0: a drift from fewer
// seasons is mostly noise): the change of the level per period, which a
// spike or a short outage does not tilt. A forecast h periods ahead of
// its phase's latest cell adds h·d, so a series with a trend is forecast
// to go on rising or falling at the recent rate, season by season. The
// band is seasonal naive's.
func NewDrift(opts models.Options) models.Model {
	return model{opts: opts, drift: true}
}

// seasonalDrift returns the median of the observed differences
// values[i] − values[i−period] over the last max(DriftPeriods·period,
// minDriftCells) cells that have a cell a period before them; 0 when none
// or when values hold fewer than DriftPeriods+1 periods.
func seasonalDrift(values []float64, period int) float64 {
	n := len(values)
	if n < (DriftPeriods+1)*period {
		return 0
	}
	from := max(period, n-max(DriftPeriods*period, minDriftCells))
	d := make([]float64, 0, n-from)
	for i := from; i < n; i++ {
		if y, v := values[i], values[i-period]; observed(y) && observed(v) {
			d = append(d, y-v)
		}
	}
	if len(d) == 0 {
		return 0
	}
	return models.SelectK(d, len(d)/2)
}
