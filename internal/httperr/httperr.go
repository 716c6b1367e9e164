// Package httperr is the error that carries the HTTP status a server
// answers it with, shared by the adapter's handlers (remote write, remote
// read), as Prometheus' storage/remote HTTPError is.
package httperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error that carries the HTTP status code to answer with. Find
// it in an error chain with errors.As.
type Error struct {
	Status int
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return http.StatusText(e.Status)
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given status and a formatted error
// (%w wraps as in fmt.Errorf).
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// Status returns the status carried by err, or 500 if it carries none.
func Status(err error) int {
	if he, ok := errors.AsType[*Error](err); ok {
		return he.Status
	}
	return http.StatusInternalServerError
}
