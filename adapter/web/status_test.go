package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormatWait(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 min"}, {10 * time.Second, "1 min"}, {61 * time.Second, "2 min"}, {90 * time.Minute, "90 min"},
		{2 * time.Hour, "2 h"}, {2*time.Hour + 5*time.Minute, "2 h 5 min"},
	} {
		require.Equal(t, tc.want, formatWait(tc.d), tc.d)
	}
}
