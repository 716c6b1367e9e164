// Package config holds the YAML schema of train-prometheus, its defaults and
// its validation.
//
// A file is loaded in three steps, as Prometheus does: every struct starts
// from its Default… value, the YAML is unmarshalled strictly over it (unknown
// keys are errors), and each section validates itself. After that, Load fills
// every forecasts entry's unset fields from global, so consumers read the
// resolved values from the entry alone.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

// Config is the whole configuration file.
type Config struct {
	Global      GlobalConfig         `yaml:"global,omitempty"`
	Forecasts   []*ForecastConfig    `yaml:"forecasts,omitempty"`
	RemoteWrite []*RemoteWriteConfig `yaml:"remote_write,omitempty"`
	Limits      LimitsConfig         `yaml:"limits,omitempty"`
	Output      OutputConfig         `yaml:"output,omitempty"`
	Storage     StorageConfig        `yaml:"storage,omitempty"`
	Tenancy     TenancyConfig        `yaml:"tenancy,omitempty"`

	RemoteRead       []*RemoteReadConfig    `yaml:"remote_read,omitempty"`
	RemoteReadServer RemoteReadServerConfig `yaml:"remote_read_server,omitempty"`

	// original is the file's text, used for the hash that tells reloads apart.
	original string
}

// DefaultConfig is the configuration used for sections a file leaves out.
var DefaultConfig = Config{
	Global:  DefaultGlobalConfig,
	Limits:  DefaultLimitsConfig,
	Output:  DefaultOutputConfig,
	Storage: DefaultStorageConfig,
	Tenancy: DefaultTenancyConfig,

	RemoteReadServer: DefaultRemoteReadServerConfig,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	// A section that is present but empty ("global:" with every key
	// commented out) is zeroed by the decoder without calling its
	// UnmarshalYAML; give it its defaults back, as an absent one has.
	empty, err := nullKeys(unmarshal)
	if err != nil {
		return err
	}
	if empty["global"] {
		c.Global = DefaultGlobalConfig
	}
	if empty["limits"] {
		c.Limits = DefaultLimitsConfig
	}
	if empty["output"] {
		c.Output = DefaultOutputConfig
	}
	if empty["storage"] {
		c.Storage = DefaultStorageConfig
	}
	if empty["tenancy"] {
		c.Tenancy = DefaultTenancyConfig
	}
	return nil
}

// nullKeys returns the keys of the mapping being unmarshalled whose value is
// null.
func nullKeys(unmarshal func(any) error) (map[string]bool, error) {
	var raw map[string]any
	if err := unmarshal(&raw); err != nil {
		return nil, err
	}
	empty := map[string]bool{}
	for k, v := range raw {
		if v == nil {
			empty[k] = true
		}
	}
	return empty, nil
}

// Load parses and validates a configuration from YAML text.
func Load(s string) (*Config, error) {
	cfg, err := load(s)
	// Errors reach logs and the /-/reload answer: a URL that does not
	// parse is quoted whole, password included.
	return cfg, RedactError(err)
}

func load(s string) (*Config, error) {
	// A file with no document at all (0 bytes, only comments or blank
	// lines, or a lone null) is refused: it is far more often a file
	// truncated by an editor, a failed template or a half-written
	// ConfigMap than a wish to drop every forecast. "{}" asks for the
	// defaults explicitly.
	var doc any
	if err := yaml.Unmarshal([]byte(s), &doc); err == nil && doc == nil {
		return nil, ErrEmptyConfig
	}
	cfg := &Config{}
	*cfg = DefaultConfig
	if err := yaml.UnmarshalStrict([]byte(s), cfg); err != nil {
		return nil, locateError(s, err)
	}
	// A document whose sections are all null zeroes cfg without calling
	// UnmarshalYAML; it means the same as an empty one.
	if reflect.DeepEqual(*cfg, Config{}) {
		*cfg = DefaultConfig
	}
	markSetKeys(s, cfg.Forecasts)
	// The defaults' slices must not be shared with a loaded config.
	cfg.Global.Models = slices.Clone(cfg.Global.Models)
	cfg.Global.Horizons = slices.Clone(cfg.Global.Horizons)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.original = s
	return cfg, nil
}

// markSetKeys records in each forecasts entry which keys the text wrote,
// so that an explicit zero is not mistaken for "inherit" (see
// ForecastConfig.inherits). The text has already been parsed strictly.
func markSetKeys(s string, forecasts []*ForecastConfig) {
	var raw struct {
		Forecasts []map[string]any `yaml:"forecasts"`
	}
	if yaml.Unmarshal([]byte(s), &raw) != nil {
		return
	}
	for i, f := range forecasts {
		if f == nil || i >= len(raw.Forecasts) {
			continue
		}
		f.set = make(map[string]bool, len(raw.Forecasts[i]))
		for k := range raw.Forecasts[i] {
			f.set[k] = true
		}
	}
}

