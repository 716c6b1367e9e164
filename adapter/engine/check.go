package engine

import "github.com/train-prometheus/train-prometheus/adapter/config"

// CheckConfig reports the error ApplyConfig would return for cfg, without
// changing anything, so that the adapter can check every component before
// it applies a configuration to any of them.
func CheckConfig(cfg *config.Config) error {
	for i, fc := range cfg.Forecasts {
		if _, err := CompileEntry(fc, i); err != nil {
			return err
		}
	}
	return nil
}
