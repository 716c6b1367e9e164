package receive

import (
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"slices"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/train-prometheus/train-prometheus/internal/httperr"
)

// DefaultMaxRequestBytes bounds a remote-write request, both snappy-encoded
// and decoded, when no positive limit is given. It is the limit of
// Prometheus' own receiver.
const DefaultMaxRequestBytes = 32 << 20

// maxPrealloc bounds the read buffer allocated ahead from Content-Length.
const maxPrealloc = 1 << 20

// HTTPError is an error that carries the HTTP status code to answer with
// (the adapter's one such type). Find it in an error chain with errors.As.
type HTTPError = httperr.Error

// httpErrorf returns an *HTTPError with the given status and a formatted
// error.
func httpErrorf(status int, format string, args ...any) *HTTPError {
	return httperr.Errorf(status, format, args...)
}

// statusOf returns the status carried by err, or 500 if it carries none.
func statusOf(err error) int { return httperr.Status(err) }

// DecodeWriteRequest reads a snappy-compressed (block format) protobuf
// prometheus.WriteRequest from r. At most maxBytes encoded bytes are read,
// and the decoded length announced by the snappy header is checked against
// maxBytes before anything is decoded, so a request can never make it
// allocate more than about twice maxBytes. A maxBytes of zero or less means
// DefaultMaxRequestBytes. Errors are *HTTPError: 413 for a request over
// the limit, 400 for a body that cannot be read or is not valid snappy or
// protobuf.
//
// It decodes with the generated prompb code, for callers off the hot path;
// the handler decodes with its own allocation-free decoder. The returned
// request does not alias any buffer of the decoder: the caller owns it.
func DecodeWriteRequest(r io.Reader, maxBytes int) (*prompb.WriteRequest, error) {
	var buf writeRequest
	if err := readBody(r, -1, maxBytes, &buf); err != nil {
		return nil, err
	}
	var req prompb.WriteRequest
	if err := proto.Unmarshal(buf.buf, &req); err != nil {
		return nil, httpErrorf(http.StatusBadRequest, "unmarshal remote-write 1.0 request: %w", err)
	}
	return &req, nil
}

// readBody reads the snappy-compressed body from r into req.body and
// decodes it into req.buf, reusing their capacity. sizeHint is the
// announced encoded length (Content-Length), or negative if unknown; it is
// only used to size the read buffer and is trusted only up to maxPrealloc.
// A maxBytes of zero or less means DefaultMaxRequestBytes.
func readBody(r io.Reader, sizeHint int64, maxBytes int, req *writeRequest) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequestBytes
	}
	limit := int64(maxBytes)
	if limit < math.MaxInt64 {
		limit++ // Read one byte more than allowed to detect a body too large.
	}
	// Size the buffer from the announced length, plus one byte to see
	// io.EOF without growing. The announcement is only trusted up to
	// maxPrealloc: beyond it the buffer grows with the data actually
	// received, so that a client cannot make the server hold a large
	// buffer by announcing a body it never sends.
	if sizeHint >= 0 {
		req.body = slices.Grow(req.body[:0], int(min(sizeHint, int64(maxBytes), maxPrealloc))+1)
	}
	body, err := readAll(io.LimitReader(r, limit), req.body[:0])
	req.body = body
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read timeout (--web.read-timeout) cut a sender off.
		return httpErrorf(http.StatusRequestTimeout, "read request body: %w (--web.read-timeout)", err)
	}
	if err != nil {
		return httpErrorf(http.StatusBadRequest, "read request body: %w", err)
	}
	if len(body) > maxBytes {
		return httpErrorf(http.StatusRequestEntityTooLarge, "read request body: body exceeds the limit of %d bytes (limits.max_request_bytes)", maxBytes)
	}

	decodedLen, err := snappy.DecodedLen(body)
	if err != nil {
		return httpErrorf(http.StatusBadRequest, "decode snappy length: %w", err)
	}
	if decodedLen > maxBytes {
		return httpErrorf(http.StatusRequestEntityTooLarge, "decode snappy: decoded length %d exceeds the limit of %d bytes (limits.max_request_bytes)", decodedLen, maxBytes)
	}
	// snappy.Decode uses its destination when it is long enough.
	decoded, err := snappy.Decode(req.buf[:cap(req.buf)], body)
	if err != nil {
		return httpErrorf(http.StatusBadRequest, "decode snappy: %w", err)
	}
	req.buf = decoded
	return nil
}

// readAll appends everything r returns to dst until io.EOF, growing dst
// as bytes arrive.
func readAll(r io.Reader, dst []byte) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(512, cap(dst)))
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
