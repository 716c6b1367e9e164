package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// RemoteReadConfig is one Prometheus-compatible source that the adapter
// backfills its ring buffers from, with Prometheus' own field names plus the
// backfill settings.
type RemoteReadConfig struct {
	URL           *config.URL       `yaml:"url"`
	Name          string            `yaml:"name,omitempty"`
	RemoteTimeout model.Duration    `yaml:"remote_timeout,omitempty"`
	Headers       map[string]string `yaml:"headers,omitempty"`
	// ReadRecent, as in Prometheus: when false, a series that already
	// holds live samples is backfilled only before its oldest sample;
	// when true, over the whole history up to now.
	ReadRecent bool `yaml:"read_recent,omitempty"`

	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`

	// History is how far back to fetch; 0 means each forecasts entry's
	// window. It is capped at the window.
	History model.Duration `yaml:"backfill_history,omitempty"`
	// MaxConcurrentRequests bounds the read requests in flight to this
	// source.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests,omitempty"`
	// MaxResponseBytes bounds a SAMPLES response body (compressed and
	// decoded) and each frame of a streamed response.
	MaxResponseBytes int `yaml:"max_response_bytes,omitempty"`
	// MinBackoff and MaxBackoff bound the wait before a failed read is
	// retried.
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
}

// DefaultRemoteReadConfig holds the defaults of a remote_read entry.
var DefaultRemoteReadConfig = RemoteReadConfig{
	RemoteTimeout:         model.Duration(time.Minute),
	HTTPClientConfig:      config.DefaultHTTPClientConfig,
	MaxConcurrentRequests: 2,
	MaxResponseBytes:      32 << 20,
	MinBackoff:            model.Duration(time.Second),
	MaxBackoff:            model.Duration(time.Minute),
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *RemoteReadConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteReadConfig
	type plain RemoteReadConfig
	return unmarshal((*plain)(c))
}

// Validate checks the entry.
func (c *RemoteReadConfig) Validate() error {
	if c.URL == nil || c.URL.URL == nil || c.URL.String() == "" {
		return errors.New("url must be set")
	}
	if s := c.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", c.URL.Redacted())
	}
	if c.URL.Host == "" {
		return fmt.Errorf("url %q: host must be set", c.URL.Redacted())
	}
	if c.RemoteTimeout <= 0 {
		return errors.New("remote_timeout must be positive")
	}
	for h := range c.Headers {
		lh := strings.ToLower(h)
		if lh == "authorization" {
			return errors.New("headers: authorization must be set with basic_auth, authorization or oauth2")
		}
		if _, ok := reservedHeaders[lh]; ok {
			return fmt.Errorf("headers: %s is a reserved header and must not be changed", h)
		}
	}
	switch {
	case c.History < 0:
		return errors.New("backfill_history must not be negative")
	case c.MaxConcurrentRequests <= 0:
		return errors.New("max_concurrent_requests must be positive")
	case c.MaxConcurrentRequests > maxReadConcurrency:
		return fmt.Errorf("max_concurrent_requests %d must be at most %d", c.MaxConcurrentRequests, maxReadConcurrency)
	case c.MaxResponseBytes < 1024:
		return errors.New("max_response_bytes must be at least 1024")
	case c.MaxResponseBytes > maxBodyBytes:
		return fmt.Errorf("max_response_bytes %d must be at most %d (1GiB)", c.MaxResponseBytes, maxBodyBytes)
	case c.MinBackoff <= 0:
		return errors.New("min_backoff must be positive")
	case c.MaxBackoff < c.MinBackoff:
		return errors.New("max_backoff must not be less than min_backoff")
	case time.Duration(c.MaxBackoff) > maxBackoff:
		return fmt.Errorf("max_backoff %s must be at most %s", c.MaxBackoff, maxBackoff)
	}
	return c.HTTPClientConfig.Validate()
}

// RemoteReadServerConfig tunes the adapter's own remote-read endpoint,
// POST /api/v1/read.
type RemoteReadServerConfig struct {
	// MaxHorizon is how far past now forecasts are returned.
	MaxHorizon model.Duration `yaml:"max_horizon,omitempty"`
	// MaxSeries and MaxSamples bound one request's answer; a request that
	// would exceed them is refused with 413.
	MaxSeries  int `yaml:"max_series,omitempty"`
	MaxSamples int `yaml:"max_samples,omitempty"`
	// ServeRaw also answers with the buffered input series (for debugging).
	ServeRaw bool `yaml:"serve_raw,omitempty"`
	// MaxConcurrentRequests bounds the requests answered at once, as
	// Prometheus' --storage.remote.read-concurrent-limit; more wait for a
	// slot (see the README).
	MaxConcurrentRequests int `yaml:"max_concurrent_requests,omitempty"`
	// MaxQueries bounds the queries of one request; a request with more is
	// refused with 400.
	MaxQueries int `yaml:"max_queries,omitempty"`
}

// DefaultRemoteReadServerConfig holds the defaults of remote_read_server.
var DefaultRemoteReadServerConfig = RemoteReadServerConfig{
	MaxHorizon: model.Duration(24 * time.Hour),
	MaxSeries:  10000,
	MaxSamples: 5e6,

	MaxConcurrentRequests: 10,
	MaxQueries:            100,
}

// Bounds of remote_read_server's limits.
const (
	maxReadConcurrency = 1000
	maxReadQueries     = 10000
)

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *RemoteReadServerConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteReadServerConfig
	type plain RemoteReadServerConfig
	return unmarshal((*plain)(c))
}

// Validate checks the section.
func (c *RemoteReadServerConfig) Validate() error {
	switch {
	case c.MaxHorizon <= 0:
		return errors.New("max_horizon must be positive")
	case c.MaxSeries <= 0:
		return errors.New("max_series must be positive")
	case c.MaxSamples <= 0:
		return errors.New("max_samples must be positive")
	case c.MaxConcurrentRequests <= 0 || c.MaxConcurrentRequests > maxReadConcurrency:
		return fmt.Errorf("max_concurrent_requests %d must be between 1 and %d", c.MaxConcurrentRequests, maxReadConcurrency)
	case c.MaxQueries <= 0 || c.MaxQueries > maxReadQueries:
		return fmt.Errorf("max_queries %d must be between 1 and %d", c.MaxQueries, maxReadQueries)
	}
	return nil
}

// validateRemoteRead checks the remote_read list and the
// remote_read_server section, naming entries as remote_write's are named
// (assignNames).
func (c *Config) validateRemoteRead() error {
	if c.RemoteReadServer == (RemoteReadServerConfig{}) {
		c.RemoteReadServer = DefaultRemoteReadServerConfig // "remote_read_server:" left empty
	}
	if err := c.RemoteReadServer.Validate(); err != nil {
		return fmt.Errorf("remote_read_server: %w", err)
	}
	names := make([]*string, len(c.RemoteRead))
	for i, rr := range c.RemoteRead {
		if rr == nil {
			return fmt.Errorf("remote_read[%d]: empty entry", i)
		}
		if err := rr.Validate(); err != nil {
			return fmt.Errorf("remote_read[%d]: %w", i, err)
		}
		names[i] = &rr.Name
	}
	return assignNames("remote_read", names)
}
