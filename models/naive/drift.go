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
// linear trend. The drift d is the mean of the observed seasonal
// differences y[i] − y[i−period] over the last DriftPeriods periods (at
// least minDriftCells cells, as far as the data goes): the change of the
// level per period. A forecast h periods ahead of its phase's latest cell
// adds h·d, and the mean of the last K periods it starts from is first
// moved from the middle of those periods to the last one, by (K−1)/2·d: a
// series with a trend is forecast to go on rising or falling at the
// recent rate, season by season (Hyndman and Athanasopoulos, "Forecasting:
// principles and practice", the seasonal naive and drift methods
// combined). The band is seasonal naive's.
func NewDrift(opts models.Options) models.Model {
	return model{opts: opts, drift: true}
}

// seasonalDrift returns the mean of the observed differences
// values[i] − values[i−period] over the last max(DriftPeriods·period,
// minDriftCells) cells that have a cell a period before them; 0 when none.
func seasonalDrift(values []float64, period int) float64 {
	n := len(values)
	if n < (DriftPeriods+1)*period {
		return 0
	}
	from := max(period, n-max(DriftPeriods*period, minDriftCells))
	var sum, cnt float64
	for i := from; i < n; i++ {
		if y, v := values[i], values[i-period]; observed(y) && observed(v) {
			sum += y - v
			cnt++
		}
	}
	if cnt == 0 {
		return 0
	}
	return sum / cnt
}
