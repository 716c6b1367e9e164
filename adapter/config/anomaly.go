package config

import (
	"fmt"
	"math"
	"slices"
)

// KnownDirections lists the values of anomaly_direction.
var KnownDirections = []string{"both", "up", "down"}

// AnomalyConfig holds how a forecasts entry flags anomalies beyond
// anomaly_threshold. It is inlined in global (the defaults) and in each
// forecasts entry; an entry's unset fields are filled from global.
type AnomalyConfig struct {
	// MinDeviation is the smallest |actual - yhat| that can be anomalous,
	// in the series' unit; it keeps zero-width bands of flat series from
	// flagging every wobble. nil (unset) inherits; global's default is 0.
	MinDeviation *float64 `yaml:"anomaly_min_deviation,omitempty"`
	// Direction is which deviations can be anomalous: up (above the
	// forecast), down (below) or both. Empty inherits.
	Direction string `yaml:"anomaly_direction,omitempty"`
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

// inherit fills the unset fields from g.
func (c *AnomalyConfig) inherit(g AnomalyConfig) {
	if c.MinDeviation == nil && g.MinDeviation != nil {
		v := *g.MinDeviation
		c.MinDeviation = &v
	}
	if c.Direction == "" {
		c.Direction = g.Direction
	}
}

func (c AnomalyConfig) validate() error {
	if d := c.MinDeviationValue(); math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return fmt.Errorf("anomaly_min_deviation %v must be a finite number >= 0", d)
	}
	if !slices.Contains(KnownDirections, c.Direction) {
		return fmt.Errorf("anomaly_direction %q is not one of %v", c.Direction, KnownDirections)
	}
	return nil
}
