package config

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
)

// KnownDirections lists the values of anomaly_direction.
var KnownDirections = []string{"both", "up", "down"}

// DefaultFalseAlarmsPerDay is global's default anomaly_false_alarms_per_day.
const DefaultFalseAlarmsPerDay = 0.01

// AnomalyConfig holds how a forecasts entry flags anomalies beyond
// anomaly_threshold, and the range its forecasts are clipped to. It is
// inlined in global (the defaults) and in each forecasts entry; an entry's
// unset fields are filled from global.
type AnomalyConfig struct {
	// MinDeviation is the smallest |actual - yhat| that can be anomalous,
	// in the series' unit. nil (unset) inherits; global's default is 0.
	MinDeviation *float64 `yaml:"anomaly_min_deviation,omitempty"`
	// Direction is which deviations can be anomalous: up (above the
	// forecast), down (below) or both. Empty inherits.
	Direction string `yaml:"anomaly_direction,omitempty"`
	// FalseAlarmsPerDay is the false-alarm budget: the expected number of
	// flagged steps per series and day on data that behaves as it has.
	// nil inherits; global's default is DefaultFalseAlarmsPerDay.
	FalseAlarmsPerDay *float64 `yaml:"anomaly_false_alarms_per_day,omitempty"`
	// WarmUp is how long forecasts are scored before the first flag; 0
	// (unset) inherits, and global's 0 means one seasonal period (at least
	// 48 steps, at most a day).
	WarmUp model.Duration `yaml:"anomaly_warm_up,omitempty"`
	// ClipMin and ClipMax bound forecasts and bands (e.g. 0 for metrics
	// that cannot be negative). nil inherits; global's default is none.
	ClipMin *float64 `yaml:"clip_min,omitempty"`
	ClipMax *float64 `yaml:"clip_max,omitempty"`
}

// DefaultAnomalyConfig holds global's anomaly defaults.
var DefaultAnomalyConfig = AnomalyConfig{Direction: "both"}

// MinDeviationValue returns the minimum deviation, 0 when unset.
func (c AnomalyConfig) MinDeviationValue() float64 {
	if c.MinDeviation == nil {
		return 0
	}
	return *c.MinDeviation
}

// FalseAlarmsPerDayValue returns the false-alarm budget, the default when
// unset.
func (c AnomalyConfig) FalseAlarmsPerDayValue() float64 {
	if c.FalseAlarmsPerDay == nil {
		return DefaultFalseAlarmsPerDay
	}
	return *c.FalseAlarmsPerDay
}

// ClipRange returns the range forecasts are clipped to (±Inf when unset).
func (c AnomalyConfig) ClipRange() (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if c.ClipMin != nil {
		lo = *c.ClipMin
	}
	if c.ClipMax != nil {
		hi = *c.ClipMax
	}
	return lo, hi
}

// inherit fills the unset fields from g.
func (c *AnomalyConfig) inherit(g AnomalyConfig) {
	ptr := func(dst **float64, src *float64) {
		if *dst == nil && src != nil {
			v := *src
			*dst = &v
		}
	}
	ptr(&c.MinDeviation, g.MinDeviation)
	ptr(&c.FalseAlarmsPerDay, g.FalseAlarmsPerDay)
	ptr(&c.ClipMin, g.ClipMin)
	ptr(&c.ClipMax, g.ClipMax)
	if c.Direction == "" {
		c.Direction = g.Direction
	}
	if c.WarmUp == 0 {
		c.WarmUp = g.WarmUp
	}
}

func (c AnomalyConfig) validate() error {
	if d := c.MinDeviationValue(); math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return fmt.Errorf("anomaly_min_deviation %v must be a finite number >= 0", d)
	}
	if !slices.Contains(KnownDirections, c.Direction) {
		return fmt.Errorf("anomaly_direction %q is not one of %v", c.Direction, KnownDirections)
	}
	if f := c.FalseAlarmsPerDayValue(); math.IsNaN(f) || f <= 0 || f > 1000 {
		return fmt.Errorf("anomaly_false_alarms_per_day %v must be in (0, 1000]", f)
	}
	if c.WarmUp < 0 || time.Duration(c.WarmUp) > 365*24*time.Hour {
		return fmt.Errorf("anomaly_warm_up %s must be between 0 and 365d", c.WarmUp)
	}
	lo, hi := c.ClipRange()
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 1) || math.IsInf(hi, -1) || lo >= hi {
		return fmt.Errorf("clip_min %v must be below clip_max %v (both finite when set)", lo, hi)
	}
	return nil
}
