package web

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

func TestProtocolName(t *testing.T) {
	require.Equal(t, "1.0", protocolName(config.ProtobufMessageV1, false))
	require.Equal(t, "1.0", protocolName("", false))
	require.Equal(t, "2.0", protocolName(config.ProtobufMessageV2, false))
	require.Equal(t, "1.0 (refused 2.0 with 415)", protocolName(config.ProtobufMessageV1, true))
}
