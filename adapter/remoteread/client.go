package remoteread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// Content types of the two response types.
const (
	contentTypeSamples  = "application/x-protobuf"
	contentTypeStreamed = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
	readVersion         = "0.1.0"
	maxErrorBody        = 1024
)

// SampleFunc receives the float samples of a read response, series after
// series, each series' samples in time order; a series split over several
// frames arrives as consecutive calls with equal labels. qi is the index of
// the query the series answers. lset is only valid during the call.
// Returning an error ends the read with it.
type SampleFunc func(qi int, lset labels.Labels, t int64, v float64) error

// Client reads series from one Prometheus-compatible remote-read endpoint.
type Client struct {
	name      string
	url       string
	hc        *http.Client
	headers   map[string]string
	timeout   time.Duration
	maxBytes  int
	userAgent string
}

// NewClient builds a client for cfg.
func NewClient(cfg *config.RemoteReadConfig, userAgent string) (*Client, error) {
	hc, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "remote_read")
	if err != nil {
		return nil, fmt.Errorf("remote_read %s: build HTTP client: %w", cfg.Name, err)
	}
	return &Client{
		name:      cfg.Name,
		url:       cfg.URL.String(),
		hc:        hc,
		headers:   cfg.Headers,
		timeout:   time.Duration(cfg.RemoteTimeout),
		maxBytes:  cfg.MaxResponseBytes,
		userAgent: userAgent,
	}, nil
}

// recoverableError marks a failure worth retrying: network errors, 5xx,
// 429 and responses cut short.
type recoverableError struct{ error }

func (e recoverableError) Unwrap() error { return e.error }

// IsRecoverable reports whether err is worth retrying.
func IsRecoverable(err error) bool {
	var r recoverableError
	return errors.As(err, &r)
}

// IsUnreachable reports whether err says that nothing answers at the
// source's address (connection refused, host not found): the usual state of
// the default configuration's source before Prometheus runs, not worth more
// than a line in the log.
func IsUnreachable(err error) bool {
	var dnsErr *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &dnsErr) && dnsErr.IsNotFound)
}

// Read sends queries in one request, accepting STREAMED_XOR_CHUNKS and
// falling back to SAMPLES, and hands every float sample to fn. Memory is
// bounded by the response limit: a streamed response is decoded one frame
// at a time, a SAMPLES body is refused past the limit before decoding.
func (c *Client) Read(ctx context.Context, queries []*prompb.Query, fn SampleFunc) error {
	req := &prompb.ReadRequest{
		Queries:               queries,
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES},
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("marshal read request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return fmt.Errorf("build read request: %w", err)
	}
	for k, v := range c.headers {
		hreq.Header.Set(k, v)
	}
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Accept-Encoding", "snappy")
	hreq.Header.Set("Content-Type", contentTypeSamples)
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set("X-Prometheus-Remote-Read-Version", readVersion)

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return recoverableError{fmt.Errorf("send read request: %w", err)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		err := fmt.Errorf("remote read answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		if resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests {
			return recoverableError{err}
		}
		return err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-streamed-protobuf") {
		err = DecodeStreamed(resp.Body, c.maxBytes, queries, fn)
	} else {
		err = DecodeSamples(resp.Body, c.maxBytes, fn)
	}
	if err != nil && ctx.Err() != nil {
		return recoverableError{fmt.Errorf("read response: %w", ctx.Err())}
	}
	return err
}

// DecodeSamples decodes a SAMPLES response (one snappy-compressed
// ReadResponse) of at most maxBytes, compressed and decoded.
func DecodeSamples(r io.Reader, maxBytes int, fn SampleFunc) error {
	compressed, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return recoverableError{fmt.Errorf("read response body: %w", err)}
	}
	if len(compressed) > maxBytes {
		return fmt.Errorf("response body exceeds max_response_bytes %d", maxBytes)
	}
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	if n > maxBytes {
		return fmt.Errorf("decoded response of %d bytes exceeds max_response_bytes %d", n, maxBytes)
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	var resp prompb.ReadResponse
	if err := proto.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("unmarshal read response: %w", err)
	}
	var b labels.ScratchBuilder
	for qi, res := range resp.Results {
		if res == nil {
			continue
		}
		for _, ts := range res.Timeseries {
			if ts == nil {
				continue
			}
			lset, err := toLabels(&b, ts.Labels)
			if err != nil {
				return err
			}
			for _, s := range ts.Samples {
				if err := fn(qi, lset, s.Timestamp, s.Value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// DecodeStreamed decodes a STREAMED_XOR_CHUNKS response frame by frame;
// frames may not exceed maxFrame bytes. Samples outside the range of their
// query (chunks are whole) are left out; chunks that are not XOR
// (histograms) are skipped.
func DecodeStreamed(r io.Reader, maxFrame int, queries []*prompb.Query, fn SampleFunc) error {
	fr := newFrameReader(r, maxFrame)
	var (
		b    labels.ScratchBuilder
		resp prompb.ChunkedReadResponse
		it   chunkenc.Iterator
	)
	for {
		msg, err := fr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// A stream cut short is worth another try; a corrupt one too,
			// since the source may have been interrupted.
			return recoverableError{fmt.Errorf("read response frame: %w", err)}
		}
		resp.Reset()
		if err := proto.Unmarshal(msg, &resp); err != nil {
			return fmt.Errorf("unmarshal response frame: %w", err)
		}
		qi := int(resp.QueryIndex)
		if qi < 0 || qi >= len(queries) || queries[qi] == nil {
			return fmt.Errorf("response frame for query %d of %d", resp.QueryIndex, len(queries))
		}
		mint, maxt := queries[qi].StartTimestampMs, queries[qi].EndTimestampMs
		for _, cs := range resp.ChunkedSeries {
			if cs == nil {
				continue
			}
			lset, err := toLabels(&b, cs.Labels)
			if err != nil {
				return err
			}
			for _, chk := range cs.Chunks {
				if chk.Type != prompb.Chunk_XOR {
					continue
				}
				// An XOR chunk starts with its 2-byte sample count;
				// chunkenc's iterator indexes past a shorter one (panics).
				if len(chk.Data) < xorHeaderBytes {
					return fmt.Errorf("series %s: decode chunk: %d bytes, shorter than the %d-byte XOR header", lset, len(chk.Data), xorHeaderBytes)
				}
				c, err := chunkenc.FromData(chunkenc.EncXOR, chk.Data)
				if err != nil {
					return fmt.Errorf("series %s: decode chunk: %w", lset, err)
				}
				it = c.Iterator(it)
				for it.Next() == chunkenc.ValFloat {
					t, v := it.At()
					if t < mint || t > maxt {
						continue
					}
					if err := fn(qi, lset, t, v); err != nil {
						return err
					}
				}
				if err := it.Err(); err != nil {
					return fmt.Errorf("series %s: read chunk: %w", lset, err)
				}
			}
		}
	}
}

// xorHeaderBytes is the size of an XOR chunk's header (its sample count).
const xorHeaderBytes = 2

// toLabels converts and checks the labels of one series.
func toLabels(b *labels.ScratchBuilder, ls []prompb.Label) (labels.Labels, error) {
	b.Reset()
	for _, l := range ls {
		if l.Name == "" {
			return labels.EmptyLabels(), errors.New("response series has a label with an empty name")
		}
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	lset := b.Labels()
	if lset.Get(model.MetricNameLabel) == "" {
		return labels.EmptyLabels(), fmt.Errorf("response series %s has no metric name", lset)
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return labels.EmptyLabels(), fmt.Errorf("response series %s has label %q twice", lset, name)
	}
	return lset, nil
}
