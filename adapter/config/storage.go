package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// StorageConfig tells how the ring buffers and fitted models are saved so
// that a restart loses nothing. Snapshots go to --storage.path unless s3
// is set.
type StorageConfig struct {
	// SnapshotInterval is how often a snapshot is written (one is also
	// written at shutdown). 0s disables snapshots and the restore at start.
	SnapshotInterval model.Duration `yaml:"snapshot_interval"`
	S3               *S3Config      `yaml:"s3,omitempty"`
}

// S3Config is an S3-compatible bucket for snapshots: AWS S3, Ceph RGW or
// MinIO.
type S3Config struct {
	Bucket string `yaml:"bucket"`
	// Prefix is prepended to object names, e.g. the instance's name when
	// several share a bucket.
	Prefix string `yaml:"prefix,omitempty"`
	Region string `yaml:"region,omitempty"`
	// Endpoint is the server's URL for Ceph RGW or MinIO; empty means AWS.
	Endpoint       string `yaml:"endpoint,omitempty"`
	ForcePathStyle bool   `yaml:"force_path_style,omitempty"`
	// AccessKeyID and SecretAccessKey; when empty, the standard AWS chain
	// (environment, shared files, web identity, instance role) is used.
	AccessKeyID     string        `yaml:"access_key_id,omitempty"`
	SecretAccessKey config.Secret `yaml:"secret_access_key,omitempty"`
}

// DefaultStorageConfig snapshots to local disk every five minutes.
var DefaultStorageConfig = StorageConfig{
	SnapshotInterval: model.Duration(5 * time.Minute),
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *StorageConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultStorageConfig
	type plain StorageConfig
	return unmarshal((*plain)(c))
}

// minSnapshotInterval bounds how often snapshots are written: each one
// walks every series and lists the backend.
const minSnapshotInterval = 100 * time.Millisecond

// Validate checks the interval and the S3 settings.
func (c *StorageConfig) Validate() error {
	if c.SnapshotInterval < 0 {
		return fmt.Errorf("snapshot_interval %s must not be negative", c.SnapshotInterval)
	}
	if c.SnapshotInterval > 0 && time.Duration(c.SnapshotInterval) < minSnapshotInterval {
		return fmt.Errorf("snapshot_interval %s must be 0s (off) or at least %s", c.SnapshotInterval, minSnapshotInterval)
	}
	if c.S3 == nil {
		return nil
	}
	if err := c.S3.Validate(); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}

// Validate checks that the bucket is named, the endpoint is an http(s) URL
// and the static credentials are complete.
func (c *S3Config) Validate() error {
	if c.Bucket == "" {
		return errors.New("bucket must be set")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("endpoint %q must be an http or https URL", c.Endpoint)
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return errors.New("access_key_id and secret_access_key must be set together")
	}
	return nil
}
