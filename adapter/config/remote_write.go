package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// RemoteWriteConfig is one write-back target, with Prometheus' own field
// names.
type RemoteWriteConfig struct {
	URL           *config.URL       `yaml:"url"`
	Name          string            `yaml:"name,omitempty"`
	RemoteTimeout model.Duration    `yaml:"remote_timeout,omitempty"`
	Headers       map[string]string `yaml:"headers,omitempty"`
	// ProtobufMessage picks remote-write 1.0 or 2.0 (Prometheus' field and
	// values); empty means 1.0.
	ProtobufMessage ProtobufMessage `yaml:"protobuf_message,omitempty"`

	// HTTPClientConfig carries basic_auth, authorization, oauth2, tls_config,
	// proxy_url and the rest. It cannot be embedded: the YAML parser would
	// put unknown fields of later types into its maps.
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`
	QueueConfig      QueueConfig             `yaml:"queue_config,omitempty"`
}

// DefaultRemoteWriteConfig holds the defaults of a remote_write entry.
var DefaultRemoteWriteConfig = RemoteWriteConfig{
	RemoteTimeout:    model.Duration(30 * time.Second),
	ProtobufMessage:  ProtobufMessageV1,
	QueueConfig:      DefaultQueueConfig,
	HTTPClientConfig: config.DefaultHTTPClientConfig,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *RemoteWriteConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteWriteConfig
	type plain RemoteWriteConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	// "queue_config:" without keys is zeroed by the decoder, which skips
	// QueueConfig.UnmarshalYAML.
	empty, err := nullKeys(unmarshal)
	if err != nil {
		return err
	}
	if empty["queue_config"] {
		c.QueueConfig = DefaultQueueConfig
	}
	return nil
}

// ProtobufMessage names the protobuf message a write-back target is sent,
// with the values of Prometheus' protobuf_message.
type ProtobufMessage string

const (
	// ProtobufMessageV1 is remote-write 1.0, the default.
	ProtobufMessageV1 ProtobufMessage = "prometheus.WriteRequest"
	// ProtobufMessageV2 is remote-write 2.0.
	ProtobufMessageV2 ProtobufMessage = "io.prometheus.write.v2.Request"
)

// Validate checks that m is known; empty means ProtobufMessageV1.
func (m ProtobufMessage) Validate() error {
	switch m {
	case "", ProtobufMessageV1, ProtobufMessageV2:
		return nil
	}
	return fmt.Errorf("protobuf_message %q is unknown (supported: %s, %s)", string(m), ProtobufMessageV1, ProtobufMessageV2)
}

// reservedHeaders are set by the sender and may not be configured (the
// list Prometheus uses).
var reservedHeaders = map[string]struct{}{
	"host":                              {},
	"content-encoding":                  {},
	"content-length":                    {},
	"content-type":                      {},
	"user-agent":                        {},
	"connection":                        {},
	"keep-alive":                        {},
	"proxy-authenticate":                {},
	"proxy-authorization":               {},
	"www-authenticate":                  {},
	"accept-encoding":                   {},
	"x-prometheus-remote-write-version": {},
	"x-prometheus-remote-read-version":  {},
}

// Validate checks the entry.
func (c *RemoteWriteConfig) Validate() error {
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
	if err := c.ProtobufMessage.Validate(); err != nil {
		return err
	}
	for h, v := range c.Headers {
		if !validHeaderName(h) {
			return fmt.Errorf("headers: %q is not a valid HTTP header name", h)
		}
		if !validHeaderValue(v) {
			return fmt.Errorf("headers: value of %s holds a control character", h)
		}
		lh := strings.ToLower(h)
		if lh == "authorization" {
			return errors.New("headers: authorization must be set with basic_auth, authorization or oauth2")
		}
		if _, ok := reservedHeaders[lh]; ok {
			return fmt.Errorf("headers: %s is a reserved header and must not be changed", h)
		}
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	if err := c.QueueConfig.Validate(); err != nil {
		return fmt.Errorf("queue_config: %w", err)
	}
	return nil
}

// QueueConfig tunes the queue of one write-back target.
type QueueConfig struct {
	// Capacity is how many samples the queue holds in all; when it is full
	// the oldest are dropped.
	Capacity          int            `yaml:"capacity,omitempty"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send,omitempty"`
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline,omitempty"`
	MinBackoff        model.Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff        model.Duration `yaml:"max_backoff,omitempty"`
	MaxShards         int            `yaml:"max_shards,omitempty"`
	// RetryOnRateLimit retries 429 answers, honouring Retry-After.
	RetryOnRateLimit bool `yaml:"retry_on_http_429,omitempty"`
	// The outage budget, with Capacity: samples older than MaxSampleAge
	// (by their timestamp) are dropped rather than sent, and the queue
	// holds at most MaxBytes (estimated as encoded: labels plus 16 bytes
	// a sample); 0 means no bound. Past the budget the oldest go first.
	MaxSampleAge model.Duration `yaml:"max_sample_age,omitempty"`
	MaxBytes     int64          `yaml:"max_bytes,omitempty"`
}