// ErrEmptyConfig is returned for a configuration with no YAML document in
// it: empty, only comments, or a lone null.
var ErrEmptyConfig = errors.New(`the configuration is empty (no YAML document, only comments, or null); write "{}" to run with the defaults and no forecasts`)

// LoadFile parses and validates the configuration file filename. Relative
// paths in it (TLS files, password files) are resolved against its directory.
func LoadFile(filename string) (*Config, error) {
	content, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	cfg, err := load(string(content))
	if err != nil {
		return nil, RedactError(fmt.Errorf("parse config file %s: %w", filename, err))
	}
	cfg.SetDirectory(filepath.Dir(filename))
	return cfg, nil
}

// SetDirectory joins relative file paths with dir.
func (c *Config) SetDirectory(dir string) {
	for _, rw := range c.RemoteWrite {
		rw.HTTPClientConfig.SetDirectory(dir)
	}
	for _, rr := range c.RemoteRead {
		rr.HTTPClientConfig.SetDirectory(dir)
	}
}

// MaxBufferBytes is the memory the ring buffers take when limits.max_series
// series are buffered on the largest grid of any entry (8 bytes per cell).
func (c *Config) MaxBufferBytes() int64 {
	cells := 0
	for _, f := range c.Forecasts {
		cells = max(cells, f.Capacity())
	}
	return int64(c.Limits.MaxSeries) * int64(cells) * 8
}

// Hash identifies the configuration's content; equal files give equal hashes.
func (c *Config) Hash() string {
	h := sha256.Sum256([]byte(c.original))
	return hex.EncodeToString(h[:])
}

