package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidateTenant checks Mimir's rules for tenant IDs.
func TestValidateTenant(t *testing.T) {
	for _, tc := range []struct {
		name, id, err string
	}{
		{name: "empty: no tenant header", id: ""},
		{name: "simple", id: "team-a"},
		{name: "every special character", id: "a!-_.*'()Z9"},
		{name: "longest", id: strings.Repeat("a", 150)},
		{name: "too long", id: strings.Repeat("a", 151), err: "151 bytes, more than 150"},
		{name: "dot", id: ".", err: `tenant ID "." is not allowed`},
		{name: "dot dot", id: "..", err: `tenant ID ".." is not allowed`},
		{name: "dots within", id: "a..b"},
		{name: "mimir's own", id: "__mimir_cluster", err: "reserved by Mimir"},
		{name: "slash", id: "a/b", err: `unsupported character '/' at position 1`},
		{name: "space", id: "team a", err: `unsupported character ' '`},
		{name: "federation separator", id: "a|b", err: `unsupported character '|'`},
		{name: "colon", id: "a:b", err: `unsupported character ':'`},
		{name: "non-ASCII", id: "équipe", err: `unsupported character 'é' at position 0`},
		{name: "control", id: "a\x00", err: `unsupported character`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTenant(tc.id)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
