package writeback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

const (
	// maxErrorBody is how much of a rejection's body is logged.
	maxErrorBody = 1 << 10
	// maxDrain is how much of a response body is read so the connection
	// can be reused; a larger body closes the connection instead.
	maxDrain = 64 << 10
)

// recoverableError is a failed attempt worth retrying with the same batch:
// a network error, a timeout, a 5xx, or a 429 when retries on rate limits
// are enabled.
type recoverableError struct {
	err error
	// retryAfter, when positive, is the wait the server asked for; it
	// replaces the backoff.
	retryAfter time.Duration
}

// Error implements error.
func (e recoverableError) Error() string { return e.err.Error() }

// Unwrap returns the cause.
func (e recoverableError) Unwrap() error { return e.err }

// statusError is a rejection that is never retried: the samples of the
// batch are counted as failed under reason.
type statusError struct {
	code   int
	status string
	body   string
}

// Error implements error.
func (e *statusError) Error() string {
	return fmt.Sprintf("server returned HTTP status %s: %s", e.status, e.body)
}

// failureReason is the reason label of samples dropped because of err.
func failureReason(err error) string {
	if se, ok := errors.AsType[*statusError](err); ok {
		return "http_" + strconv.Itoa(se.code)
	}
	if _, ok := errors.AsType[*notWrittenError](err); ok {
		return reasonNotWritten
	}
	if _, ok := errors.AsType[*partialWriteError](err); ok {
		return reasonNotWritten
	}
	return "request"
}

// send makes one attempt to deliver body, the encoded request of n samples
// in message msg, for tenant ("" for none); see sendSamples. It returns
// how many samples the target wrote (n for 1.0, what the response headers
// say for 2.0) and nil when the target accepted the request, a
// recoverableError when the attempt may be repeated, and any other error
// when the batch must be given up.
func (q *Queue) send(ctx context.Context, body []byte, n int, tenant string, msg config.ProtobufMessage) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("create request: %w", err)
	}
	// Configured headers first, so they can never replace the required ones.
	for k, v := range q.cfg.Headers {
		req.Header.Set(k, v)
	}
	if tenant != "" {
		req.Header.Set(q.tenantHeaderName(), tenant)
	}
	req.Header.Set("Content-Encoding", "snappy")
	if msg == config.ProtobufMessageV2 {
		req.Header.Set("Content-Type", contentTypeV2)
		req.Header.Set("X-Prometheus-Remote-Write-Version", versionV2)
	} else {
		req.Header.Set("Content-Type", contentTypeV1)
		req.Header.Set("X-Prometheus-Remote-Write-Version", versionV1)
	}
	req.Header.Set("User-Agent", q.userAgent)

	start := time.Now()
	resp, err := q.client.Do(req)
	q.m.requestDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return 0, recoverableError{err: fmt.Errorf("send request: %w", err)}
	}
	q.m.sentBytes.Add(float64(len(body)))
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()

	switch code := resp.StatusCode; {
	case code/100 == 2:
		if msg == config.ProtobufMessageV2 {
			return writtenV2(resp, n)
		}
		return n, nil
	case code/100 == 5:
		return 0, recoverableError{err: fmt.Errorf("server returned HTTP status %s", resp.Status)}
	case code == http.StatusTooManyRequests && q.retryOnRateLimit:
		return 0, recoverableError{
			err:        fmt.Errorf("server returned HTTP status %s", resp.Status),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), q.now()),
		}
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return 0, &statusError{code: code, status: resp.Status, body: strings.TrimSpace(string(b))}
	}
}

// maxRetryAfter is the longest Retry-After honoured; a longer one, in
// either form, is ignored and the backoff used instead.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP date
// relative to now. It returns 0 (use the backoff) when the header is
// absent, invalid, in the past or more than maxRetryAfter away.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 || s > int64(maxRetryAfter/time.Second) {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		// t.Sub saturates, so a date centuries away cannot overflow.
		if d := t.Sub(now); d > 0 && d <= maxRetryAfter {
			return d
		}
	}
	return 0
}
