package adapter

import (
	"os"
	"runtime/debug"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/receive"
)

// receiveLimits are the receiver's limits from the limits section.
func receiveLimits(c config.LimitsConfig) receive.Limits {
	return receive.Limits{
		MaxRequestBytes:     c.MaxRequestBytes,
		MaxSeriesPerRequest: c.MaxSeriesPerRequest,
		MaxLabelsPerSeries:  c.MaxLabelsPerSeries,
		MaxLabelNameLength:  c.MaxLabelNameLength,
		MaxLabelValueLength: c.MaxLabelValueLength,
		MaxInflightRequests: c.MaxInflightRequests,
		MaxMemoryBytes:      c.MaxMemoryBytes,
	}
}

// receiveConfig is receiveLimits with the tenant header when tenancy is on.
func receiveConfig(c *config.Config) receive.Limits {
	l := receiveLimits(c.Limits)
	if c.Tenancy.Enabled {
		l.TenantHeader = c.Tenancy.Header
	}
	return l
}

// setMemoryLimit makes limits.max_memory_bytes the Go runtime's soft memory
// limit too, so that the garbage collector works to keep the process under
// the ceiling that the receiver defends by refusing new series and then
// requests. A GOMEMLIMIT set in the environment wins; without a ceiling the
// runtime's limit is what it was at start.
func (a *Adapter) setMemoryLimit(ceiling int64) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return
	}
	limit := a.initialMemLimit
	if ceiling > 0 {
		limit = ceiling
	}
	if prev := debug.SetMemoryLimit(limit); prev != limit {
		level.Info(a.logger).Log("msg", "Set the Go runtime's soft memory limit", "bytes", limit)
	}
}
