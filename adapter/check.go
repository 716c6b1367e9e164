package adapter

import (
	"errors"
	"fmt"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/remoteread"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
)

// configChecks are the checks of a configuration that need no running
// adapter: selectors compiled, HTTP clients built (TLS files read),
// remote-read sources set up.
func configChecks() []applier {
	return []applier{
		{"engine", engine.CheckConfig},
		{"remote_write", func(c *config.Config) error { return writeback.CheckConfig(c.RemoteWrite) }},
		{"remote_read", remoteread.CheckConfig},
	}
}

// CheckConfig runs the checks ApplyConfig runs before it applies cfg,
// except the storage backend's (which depends on --storage.path), so that
// `check config` refuses what serving would refuse.
func CheckConfig(cfg *config.Config) error {
	var errs []error
	for _, ch := range configChecks() {
		if err := ch.apply(cfg); err != nil {
			errs = append(errs, fmt.Errorf("check %s config: %w", ch.name, err))
		}
	}
	return errors.Join(errs...)
}