// Validate checks every section and resolves the forecasts entries against
// global. Errors name the offending field.
func (c *Config) Validate() error {
	if err := c.Global.Validate(); err != nil {
		return fmt.Errorf("global: %w", err)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if err := c.Output.Validate(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := c.Storage.Validate(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := c.Tenancy.Validate(); err != nil {
		return fmt.Errorf("tenancy: %w", err)
	}
	names := map[string]struct{}{}
	for i, f := range c.Forecasts {
		if f == nil {
			return fmt.Errorf("forecasts[%d]: empty entry", i)
		}
		if _, dup := names[f.Name]; dup {
			return fmt.Errorf("forecasts[%d]: duplicate name %q", i, f.Name)
		}
		names[f.Name] = struct{}{}
		if err := f.resolve(&c.Global); err != nil {
			return fmt.Errorf("forecasts[%d] (%s): %w", i, f.Name, err)
		}
	}
	if err := validateRemoteWrites(c.RemoteWrite); err != nil {
		return err
	}
	return c.validateRemoteRead()
}

// GlobalConfig holds the defaults of every forecasts entry and the labels
// added to everything written back.
type GlobalConfig struct {
	Step            model.Duration `yaml:"step,omitempty"`
	Window          model.Duration `yaml:"window,omitempty"`
	RetrainInterval model.Duration `yaml:"retrain_interval,omitempty"`
	MinHistory      model.Duration `yaml:"min_history,omitempty"`
	// EvaluationDelay is how long after a grid boundary the engine waits for
	// late samples before it scores the step that just closed.
	EvaluationDelay model.Duration `yaml:"evaluation_delay,omitempty"`
	// Staleness is how long a series may send nothing before its forecast
	// series are ended with stale markers.
	Staleness      model.Duration    `yaml:"staleness,omitempty"`
	ExternalLabels map[string]string `yaml:"external_labels,omitempty"`

	Aggregate string `yaml:"aggregate,omitempty"`
	// Transform is what the models see of a series: auto (the per-second
	// rate of cumulative series, counters and the _bucket, _count and _sum
	// of histograms and summaries; other series as they are), none or rate.
	Transform        string           `yaml:"transform,omitempty"`
	Models           []string         `yaml:"models,omitempty"`
	IntervalWidth    float64          `yaml:"interval_width,omitempty"`
	Horizons         []model.Duration `yaml:"horizons,omitempty"`
	AnomalyThreshold float64          `yaml:"anomaly_threshold,omitempty"`
	Anomaly          AnomalyConfig    `yaml:",inline"`
}

// DefaultGlobalConfig holds the defaults of the global section.
var DefaultGlobalConfig = GlobalConfig{
	Step:             model.Duration(time.Minute),
	Window:           model.Duration(7 * 24 * time.Hour),
	RetrainInterval:  model.Duration(15 * time.Minute),
	MinHistory:       model.Duration(time.Hour),
	EvaluationDelay:  model.Duration(10 * time.Second),
	Staleness:        model.Duration(5 * time.Minute),
	Aggregate:        "last",
	Transform:        TransformAuto,
	Models:           []string{"auto"},
	IntervalWidth:    0.95,
	Horizons:         []model.Duration{0},
	AnomalyThreshold: 1,
	Anomaly:          DefaultAnomalyConfig,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *GlobalConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultGlobalConfig
	type plain GlobalConfig
	return unmarshal((*plain)(c))
}

// Validate checks the global section.
func (c *GlobalConfig) Validate() error {
	if err := validateTiming(time.Duration(c.Step), time.Duration(c.Window),
		time.Duration(c.RetrainInterval), time.Duration(c.MinHistory)); err != nil {
		return err
	}
	if c.EvaluationDelay < 0 {
		return errors.New("evaluation_delay must not be negative")
	}
	if time.Duration(c.EvaluationDelay) >= time.Duration(c.Step) {
		return fmt.Errorf("evaluation_delay %s must be shorter than step %s", c.EvaluationDelay, c.Step)
	}
	if c.Staleness <= 0 {
		return errors.New("staleness must be positive")
	}
	if err := validateLabelMap(c.ExternalLabels); err != nil {
		return fmt.Errorf("external_labels: %w", err)
	}
	if err := validateModelFields(c.Aggregate, c.Models, c.IntervalWidth, c.Horizons, c.AnomalyThreshold); err != nil {
		return err
	}
	if err := validateTransform(c.Transform); err != nil {
		return err
	}
	return c.Anomaly.validate()
}

// LimitsConfig bounds what the adapter accepts. Zero means no limit for
// every field but max_series and max_request_bytes.
type LimitsConfig struct {
	MaxSeries       int `yaml:"max_series,omitempty"`
	MaxRequestBytes int `yaml:"max_request_bytes,omitempty"`
	// Per request and per series (413 or 400, naming the limit).
	MaxSeriesPerRequest int `yaml:"max_series_per_request,omitempty"`
	MaxLabelsPerSeries  int `yaml:"max_labels_per_series,omitempty"`
	MaxLabelNameLength  int `yaml:"max_label_name_length,omitempty"`
	MaxLabelValueLength int `yaml:"max_label_value_length,omitempty"`
	// Overload: requests decoded at once (429 beyond) and the memory
	// ceiling (new series refused, then 429; also the Go runtime's soft
	// memory limit).
	MaxInflightRequests int   `yaml:"max_inflight_requests,omitempty"`
	MaxMemoryBytes      int64 `yaml:"max_memory_bytes,omitempty"`
}

// DefaultLimitsConfig holds the default limits: Prometheus' own receiver
// limit for request bodies, Mimir-like label limits, no memory ceiling.
var DefaultLimitsConfig = LimitsConfig{
	MaxSeries:           100000,
	MaxRequestBytes:     32 << 20,
	MaxSeriesPerRequest: 50000,
	MaxLabelsPerSeries:  128,
	MaxLabelNameLength:  1024,
	MaxLabelValueLength: 4096,
	MaxInflightRequests: 64,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *LimitsConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultLimitsConfig
	type plain LimitsConfig
	return unmarshal((*plain)(c))
}

// Upper bounds of sizes and concurrency: beyond them one request or its
// buffers could take the process' memory.
const (
	maxBodyBytes        = 1 << 30
	maxInflightRequests = 10000
)

// Validate checks the limits section.
func (c *LimitsConfig) Validate() error {
	if c.MaxSeries <= 0 {
		return errors.New("max_series must be positive")
	}
	if c.MaxRequestBytes < 1024 {
		return errors.New("max_request_bytes must be at least 1024")
	}
	if c.MaxRequestBytes > maxBodyBytes {
		return fmt.Errorf("max_request_bytes %d must be at most %d (1GiB)", c.MaxRequestBytes, maxBodyBytes)
	}
	if c.MaxInflightRequests > maxInflightRequests {
		return fmt.Errorf("max_inflight_requests %d must be at most %d", c.MaxInflightRequests, maxInflightRequests)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max_series_per_request", int64(c.MaxSeriesPerRequest)},
		{"max_labels_per_series", int64(c.MaxLabelsPerSeries)},
		{"max_label_name_length", int64(c.MaxLabelNameLength)},
		{"max_label_value_length", int64(c.MaxLabelValueLength)},
		{"max_inflight_requests", int64(c.MaxInflightRequests)},
		{"max_memory_bytes", c.MaxMemoryBytes},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s must not be negative (0: no limit)", f.name)
		}
	}
	if c.MaxMemoryBytes > 0 && c.MaxMemoryBytes < 64<<20 {
		return errors.New("max_memory_bytes must be at least 64MiB (67108864) or 0 for no ceiling")
	}
	return nil
}
