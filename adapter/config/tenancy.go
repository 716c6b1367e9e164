package config

import (
	"errors"
	"fmt"
	"strings"
)

// TenantLabel is the label under which the tenant of an incoming write is
// kept with its series (part of the series' identity, so two tenants'
// identical series are separate) and carried to the series written back,
// where the write-back turns it into the tenant header again. The "__"
// prefix is reserved in Prometheus: no sender's label can collide with it,
// and the receiver strips it from incoming series.
const TenantLabel = "__tenant__"

// MaxTenantLength bounds a tenant ID (Mimir's limit).
const MaxTenantLength = 150

// TenancyConfig carries the tenant of incoming writes to the forecasts
// written back for their series.
type TenancyConfig struct {
	// Enabled reads the tenant from Header of every incoming write.
	Enabled bool `yaml:"enabled,omitempty"`
	// Header names the tenant on incoming and outgoing writes.
	Header string `yaml:"header,omitempty"`
}

// DefaultTenancyConfig is off, with Mimir's and Cortex's header.
var DefaultTenancyConfig = TenancyConfig{Header: "X-Scope-OrgID"}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *TenancyConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultTenancyConfig
	type plain TenancyConfig
	return unmarshal((*plain)(c))
}

// Validate checks the tenancy section.
func (c *TenancyConfig) Validate() error {
	if c.Header == "" {
		if c.Enabled {
			return errors.New("header must be set")
		}
		return nil
	}
	if !validHeaderName(c.Header) {
		return fmt.Errorf("header %q is not a valid HTTP header name", c.Header)
	}
	return nil
}

// ValidateTenant checks a tenant ID taken from a request header (or a
// remote_read source's headers) by Mimir's rules (dskit's
// tenant.ValidTenantID): at most MaxTenantLength bytes of letters, digits
// and ! - _ . * ' ( ) only; not "." nor ".." (they would be path segments
// in object storage); not "__mimir_cluster" (Mimir's own). An empty ID
// passes: it means "no tenant header".
func ValidateTenant(id string) error {
	for i, r := range id {
		if !tenantRune(r) {
			return fmt.Errorf("tenant ID has unsupported character %q at position %d (allowed: letters, digits and !-_.*'())", r, i)
		}
	}
	switch {
	case len(id) > MaxTenantLength:
		return fmt.Errorf("tenant ID is %d bytes, more than %d", len(id), MaxTenantLength)
	case id == "." || id == "..":
		return fmt.Errorf("tenant ID %q is not allowed", id)
	case id == mimirClusterTenant:
		return fmt.Errorf("tenant ID %q is reserved by Mimir", id)
	}
	return nil
}

// mimirClusterTenant is the tenant Mimir keeps for itself.
const mimirClusterTenant = "__mimir_cluster"

// tenantRune reports whether Mimir accepts r in a tenant ID.
func tenantRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("!-_.*'()", r)
}
