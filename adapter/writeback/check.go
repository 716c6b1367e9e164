package writeback

import (
	"fmt"

	commonconfig "github.com/prometheus/common/config"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// CheckConfig reports the errors Manager.ApplyConfig would return for
// cfgs, building each target's HTTP client (TLS files, OAuth2 settings)
// without starting anything, so that the adapter can check every component
// before it applies a configuration to any of them.
func CheckConfig(cfgs []*config.RemoteWriteConfig) error {
	names := make(map[string]struct{}, len(cfgs))
	for i, cfg := range cfgs {
		if err := checkConfig(cfg); err != nil {
			return fmt.Errorf("remote_write[%d]: %w", i, err)
		}
		if _, dup := names[cfg.Name]; dup {
			return fmt.Errorf("remote_write[%d]: duplicate name %q", i, cfg.Name)
		}
		names[cfg.Name] = struct{}{}
		client, err := commonconfig.NewClientFromConfig(cfg.HTTPClientConfig, "remote_write")
		if err != nil {
			return fmt.Errorf("remote_write[%d] (%s): create HTTP client: %w", i, cfg.Name, err)
		}
		client.CloseIdleConnections()
	}
	return nil
}
