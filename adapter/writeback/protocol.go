package writeback

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// Remote-write 2.0 (protobuf_message: io.prometheus.write.v2.Request):
// the request's content type names the message, and a receiver reports in
// response headers how much it wrote. Prometheus picks the protocol per
// target from its config and never negotiates; so does this sender, with
// one exception: a target that answers a 2.0 request with 415 (Unsupported
// Media Type) is sent 1.0 from then on, the refused batch included, until
// the next config reload tries 2.0 again.

const (
	contentTypeV1 = "application/x-protobuf"
	contentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
	versionV1     = "0.1.0"
	versionV2     = "2.0.0"

	// Headers a 2.0 receiver answers with; absent means 0.
	writtenSamplesHeader    = "X-Prometheus-Remote-Write-Samples-Written"
	writtenHistogramsHeader = "X-Prometheus-Remote-Write-Histograms-Written"
	writtenExemplarsHeader  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// protoMsg returns the message the queue sends now: the configured one,
// or 1.0 after the target refused 2.0.
func (q *Queue) protoMsg() config.ProtobufMessage {
	if q.cfg.ProtobufMessage == config.ProtobufMessageV2 && !q.fellBack.Load() {
		return config.ProtobufMessageV2
	}
	return config.ProtobufMessageV1
}

// fallBack makes the queue send 1.0 after the target answered a 2.0
// request with err (a 415). The first call logs and counts; later ones,
// from other shards with 2.0 batches in flight, do nothing.
func (q *Queue) fallBack(err error) {
	if !q.fellBack.CompareAndSwap(false, true) {
		return
	}
	q.m.protocolFallbacks.Inc()
	level.Warn(q.logger).Log("msg", "Remote write target refused remote-write 2.0, sending 1.0 until the next config reload",
		"protobuf_message", config.ProtobufMessageV1, "err", err)
}

// resetProtocol makes a queue that fell back to 1.0 try 2.0 again; a
// config reload that keeps the queue calls it.
func (q *Queue) resetProtocol() {
	if q.fellBack.CompareAndSwap(true, false) {
		level.Info(q.logger).Log("msg", "Config reloaded, trying remote-write 2.0 again", "protobuf_message", config.ProtobufMessageV2)
	}
}

// isUnsupportedMediaType reports whether err is a 415 answer.
func isUnsupportedMediaType(err error) bool {
	se, ok := errors.AsType[*statusError](err)
	return ok && se.code == http.StatusUnsupportedMediaType
}

// notWrittenError is a 2xx answer to a 2.0 request whose headers say
// nothing was written. Prometheus treats it as a failure that is not
// retried ("the target only supports 1.0 but does not check the
// Content-Type"), and so does the queue.
type notWrittenError struct {
	status string
	sent   int
}

// Error implements error.
func (e *notWrittenError) Error() string {
	return fmt.Sprintf("sent a remote-write 2.0 request with %d samples, got %s without %s or with 0: assuming nothing was written (does the target only support remote-write 1.0?)",
		e.sent, e.status, writtenSamplesHeader)
}

// writtenV2 reads how many of the sent samples a 2.0 receiver wrote, as
// Prometheus does: a header that does not parse counts as 0, and a 2xx
// that reports nothing written (no header at all included) is a
// notWrittenError. More than sent counts as sent.
func writtenV2(resp *http.Response, sent int) (int, error) {
	total := 0
	samples := 0
	for _, h := range []string{writtenSamplesHeader, writtenHistogramsHeader, writtenExemplarsHeader} {
		n, err := strconv.Atoi(resp.Header.Get(h))
		if err != nil || n < 0 {
			n = 0
		}
		total += n
		if h == writtenSamplesHeader {
			samples = n
		}
	}
	if sent > 0 && total == 0 {
		return 0, &notWrittenError{status: resp.Status, sent: sent}
	}
	return min(samples, sent), nil
}

// partialWriteError is a 2xx answer to a 2.0 request whose headers say
// fewer samples were written than sent. Prometheus counts the difference
// as failed and logs it; so does the queue (the batch is not resent).
type partialWriteError struct {
	sent, written int
}

// Error implements error.
func (e *partialWriteError) Error() string {
	return fmt.Sprintf("sent a remote-write 2.0 request with %d samples, the target answered 2xx with %s: %d", e.sent, writtenSamplesHeader, e.written)
}
