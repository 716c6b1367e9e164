package httperr

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestError(t *testing.T) {
	err := fmt.Errorf("handle: %w", Errorf(http.StatusBadRequest, "read body: %w", io.ErrUnexpectedEOF))
	require.Equal(t, http.StatusBadRequest, Status(err))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, "handle: read body: unexpected EOF", err.Error())
	require.Equal(t, http.StatusInternalServerError, Status(errors.New("other")))
	require.Equal(t, "Too Many Requests", (&Error{Status: http.StatusTooManyRequests}).Error())
}