// DefaultQueueConfig holds the defaults of queue_config.
var DefaultQueueConfig = QueueConfig{
	Capacity:          100000,
	MaxSamplesPerSend: 2000,
	BatchSendDeadline: model.Duration(5 * time.Second),
	MinBackoff:        model.Duration(30 * time.Millisecond),
	MaxBackoff:        model.Duration(5 * time.Second),
	MaxShards:         4,
	RetryOnRateLimit:  true,
	MaxSampleAge:      model.Duration(time.Hour),
	MaxBytes:          64 << 20,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *QueueConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultQueueConfig
	type plain QueueConfig
	return unmarshal((*plain)(c))
}

// Bounds of queue_config: each shard is a goroutine with its own buffer
// and connection, and the buffers are allocated when the queue starts.
const (
	maxQueueCapacity     = 10_000_000
	maxSamplesPerSend    = 100_000
	maxQueueShards       = 1000
	minBatchSendDeadline = 10 * time.Millisecond
	maxBackoff           = time.Hour
)

// Validate checks the queue settings.
func (c *QueueConfig) Validate() error {
	switch {
	case c.Capacity <= 0:
		return errors.New("capacity must be positive")
	case c.Capacity > maxQueueCapacity:
		return fmt.Errorf("capacity %d must be at most %d (the queue's buffers are allocated up front)", c.Capacity, maxQueueCapacity)
	case c.MaxSamplesPerSend <= 0:
		return errors.New("max_samples_per_send must be positive")
	case c.MaxSamplesPerSend > maxSamplesPerSend:
		return fmt.Errorf("max_samples_per_send %d must be at most %d", c.MaxSamplesPerSend, maxSamplesPerSend)
	case c.MaxShards <= 0:
		return errors.New("max_shards must be positive")
	case c.MaxShards > maxQueueShards:
		return fmt.Errorf("max_shards %d must be at most %d", c.MaxShards, maxQueueShards)
	case c.BatchSendDeadline <= 0:
		return errors.New("batch_send_deadline must be positive")
	case time.Duration(c.BatchSendDeadline) < minBatchSendDeadline:
		return fmt.Errorf("batch_send_deadline %s must be at least %s", c.BatchSendDeadline, minBatchSendDeadline)
	case c.MinBackoff <= 0:
		return errors.New("min_backoff must be positive")
	case c.MaxBackoff < c.MinBackoff:
		return errors.New("max_backoff must not be less than min_backoff")
	case time.Duration(c.MaxBackoff) > maxBackoff:
		return fmt.Errorf("max_backoff %s must be at most %s", c.MaxBackoff, maxBackoff)
	case c.MaxSampleAge < 0:
		return errors.New("max_sample_age must not be negative (0: no bound)")
	case c.MaxBytes < 0:
		return errors.New("max_bytes must not be negative (0: no bound)")
	}
	return nil
}

// validateRemoteWrites validates the entries and names the unnamed ones
// after their index. An explicit name that equals the index of an unnamed
// entry is refused: the two would share metrics and queue.
func validateRemoteWrites(rws []*RemoteWriteConfig) error {
	names := make([]*string, len(rws))
	for i, rw := range rws {
		if rw == nil {
			return fmt.Errorf("remote_write[%d]: empty entry", i)
		}
		if err := rw.Validate(); err != nil {
			return fmt.Errorf("remote_write[%d]: %w", i, err)
		}
		names[i] = &rw.Name
	}
	return assignNames("remote_write", names)
}

// assignNames names the entries of a list section (remote_write,
// remote_read) whose name is empty by their index, after refusing
// duplicate explicit names and an explicit name that equals the index of an
// unnamed entry, so that every entry ends with a unique name.
func assignNames(section string, names []*string) error {
	explicit := map[string]int{}
	for i, name := range names {
		if *name == "" {
			continue
		}
		if _, dup := explicit[*name]; dup {
			return fmt.Errorf("%s[%d]: duplicate name %q", section, i, *name)
		}
		explicit[*name] = i
	}
	for i, name := range names {
		if *name != "" {
			continue
		}
		def := strconv.Itoa(i)
		if j, taken := explicit[def]; taken {
			return fmt.Errorf("%s[%d]: name %q is also the default name of the unnamed %s[%d] (unnamed entries are named by their index): choose another name", section, j, def, section, i)
		}
		*name = def
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s holds no control characters other
// than horizontal tab (no CR or LF that would split the header).
func validHeaderValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
